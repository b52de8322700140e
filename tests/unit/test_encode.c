/* SPDX-License-Identifier: MIT */
/* encode_json.c: json_escape on every kind of byte and UTF-8 sequence, and
 * whole events in ECS, flat and GELF shape. Every output is compared byte
 * for byte and parsed back with libfastjson to prove it is JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <libfastjson/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "core/encode_json.h"
#include "core/event.h"
#include "testutil.h"

#define FFFD "\xEF\xBF\xBD"

/* Parse text[0..len) with libfastjson; fail unless it is one JSON value of
 * the given type. Returns the object (caller puts it). */
static fjson_object *parse_json(const char *what, const char *text, size_t len,
                                enum fjson_type type)
{
        char *z = malloc(len + 1);
        fjson_object *o;

        assert_non_null(z);
        memcpy(z, text, len);
        z[len] = '\0';
        o = fjson_tokener_parse(z);
        if (!o || !fjson_object_is_type(o, type)) {
                print_error("%s: libfastjson does not read it as the expected type: %s\n", what, z);
                fail();
        }
        free(z);
        return o;
}

/* ---- json_escape ------------------------------------------------------- */

struct escape_row {
        const char *name;
        struct bytes in;
        struct bytes want;
        int same_after_parse;   /* valid UTF-8: libfastjson gives back in */
};

static const struct escape_row escape_rows[] = {
        { "empty", S(""), S(""), 1 },
        { "plain ASCII", S("Delivery started for a@example.com at 2:08:52 PM ~!#$%&'()*+,-./:;<=>?@[]^_`{|}"),
          S("Delivery started for a@example.com at 2:08:52 PM ~!#$%&'()*+,-./:;<=>?@[]^_`{|}"), 1 },
        { "DEL passes", S("a\x7f" "b"), S("a\x7f" "b"), 1 },
        { "quote and backslash", S("say \"hi\" C:\\SmarterMail\\Logs"),
          S("say \\\"hi\\\" C:\\\\SmarterMail\\\\Logs"), 1 },
        { "short escapes", S("\n\r\t\b\f"), S("\\n\\r\\t\\b\\f"), 1 },
        { "NUL", S("a\0b"), S("a\\u0000b"), 1 },
        { "other control bytes", S("\x01\x0b\x0e\x1b\x1f"), S("\\u0001\\u000b\\u000e\\u001b\\u001f"), 1 },
        { "folded EHLO reply", S("250-SIZE 31457280\t250 OK\r\n"), S("250-SIZE 31457280\\t250 OK\\r\\n"), 1 },
        /* valid UTF-8 passes through */
        { "U+0080", S("\xC2\x80"), S("\xC2\x80"), 1 },
        { "U+00E9", S("caf\xC3\xA9"), S("caf\xC3\xA9"), 1 },
        { "U+07FF", S("\xDF\xBF"), S("\xDF\xBF"), 1 },
        { "U+0800", S("\xE0\xA0\x80"), S("\xE0\xA0\x80"), 1 },
        { "U+20AC", S("\xE2\x82\xAC 5"), S("\xE2\x82\xAC 5"), 1 },
        { "U+D7FF", S("\xED\x9F\xBF"), S("\xED\x9F\xBF"), 1 },
        { "U+E000", S("\xEE\x80\x80"), S("\xEE\x80\x80"), 1 },
        { "U+FFFD", S(FFFD), S(FFFD), 1 },
        { "U+FFFF", S("\xEF\xBF\xBF"), S("\xEF\xBF\xBF"), 1 },
        { "U+10000", S("\xF0\x90\x80\x80"), S("\xF0\x90\x80\x80"), 1 },
        { "U+1F600", S("\xF0\x9F\x98\x80!"), S("\xF0\x9F\x98\x80!"), 1 },
        { "U+10FFFF", S("\xF4\x8F\xBF\xBF"), S("\xF4\x8F\xBF\xBF"), 1 },
        { "UTF-8 in a long run", S("abcdefgh\xC3\xA9ijklmnop\xE2\x82\xACqrstuvwx"),
          S("abcdefgh\xC3\xA9ijklmnop\xE2\x82\xACqrstuvwx"), 1 },
        /* invalid UTF-8: each byte that starts no valid sequence becomes
         * one U+FFFD, and the scan goes on at the next byte */
        { "lone continuation byte", S("a\x80" "b"), S("a" FFFD "b"), 0 },
        { "lone continuation byte 0xBF", S("\xBF"), S(FFFD), 0 },
        { "continuation after a whole character", S("\xC3\xA9\xA9"), S("\xC3\xA9" FFFD), 0 },
        { "Latin-1 byte", S("Caf\xE9!"), S("Caf" FFFD "!"), 0 },
        { "2-byte lead at the end", S("x\xC3"), S("x" FFFD), 0 },
        { "2-byte lead before ASCII", S("\xC3(x"), S(FFFD "(x"), 0 },
        { "3-byte sequence cut at the end", S("\xE2\x82"), S(FFFD FFFD), 0 },
        { "3-byte sequence cut before ASCII", S("\xE2\x82" "a"), S(FFFD FFFD "a"), 0 },
        { "4-byte sequence cut at the end", S("\xF0\x9F\x98"), S(FFFD FFFD FFFD), 0 },
        { "4-byte sequence cut before ASCII", S("\xF0\x9F" "a"), S(FFFD FFFD "a"), 0 },
        { "overlong C0 80 (NUL)", S("\xC0\x80"), S(FFFD FFFD), 0 },
        { "overlong C1 BF", S("\xC1\xBF"), S(FFFD FFFD), 0 },
        { "overlong E0 80 80", S("\xE0\x80\x80"), S(FFFD FFFD FFFD), 0 },
        { "overlong E0 9F BF", S("\xE0\x9F\xBF"), S(FFFD FFFD FFFD), 0 },
        { "overlong F0 80 80 80", S("\xF0\x80\x80\x80"), S(FFFD FFFD FFFD FFFD), 0 },
        { "overlong F0 8F BF BF", S("\xF0\x8F\xBF\xBF"), S(FFFD FFFD FFFD FFFD), 0 },
        { "surrogate ED A0 80", S("\xED\xA0\x80"), S(FFFD FFFD FFFD), 0 },
        { "surrogate ED BF BF", S("\xED\xBF\xBF"), S(FFFD FFFD FFFD), 0 },
        { "above U+10FFFF: F4 90 80 80", S("\xF4\x90\x80\x80"), S(FFFD FFFD FFFD FFFD), 0 },
        { "F5 lead", S("\xF5\x80\x80\x80"), S(FFFD FFFD FFFD FFFD), 0 },
        { "F8, FE, FF", S("\xF8\xFE\xFF"), S(FFFD FFFD FFFD), 0 },
        { "bad third byte", S("\xE2\x82(z"), S(FFFD FFFD "(z"), 0 },
        { "bad fourth byte", S("\xF0\x9F\x98(z"), S(FFFD FFFD FFFD "(z"), 0 },
        { "invalid then control", S("\xFF\n"), S(FFFD "\\n"), 0 },
};

static void check_escape(const char *what, const char *in, size_t n, const char *want,
                         size_t wlen, int same_after_parse)
{
        /* an exact-size copy: a read past n shows under ASan */
        char *copy = malloc(n ? n : 1);
        struct buf b;

        assert_non_null(copy);
        memcpy(copy, in, n);
        buf_init(&b, 1u << 20);
        buf_putc(&b, '"');
        json_escape(&b, copy, n);
        buf_putc(&b, '"');
        tu_bytes_equal(what, want, wlen, b.p + 1, b.len - 2);
        {
                fjson_object *o = parse_json(what, b.p, b.len, fjson_type_string);

                if (same_after_parse)
                        tu_bytes_equal(what, in, n, fjson_object_get_string(o),
                                       (size_t)fjson_object_get_string_len(o));
                fjson_object_put(o);
        }
        buf_done(&b);
        free(copy);
}

static void test_json_escape(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(escape_rows); i++) {
                const struct escape_row *row = &escape_rows[i];

                check_escape(row->name, row->in.p, row->in.len, row->want.p, row->want.len,
                             row->same_after_parse);
        }
}

/* One special byte at every position of an ASCII run, so that the 8-byte
 * fast path meets it in every lane and across word ends. */
struct lane_row {
        struct bytes in;        /* the special bytes */
        struct bytes want;
        int same_after_parse;
};

static const struct lane_row lane_rows[] = {
        { S("\""), S("\\\""), 1 },
        { S("\\"), S("\\\\"), 1 },
        { S("\0"), S("\\u0000"), 1 },
        { S("\x1f"), S("\\u001f"), 1 },
        { S("\n"), S("\\n"), 1 },
        { S(" "), S(" "), 1 },
        { S("!"), S("!"), 1 },
        { S("#"), S("#"), 1 },
        { S("["), S("["), 1 },
        { S("]"), S("]"), 1 },
        { S("\x7f"), S("\x7f"), 1 },
        { S("\x80"), S(FFFD), 0 },
        { S("\xFF"), S(FFFD), 0 },
        { S("\xC3\xA9"), S("\xC3\xA9"), 1 },
        { S("\xF0\x9F\x98\x80"), S("\xF0\x9F\x98\x80"), 1 },
};

static void test_json_escape_lanes(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(lane_rows); i++) {
                const struct lane_row *row = &lane_rows[i];

                for (size_t pos = 0; pos <= 24; pos++) {
                        char in[64], want[64], what[64];
                        size_t n = 0, w = 0, tail = 24 - pos;

                        memset(in, 'a', pos);
                        memset(want, 'a', pos);
                        n = w = pos;
                        memcpy(in + n, row->in.p, row->in.len);
                        n += row->in.len;
                        memcpy(want + w, row->want.p, row->want.len);
                        w += row->want.len;
                        memset(in + n, 'b', tail);
                        memset(want + w, 'b', tail);
                        n += tail;
                        w += tail;
                        snprintf(what, sizeof(what), "lane row %zu at %zu", i, pos);
                        check_escape(what, in, n, want, w, row->same_after_parse);
                }
        }
}

/* ---- encode_json ------------------------------------------------------- */

struct set {
        const char *key;        /* NULL ends the list */
        enum val_kind kind;
        struct bytes str;       /* VAL_STR, VAL_SAFE */
        int64_t num;            /* VAL_NUM, VAL_BOOL */
};

struct event_row {
        const char *name;
        int64_t ts_ms;
        int severity;
        struct set set[20];
        const char *want[3];    /* ENC_ECS, ENC_FLAT, ENC_GELF */
};

static const struct event_row event_rows[] = {
        { "no fields", 0, SEV_INFO, { { NULL } },
          { "{}\n", "{}\n",
            "{\"version\":\"1.1\",\"host\":\"-\",\"short_message\":\"-\",\"timestamp\":0.000,"
            "\"level\":6}\n" } },
        { "a failed login", 1789758532123, SEV_WARNING,
          { { "@timestamp", VAL_SAFE, S("2026-09-18T19:08:52.123Z"), 0 },
            { "message", VAL_STR, S("POP Login failed: Invalid password"), 0 },
            { "event.category", VAL_SAFE, S("authentication"), 0 },
            { "event.action", VAL_SAFE, S("login"), 0 },
            { "event.category", VAL_SAFE, S("email"), 0 },
            { "event.outcome", VAL_SAFE, S("failure"), 0 },
            { "source.ip", VAL_STR, S("198.51.100.7"), 0 },
            { "related.ip", VAL_STR, S("198.51.100.7"), 0 },
            { "smartermail.brute_force.attempts", VAL_NUM, S(""), 2 },
            { "smartermail.brute_force.limit", VAL_NUM, S(""), 10 },
            { "smartermail.tls", VAL_BOOL, S(""), 0 },
            { "smartermail.log_type", VAL_SAFE, S("pop"), 0 },
            { "host.name", VAL_SAFE, S("mail01"), 0 },
            { "log.offset", VAL_NUM, S(""), 1234 },
            { "user.name", VAL_STR, S("someone@example.net"), 0 },
            { "event.category", VAL_STR, S("email"), 0 },   /* already there */
            { NULL } },
          { "{\"@timestamp\":\"2026-09-18T19:08:52.123Z\",\"event\":{\"action\":\"login\","
            "\"category\":[\"authentication\",\"email\"],\"outcome\":\"failure\"},"
            "\"host\":{\"name\":\"mail01\"},\"log\":{\"offset\":1234},"
            "\"message\":\"POP Login failed: Invalid password\","
            "\"related\":{\"ip\":[\"198.51.100.7\"]},"
            "\"smartermail\":{\"brute_force\":{\"attempts\":2,\"limit\":10},"
            "\"log_type\":\"pop\",\"tls\":false},\"source\":{\"ip\":\"198.51.100.7\"},"
            "\"user\":{\"name\":\"someone@example.net\"}}\n",
            "{\"@timestamp\":\"2026-09-18T19:08:52.123Z\",\"event.action\":\"login\","
            "\"event.category\":[\"authentication\",\"email\"],\"event.outcome\":\"failure\","
            "\"host.name\":\"mail01\",\"log.offset\":1234,"
            "\"message\":\"POP Login failed: Invalid password\","
            "\"related.ip\":[\"198.51.100.7\"],\"smartermail.brute_force.attempts\":2,"
            "\"smartermail.brute_force.limit\":10,\"smartermail.log_type\":\"pop\","
            "\"smartermail.tls\":false,\"source.ip\":\"198.51.100.7\","
            "\"user.name\":\"someone@example.net\"}\n",
            "{\"version\":\"1.1\",\"host\":\"mail01\","
            "\"short_message\":\"POP Login failed: Invalid password\","
            "\"timestamp\":1789758532.123,\"level\":4,\"_event_action\":\"login\","
            "\"_event_category\":\"authentication,email\",\"_event_outcome\":\"failure\","
            "\"_log_offset\":1234,\"_related_ip\":\"198.51.100.7\","
            "\"_smartermail_brute_force_attempts\":2,\"_smartermail_brute_force_limit\":10,"
            "\"_smartermail_log_type\":\"pop\",\"_smartermail_tls\":\"false\","
            "\"_source_ip\":\"198.51.100.7\",\"_user_name\":\"someone@example.net\"}\n" } },
        { "deep nesting, escapes, extreme numbers, arrays of numbers", -1500, SEV_ERR,
          { { "message", VAL_STR, S("Exception: boom\n   at A.B()"), 0 },
            { "deep.one.two.three", VAL_STR, S("3"), 0 },
            { "deep.one.four", VAL_NUM, S(""), 4 },
            { "deep.five", VAL_BOOL, S(""), 1 },
            { "deep2", VAL_STR, S("x\"y\\z\x01"), 0 },
            { "id", VAL_SAFE, S("abc"), 0 },
            { "smartermail.smtp.response.codes", VAL_NUM, S(""), 250 },
            { "smartermail.smtp.response.codes", VAL_NUM, S(""), 354 },
            { "tags", VAL_SAFE, S("a"), 0 },
            { "tags", VAL_STR, S("b"), 0 },
            { "tags", VAL_STR, S("a"), 0 },         /* already there */
            { "tags", VAL_STR, S("\xFF"), 0 },
            { "log.offset", VAL_NUM, S(""), INT64_MAX },
            { "smartermail.brute_force.attempts", VAL_NUM, S(""), INT64_MIN },
            { "event.severity", VAL_NUM, S(""), 3 },
            { "deep2", VAL_STR, S("x\"y\\z\x01"), 0 }, /* a scalar is replaced */
            { NULL } },
          { "{\"deep\":{\"five\":true,\"one\":{\"four\":4,\"two\":{\"three\":\"3\"}}},"
            "\"deep2\":\"x\\\"y\\\\z\\u0001\",\"event\":{\"severity\":3},\"id\":\"abc\","
            "\"log\":{\"offset\":9223372036854775807},"
            "\"message\":\"Exception: boom\\n   at A.B()\","
            "\"smartermail\":{\"brute_force\":{\"attempts\":-9223372036854775808},"
            "\"smtp\":{\"response\":{\"codes\":[250,354]}}},"
            "\"tags\":[\"a\",\"b\",\"" FFFD "\"]}\n",
            "{\"deep.five\":true,\"deep.one.four\":4,\"deep.one.two.three\":\"3\","
            "\"deep2\":\"x\\\"y\\\\z\\u0001\",\"event.severity\":3,\"id\":\"abc\","
            "\"log.offset\":9223372036854775807,"
            "\"message\":\"Exception: boom\\n   at A.B()\","
            "\"smartermail.brute_force.attempts\":-9223372036854775808,"
            "\"smartermail.smtp.response.codes\":[250,354],"
            "\"tags\":[\"a\",\"b\",\"" FFFD "\"]}\n",
            "{\"version\":\"1.1\",\"host\":\"-\",\"short_message\":\"Exception: boom\","
            "\"full_message\":\"Exception: boom\\n   at A.B()\",\"timestamp\":-1.500,"
            "\"level\":3,\"_deep_five\":\"true\",\"_deep_one_four\":4,"
            "\"_deep_one_two_three\":\"3\",\"_deep2\":\"x\\\"y\\\\z\\u0001\",\"_id_\":\"abc\","
            "\"_log_offset\":9223372036854775807,"
            "\"_smartermail_brute_force_attempts\":-9223372036854775808,"
            "\"_smartermail_smtp_response_codes\":\"250,354\","
            "\"_tags\":\"a,b," FFFD "\"}\n" } },
        { "empty texts, sub-second and negative times", -1, SEV_NOTICE,
          { { "message", VAL_STR, S(""), 0 },
            { "host.name", VAL_STR, S("h\"1"), 0 },
            { "event.original", VAL_STR, S(""), 0 },
            { "event.dataset", VAL_SAFE, S(""), 0 },
            { NULL } },
          { "{\"event\":{\"dataset\":\"\",\"original\":\"\"},\"host\":{\"name\":\"h\\\"1\"},"
            "\"message\":\"\"}\n",
            "{\"event.dataset\":\"\",\"event.original\":\"\",\"host.name\":\"h\\\"1\","
            "\"message\":\"\"}\n",
            "{\"version\":\"1.1\",\"host\":\"h\\\"1\",\"short_message\":\"-\","
            "\"timestamp\":-0.001,\"level\":5,\"_event_dataset\":\"\","
            "\"_event_original\":\"\"}\n" } },
        { "a message whose first line is empty", 1000, SEV_INFO,
          { { "message", VAL_STR, S("\n   at A.B()"), 0 }, { NULL } },
          { "{\"message\":\"\\n   at A.B()\"}\n", "{\"message\":\"\\n   at A.B()\"}\n",
            "{\"version\":\"1.1\",\"host\":\"-\",\"short_message\":\"-\","
            "\"full_message\":\"\\n   at A.B()\",\"timestamp\":1.000,\"level\":6}\n" } },
        { "one array of one value closes every object", 999, SEV_INFO,
          { { "related.user", VAL_STR, S("u"), 0 }, { NULL } },
          { "{\"related\":{\"user\":[\"u\"]}}\n", "{\"related.user\":[\"u\"]}\n",
            "{\"version\":\"1.1\",\"host\":\"-\",\"short_message\":\"-\",\"timestamp\":0.999,"
            "\"level\":6,\"_related_user\":\"u\"}\n" } },
};

static const char *const enc_names[] = { [ENC_ECS] = "ECS", [ENC_FLAT] = "flat",
                                         [ENC_GELF] = "GELF" };

struct fixture {
        struct keys *keys;
        struct event *ev;
};

static int setup_keys(void **state)
{
        struct fixture *fx = calloc(1, sizeof(*fx));

        if (!fx || !(fx->keys = keys_new()))
                return -1;
        for (size_t i = 0; i < ARRAY_SIZE(event_rows); i++)
                for (const struct set *s = event_rows[i].set; s->key; s++)
                        if (keys_intern(fx->keys, s->key, strlen(s->key)) < 0)
                                return -1;
        if (keys_finish(fx->keys, NULL) < 0 || !(fx->ev = event_new(fx->keys)))
                return -1;
        *state = fx;
        return 0;
}

static int teardown_keys(void **state)
{
        struct fixture *fx = *state;

        event_free(fx->ev);
        keys_free(fx->keys);
        free(fx);
        return 0;
}

static void fill_event(struct fixture *fx, const struct event_row *row)
{
        struct event *ev = fx->ev;

        event_reset(ev);
        ev->ts_ms = row->ts_ms;
        ev->severity = row->severity;
        for (const struct set *s = row->set; s->key; s++) {
                int k = keys_intern(fx->keys, s->key, strlen(s->key));
                int rc = -1;

                assert_true(k >= 0);
                switch (s->kind) {
                case VAL_STR:
                        rc = event_set_str(ev, (unsigned)k, s->str.p, s->str.len);
                        break;
                case VAL_SAFE:
                        assert_true(event_text_safe(s->str.p, s->str.len));
                        rc = event_set_safe(ev, (unsigned)k, s->str.p, s->str.len);
                        break;
                case VAL_NUM:
                        rc = event_set_num(ev, (unsigned)k, s->num);
                        break;
                case VAL_BOOL:
                        rc = event_set_bool(ev, (unsigned)k, (int)s->num);
                        break;
                }
                assert_int_equal(rc, 0);
        }
}

static void test_encode_events(void **state)
{
        struct fixture *fx = *state;

        for (size_t i = 0; i < ARRAY_SIZE(event_rows); i++) {
                const struct event_row *row = &event_rows[i];

                fill_event(fx, row);
                for (int enc = ENC_ECS; enc <= ENC_GELF; enc++) {
                        struct buf b;
                        char what[160];
                        fjson_object *o;

                        snprintf(what, sizeof(what), "%s, %s", row->name, enc_names[enc]);
                        buf_init(&b, 1u << 20);
                        assert_int_equal(encode_json(fx->ev, (enum encoding)enc, &b), 0);
                        tu_bytes_equal(what, row->want[enc], strlen(row->want[enc]), b.p, b.len);
                        o = parse_json(what, b.p, b.len, fjson_type_object);
                        fjson_object_put(o);
                        buf_done(&b);
                }
        }
}

/* The output ceiling at every size up to the event's length: -ENOMEM and
 * the buffer as it was, with or without bytes already in it; at the exact
 * length the event fits. */
static void test_encode_ceiling(void **state)
{
        static const char before[] = "{\"earlier\":1}\n";
        struct fixture *fx = *state;

        for (size_t i = 0; i < ARRAY_SIZE(event_rows); i++) {
                const struct event_row *row = &event_rows[i];

                fill_event(fx, row);
                for (int enc = ENC_ECS; enc <= ENC_GELF; enc++) {
                        size_t full = strlen(row->want[enc]);

                        for (size_t pre = 0; pre <= sizeof(before) - 1; pre += sizeof(before) - 1)
                                for (size_t max = pre; max <= pre + full; max++) {
                                        struct buf b;
                                        int rc, want_rc = max == pre + full ? 0 : -ENOMEM;
                                        char what[160];

                                        snprintf(what, sizeof(what), "%s, %s, ceiling %zu",
                                                 row->name, enc_names[enc], max);
                                        buf_init(&b, max);
                                        if (pre)
                                                buf_put(&b, before, pre);
                                        rc = encode_json(fx->ev, (enum encoding)enc, &b);
                                        if (rc != want_rc) {
                                                print_error("%s: %d, want %d\n", what, rc, want_rc);
                                                fail();
                                        }
                                        if (rc == 0)
                                                tu_bytes_equal(what, row->want[enc], full,
                                                               b.p + pre, b.len - pre);
                                        else
                                                tu_bytes_equal(what, before, pre, b.p, b.len);
                                        buf_done(&b);
                                }
                }
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_json_escape),
                cmocka_unit_test(test_json_escape_lanes),
                cmocka_unit_test(test_encode_events),
                cmocka_unit_test(test_encode_ceiling),
        };

        return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
