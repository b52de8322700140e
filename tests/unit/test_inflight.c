/* SPDX-License-Identifier: MIT */
/* inflight.c: the window of records handed to the outputs. Each row runs a
 * script of pushes, acknowledgements and room checks on a fresh window and
 * compares the commits it made, in order, with the expected ones: commits
 * follow sequence order whatever the order of acks, a failed ack's status
 * comes back with its commit, unknown and repeated seqs change nothing, and
 * the record and byte limits hold at max-1, max and max+1. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/inflight.h"
#include "testutil.h"

/* The commits seen, as "cookie[:status][-]" words ('-': owner NULL). */
struct log {
        char text[512];
        size_t len;
        int owner;              /* what the owner of a non-NULL push points to */
};

static void on_commit(void *owner, uint64_t end_offset, uint64_t cookie, int status, void *data)
{
        struct log *lg = data;

        /* the end offset is the one pushed: 100 per cookie */
        assert_int_equal(end_offset, cookie * 100);
        assert_true(owner == NULL || owner == &lg->owner);
        lg->len += (size_t)snprintf(lg->text + lg->len, sizeof(lg->text) - lg->len, "%s%llu",
                                    lg->len ? " " : "", (unsigned long long)cookie);
        if (status)
                lg->len += (size_t)snprintf(lg->text + lg->len, sizeof(lg->text) - lg->len,
                                            ":%d", status);
        if (!owner)
                lg->len += (size_t)snprintf(lg->text + lg->len, sizeof(lg->text) - lg->len, "-");
}

struct inflight_row {
        const char *name;
        size_t max_records, max_bytes;
        unsigned nsinks;
        /* words: pN push N bytes (owner set; cookie = the seq expected), PN
         * the same with owner NULL, xN a push of N bytes that must fail, aS
         * ack seq S, fS ack seq S with -EIO, rN / nN room / no room for N
         * bytes, hS:N an output holds N bytes for seq S */
        const char *script;
        const char *commits;
        size_t want_count, want_bytes;
};

static const struct inflight_row rows[] = {
        { "acks in order", 8, 1000, 1, "p10 p20 p30 a1 a2 a3", "1 2 3", 0, 0 },
        { "acks out of order", 8, 1000, 1, "p10 p20 p30 a3 a2 a1", "1 2 3", 0, 0 },
        { "a gap holds the later ones", 8, 1000, 1, "p10 p20 p30 a2 a3", "", 3, 60 },
        { "the gap filled", 8, 1000, 1, "p10 p20 p30 p40 a2 a4 a1", "1 2", 2, 70 },
        { "a failed ack commits with its status", 8, 1000, 1, "p10 p20 f1 a2", "1:-5 2", 0, 0 },
        { "two outputs: one ack is not enough", 8, 1000, 2, "p10 p20 a1 a2 a2", "", 2, 30 },
        { "two outputs: both acked", 8, 1000, 2, "p10 p20 a1 a2 a2 a1", "1 2", 0, 0 },
        { "two outputs: one fails", 8, 1000, 2, "p10 a1 f1", "1:-5", 0, 0 },
        { "unknown seqs are ignored", 8, 1000, 1, "p10 a0 a2 a99 a1", "1", 0, 0 },
        { "a repeated ack is ignored", 8, 1000, 1, "p10 p20 a1 a1 a2 a2", "1 2", 0, 0 },
        { "an ack of a committed seq is ignored", 8, 1000, 2, "p10 a1 a1 a1", "1", 0, 0 },
        { "owner NULL passes through", 8, 1000, 1, "P10 p20 P30 a3 a2 a1", "1- 2 3-", 0, 0 },
        /* records: max 3 */
        { "records: max-1", 3, 1000, 1, "p1 p1 r1", "", 2, 2 },
        { "records: max", 3, 1000, 1, "p1 p1 p1 n1", "", 3, 3 },
        { "records: max+1", 3, 1000, 1, "p1 p1 p1 x1 a1 r1 p1", "1", 3, 3 },
        { "records: the ring wraps", 2, 1000, 1, "p1 p1 a1 p1 a2 p1 a3 a4", "1 2 3 4", 0, 0 },
        /* bytes: max 100 */
        { "bytes: max-1", 8, 100, 1, "p60 r39 p39", "", 2, 99 },
        { "bytes: max", 8, 100, 1, "p60 r40 p40 n1", "", 2, 100 },
        { "bytes: max+1", 8, 100, 1, "p60 n41 x41 a1 r41 p41", "1", 1, 41 },
        /* held bytes replace the raw size, and add up over outputs */
        { "held: replaces the raw size", 8, 100, 1, "p10 h1:60 r40 n41", "", 1, 60 },
        { "held: two outputs add up", 8, 100, 2, "p10 h1:30 h1:30 r40 n41", "", 1, 60 },
        { "held: released with the record", 8, 100, 2, "p10 h1:90 p5 a1 a1", "1", 1, 5 },
        { "held: beyond the limit pauses", 8, 100, 1, "p10 h1:500 n1 a1 r100", "1", 0, 0 },
        { "held: unknown seqs are ignored", 8, 100, 1, "p10 h0:50 h2:50 a1 h1:50", "1", 0, 0 },
        { "one record always fits an empty window", 8, 100, 1, "r5000 p5000 n1 a1 r100", "1", 0,
          0 },
};

static void run_row(const struct inflight_row *row)
{
        struct log lg = { .len = 0 };
        struct inflight *a = inflight_new(row->max_records, row->max_bytes, row->nsinks,
                                          on_commit, &lg);
        char script[256], *save = NULL;
        uint64_t pushed = 0;

        assert_non_null(a);
        snprintf(script, sizeof(script), "%s", row->script);
        for (char *w = strtok_r(script, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                unsigned long long v = strtoull(w + 1, NULL, 10);
                uint64_t seq;

                switch (w[0]) {
                case 'p':
                case 'P':
                        seq = inflight_push(a, w[0] == 'p' ? &lg.owner : NULL, (pushed + 1) * 100,
                                            (size_t)v, pushed + 1);
                        if (seq != pushed + 1) {
                                print_error("%s: %s: seq %llu, want %llu\n", row->name, w,
                                            (unsigned long long)seq,
                                            (unsigned long long)(pushed + 1));
                                fail();
                        }
                        pushed++;
                        assert_int_equal(inflight_last_seq(a), pushed);
                        break;
                case 'x':
                        if (inflight_push(a, &lg.owner, 0, (size_t)v, 0) != 0) {
                                print_error("%s: %s: the push was taken\n", row->name, w);
                                fail();
                        }
                        assert_int_equal(inflight_last_seq(a), pushed);
                        break;
                case 'a':
                case 'f':
                        inflight_done(a, v, w[0] == 'a' ? 0 : -EIO);
                        break;
                case 'r':
                case 'n':
                        if (inflight_has_room(a, (size_t)v) != (w[0] == 'r')) {
                                print_error("%s: %s: room is %d\n", row->name, w, w[0] != 'r');
                                fail();
                        }
                        break;
                case 'h':
                        inflight_hold(a, v, (size_t)strtoull(strchr(w, ':') + 1, NULL, 10));
                        break;
                default:
                        fail_msg("%s: bad script word %s", row->name, w);
                }
        }
        tu_str_equal(row->name, row->commits, lg.text);
        assert_int_equal(inflight_count(a), row->want_count);
        assert_int_equal(inflight_bytes(a), row->want_bytes);
        inflight_free(a);
}

static void test_inflight_rows(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
                run_row(&rows[i]);
}

static void test_inflight_free_null(void **state)
{
        (void)state;
        inflight_free(NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_inflight_rows),
                cmocka_unit_test(test_inflight_free_null),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
