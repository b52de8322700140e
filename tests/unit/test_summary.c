/* SPDX-License-Identifier: MIT */
/* summary.c: session and delivery summaries. Each row feeds a few records
 * (as the fields the mappings would set) into a fresh table, optionally
 * ends with summary_expire or summary_flush_all, and compares every summary
 * emitted, in order, as "end_reason status: message". Then a callback that
 * refuses with -EAGAIN: the summary waits and comes again at
 * summary_retry, later ones queued behind it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/summary.h"
#include "testutil.h"

#define RECS_MAX 8
#define WANT_MAX 4

/* One record: its time and "key=value|key=value" (a value "#N" is a
 * number). */
struct rec {
        int64_t ts_ms;
        const char *fields;
};

enum after { AFTER_NONE, AFTER_EXPIRE, AFTER_FLUSH };

struct sum_row {
        const char *name;
        unsigned long max_open;
        int64_t idle_ms;
        struct rec recs[RECS_MAX];
        enum after after;
        int64_t expire_at_ms;   /* AFTER_EXPIRE */
        const char *want[WANT_MAX];
        size_t want_open;
};

#define SMTP "smartermail.log_type=smtp|smartermail.session_id="
#define DLV "smartermail.log_type=delivery|smartermail.delivery.id="

static const struct sum_row rows[] = {
        { "an SMTP session", 10, 600000,
          { { 1000, SMTP "s1|source.ip=203.0.113.9|event.action=connection-opened" },
            { 1100, SMTP "s1|email.from.address=a@example.com" },
            { 1200, SMTP "s1|email.to.address=b@example.net" },
            { 1300, SMTP "s1|smartermail.smtp.response.code=#250|message=rsp: 250 Queued"
                    "|smartermail.spool.id=abc123" },
            { 1400, SMTP "s1|event.action=connection-closed" } },
          AFTER_NONE, 0,
          { "closed accepted: SMTP session s1 from 203.0.113.9: 1 message accepted (abc123) "
            "from a@example.com to b@example.net; 5 records" }, 0 },
        { "an SMTP session that failed to log in", 10, 600000,
          { { 1000, SMTP "s2|source.ip=198.51.100.7" },
            { 1100, SMTP "s2|event.action=authentication-attempt|user.name=bob" },
            { 1200, SMTP "s2|smartermail.smtp.response.code=#535|message=535 bad auth" },
            { 1300, SMTP "s2|event.action=connection-closed" } },
          AFTER_NONE, 0,
          { "closed auth-failed: SMTP session s2 from 198.51.100.7: authentication failed for "
            "bob (535 bad auth); 4 records" }, 0 },
        { "a delivery", 10, 600000,
          { { 5000, DLV "d1|email.from.address=a@example.com|email.to.address=b@example.net"
                    "|email.to.address=c@example.net" },
            { 5100, DLV "d1|network.direction=outbound|destination.ip=192.0.2.1" },
            { 5200, DLV "d1|smartermail.delivery.status=Delivered" },
            { 5300, DLV "d1|event.action=delivery-finished" } },
          AFTER_NONE, 0,
          { "closed delivered: Delivery d1 from a@example.com to b@example.net, c@example.net: "
            "Delivered; 4 records" }, 0 },
        { "a deferred delivery, worse than an earlier success", 10, 600000,
          { { 5000, DLV "d2|smartermail.delivery.status=Delivered" },
            { 5100, DLV "d2|smartermail.delivery.status=Deferred" },
            { 5300, DLV "d2|event.action=delivery-finished" } },
          AFTER_NONE, 0, { "closed deferred: Delivery d2 from - to -: Deferred; 3 records" }, 0 },
        { "records of other types and without an id are ignored", 10, 600000,
          { { 1000, "smartermail.log_type=imap|smartermail.session_id=s1" },
            { 1000, "smartermail.log_type=smtp" },
            { 1000, SMTP "s3" } },
          AFTER_NONE, 0, { NULL }, 1 },
        /* max_open 2: the third session evicts the one touched least recently */
        { "eviction at max_open", 2, 600000,
          { { 1000, SMTP "e1" }, { 1100, SMTP "e2" }, { 1200, SMTP "e1" }, { 1300, SMTP "e3" } },
          AFTER_NONE, 0, { "evicted no-mail: SMTP session e2 from : no-mail; 1 record, cut short: "
                           "evicted" }, 2 },
        { "max_open-1 and max_open evict nothing", 3, 600000,
          { { 1000, SMTP "e1" }, { 1100, SMTP "e2" }, { 1200, SMTP "e3" } },
          AFTER_NONE, 0, { NULL }, 3 },
        /* idle 1 s, on each log type's own clock */
        { "idle expiry by a later record", 10, 1000,
          { { 1000, SMTP "i1" }, { 1500, SMTP "i2" }, { 2001, SMTP "i2" } },
          AFTER_NONE, 0, { "idle-timeout no-mail: SMTP session i1 from : no-mail; 1 record, "
                           "cut short: idle-timeout" }, 1 },
        { "idle exactly at the limit stays", 10, 1000,
          { { 1000, SMTP "i1" }, { 2000, SMTP "i2" } },
          AFTER_NONE, 0, { NULL }, 2 },
        { "the other log type's clock expires nothing", 10, 1000,
          { { 1000, SMTP "i1" }, { 90000, DLV "j1" } },
          AFTER_NONE, 0, { NULL }, 2 },
        { "summary_expire", 10, 1000,
          { { 1000, SMTP "i1" }, { 1900, DLV "j1" } },
          AFTER_EXPIRE, 2500, { "idle-timeout no-mail: SMTP session i1 from : no-mail; 1 record, "
                                "cut short: idle-timeout" }, 1 },
        { "flush_all, oldest first", 10, 600000,
          { { 1000, DLV "f1" }, { 1100, SMTP "f2" }, { 1200, DLV "f1" } },
          AFTER_FLUSH, 0,
          { "shutdown no-mail: SMTP session f2 from : no-mail; 1 record, cut short: shutdown",
            "shutdown unknown: Delivery f1 from - to -: unknown; 2 records, cut short: shutdown" },
          0 },
};

struct got {
        char text[WANT_MAX][512];
        unsigned n;
        int refuse;             /* -EAGAIN for this many calls */
        unsigned calls;
        const struct keys *keys;
};

static const char *str_of(const struct event *ev, const char *name)
{
        static char buf[4][512];
        static unsigned turn;
        int k = keys_find(ev->keys, name);
        const char *p;
        size_t n;
        char *b = buf[turn++ % 4];

        assert_true(k >= 0);
        p = event_get_str(ev, (unsigned)k, &n);
        snprintf(b, sizeof(buf[0]), "%.*s", p ? (int)n : 0, p ? p : "");
        return b;
}

static int on_summary(struct event *ev, void *data)
{
        struct got *g = data;

        g->calls++;
        if (g->refuse > 0) {
                g->refuse--;
                return -EAGAIN;
        }
        assert_true(g->n < WANT_MAX);
        snprintf(g->text[g->n++], sizeof(g->text[0]), "%s %s: %s",
                 str_of(ev, "smartermail.summary.end_reason"),
                 str_of(ev, "smartermail.summary.status"), str_of(ev, "message"));
        return 0;
}

static struct keys *make_keys(void)
{
        struct keys *keys = keys_new();

        assert_non_null(keys);
        assert_int_equal(summary_keys_register(keys), 0);
        assert_int_equal(keys_finish(keys, NULL), 0);
        return keys;
}

/* Fill ev from "key=value|..."; the text stays in buf. */
static void make_record(struct event *ev, const struct rec *r, char *buf, size_t cap)
{
        char *save = NULL;

        event_reset(ev);
        ev->ts_ms = r->ts_ms;
        snprintf(buf, cap, "%s", r->fields);
        for (char *f = strtok_r(buf, "|", &save); f; f = strtok_r(NULL, "|", &save)) {
                char *eq = strchr(f, '=');
                int k;

                assert_non_null(eq);
                *eq = '\0';
                k = keys_find(ev->keys, f);
                if (k < 0)
                        fail_msg("no key %s", f);
                if (eq[1] == '#')
                        assert_int_equal(event_set_num(ev, (unsigned)k, atoll(eq + 2)), 0);
                else
                        assert_int_equal(event_set_str(ev, (unsigned)k, eq + 1, strlen(eq + 1)),
                                         0);
        }
}

static void feed(struct summary *s, struct event *ev, const struct rec *r)
{
        char buf[512];

        make_record(ev, r, buf, sizeof(buf));
        summary_add(s, ev);
}

static void run_row(const struct sum_row *row, struct keys *keys, struct event *ev)
{
        struct summary_cfg cfg = { .max_open = row->max_open, .idle_ms = row->idle_ms,
                                   .host_name = "mail", .zone = "UTC" };
        struct got g = { .n = 0 };
        struct summary *s = NULL;
        unsigned nwant = 0;

        assert_int_equal(summary_new(&s, keys, &cfg, on_summary, &g), 0);
        for (unsigned i = 0; i < RECS_MAX && row->recs[i].fields; i++)
                feed(s, ev, &row->recs[i]);
        if (row->after == AFTER_EXPIRE)
                summary_expire(s, row->expire_at_ms);
        else if (row->after == AFTER_FLUSH)
                summary_flush_all(s, SUMMARY_END_SHUTDOWN);
        while (nwant < WANT_MAX && row->want[nwant])
                nwant++;
        if (g.n != nwant) {
                print_error("%s: %u summaries, want %u%s%s\n", row->name, g.n, nwant,
                            g.n ? "; first: " : "", g.n ? g.text[0] : "");
                fail();
        }
        for (unsigned i = 0; i < nwant; i++)
                tu_str_equal(row->name, row->want[i], g.text[i]);
        assert_int_equal(summary_open_count(s), row->want_open);
        assert_int_equal(summary_waiting_count(s), 0);
        summary_free(s);
}

static void test_summary_rows(void **state)
{
        struct keys *keys = make_keys();
        struct event *ev = event_new(keys);

        (void)state;
        assert_non_null(ev);
        for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
                run_row(&rows[i], keys, ev);
        event_free(ev);
        keys_free(keys);
}

/* The callback refuses twice: the first summary waits, the second queues
 * behind it, and summary_retry hands both over in order. */
static void test_summary_retry(void **state)
{
        static const struct rec recs[] = {
                { 1000, SMTP "r1|event.action=connection-closed" },
                { 1100, SMTP "r2|event.action=connection-closed" },
        };
        struct summary_cfg cfg = { .max_open = 10, .idle_ms = 600000, .host_name = "mail",
                                   .zone = "UTC" };
        struct keys *keys = make_keys();
        struct event *ev = event_new(keys);
        struct got g = { .refuse = 2 };
        struct summary *s = NULL;

        (void)state;
        assert_non_null(ev);
        assert_int_equal(summary_new(&s, keys, &cfg, on_summary, &g), 0);
        feed(s, ev, &recs[0]);
        assert_int_equal(g.calls, 1);
        assert_int_equal(summary_waiting_count(s), 1);
        feed(s, ev, &recs[1]);
        assert_int_equal(g.calls, 2);
        assert_int_equal(summary_waiting_count(s), 2);
        assert_int_equal(g.n, 0);
        assert_int_equal(summary_retry(s), 0);
        assert_int_equal(summary_waiting_count(s), 0);
        assert_int_equal(g.n, 2);
        tu_str_equal("retry 1", "closed no-mail: SMTP session r1 from : no-mail; 1 record",
                     g.text[0]);
        tu_str_equal("retry 2", "closed no-mail: SMTP session r2 from : no-mail; 1 record",
                     g.text[1]);
        assert_int_equal(summary_retry(s), 0);
        summary_free(s);
        event_free(ev);
        keys_free(keys);
}

/* summary_clock_ms and summary_idle_at_ms follow the records. */
static void test_summary_clock(void **state)
{
        static const struct rec recs[] = { { 7000, SMTP "c1" }, { 3000, DLV "c2" } };
        struct summary_cfg cfg = { .max_open = 10, .idle_ms = 500 };
        struct keys *keys = make_keys();
        struct event *ev = event_new(keys);
        struct got g = { .n = 0 };
        struct summary *s = NULL;

        (void)state;
        assert_non_null(ev);
        assert_int_equal(summary_new(&s, keys, &cfg, on_summary, &g), 0);
        assert_true(summary_clock_ms(s) == INT64_MIN);
        assert_true(summary_idle_at_ms(s) == INT64_MAX);
        feed(s, ev, &recs[0]);
        feed(s, ev, &recs[1]);
        assert_int_equal(summary_clock_ms(s), 7000);
        assert_int_equal(summary_idle_at_ms(s), 3500);
        summary_flush_all(s, SUMMARY_END_INPUT);
        assert_int_equal(g.n, 2);
        assert_true(summary_idle_at_ms(s) == INT64_MAX);
        summary_free(s);
        summary_free(NULL);
        event_free(ev);
        keys_free(keys);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_summary_rows),
                cmocka_unit_test(test_summary_retry),
                cmocka_unit_test(test_summary_clock),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
