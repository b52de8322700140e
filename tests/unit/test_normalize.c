/* SPDX-License-Identifier: MIT */
/* normalize.c: the time of each record of a file. Rows give a file name
 * (its date) and a few records, and the @timestamp and result mask each
 * must get, in America/Chicago: a file running past midnight moves to the
 * next day, the repeated hour of a fall-back is read in its first instance
 * until the clock has gone back, a record without a usable time takes the
 * one above it (or the file's midnight), and a record no rule matches is
 * unparsed. Whole events are compared by the golden tests; the file name
 * rules are in test_logname.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/normalize.h"
#include "testutil.h"

#define RECS_MAX 6

struct want {
        const char *line;
        const char *ts;
        unsigned res;           /* enum norm_result mask */
};

struct norm_row {
        const char *name;
        const char *file;       /* its date anchors the records; "" for none */
        struct want recs[RECS_MAX];
};

#define OK 0
#define BAD NORM_BAD_TIME
#define UNP NORM_UNPARSED

static const struct norm_row rows[] = {
        { "a plain day", "2026.03.10-delivery.log",
          { { "09:00:00.250 [1] Delivery started for a@example.com at 9:00:00 AM",
              "2026-03-10T14:00:00.250Z", OK },
            { "09:00:01.000 [1] Delivery finished for a@example.com",
              "2026-03-10T14:00:01.000Z", OK } } },
        { "past midnight", "2026.01.05-delivery.log",
          { { "23:59:59.000 [1] Delivery finished for a@example.com", "2026-01-06T05:59:59.000Z",
              OK },
            { "00:00:01.000 [2] Delivery finished for a@example.com", "2026-01-06T06:00:01.000Z",
              OK },
            { "00:00:00.500 [3] Delivery finished for a@example.com", "2026-01-06T06:00:00.500Z",
              OK } } },
        { "a step back of less than 12 h stays on the day", "2026.01.05-delivery.log",
          { { "13:00:00.000 [1] Delivery finished for a@example.com", "2026-01-05T19:00:00.000Z",
              OK },
            { "01:00:01.000 [2] Delivery finished for a@example.com", "2026-01-05T07:00:01.000Z",
              OK } } },
        { "the repeated hour of a fall-back", "2026.11.01-delivery.log",
          { { "01:30:00.000 [1] Delivery finished for a@example.com", "2026-11-01T06:30:00.000Z",
              OK },
            { "01:59:00.000 [1] Delivery finished for a@example.com", "2026-11-01T06:59:00.000Z",
              OK },
            { "01:58:30.000 [1] Delivery finished for a@example.com", "2026-11-01T06:58:30.000Z",
              OK },
            { "01:00:00.000 [1] Delivery finished for a@example.com", "2026-11-01T07:00:00.000Z",
              OK },
            { "01:29:59.000 [1] Delivery finished for a@example.com", "2026-11-01T07:29:59.000Z",
              OK } } },
        { "a spring-forward", "2026.03.08-delivery.log",
          { { "01:59:59.000 [1] Delivery finished for a@example.com", "2026-03-08T07:59:59.000Z",
              OK },
            { "03:00:00.000 [1] Delivery finished for a@example.com", "2026-03-08T08:00:00.000Z",
              OK } } },
        { "no time: the record above", "2026.03.10-delivery.log",
          { { "09:00:00.000 [1] Delivery finished for a@example.com", "2026-03-10T14:00:00.000Z",
              OK },
            { "Delivery finished for a@example.com", "2026-03-10T14:00:00.000Z", BAD },
            { "25:00:00.000 [1] Delivery finished for a@example.com", "2026-03-10T14:00:00.000Z",
              BAD } } },
        { "no time first: the file's midnight", "2026.03.10-delivery.log",
          { { "Delivery finished for a@example.com", "2026-03-10T05:00:00.000Z", BAD } } },
        { "no date in the name: only dated records have a time", "",
          { { "09:00:00.000 [1] Delivery finished for a@example.com", "1970-01-01T06:00:00.000Z",
              BAD } } },
        { "an unparsed record", "2026.03.10-delivery.log",
          { { "09:00:00.000 zzz nothing maps this", "2026-03-10T14:00:00.000Z", UNP } } },
};

static const char *mappings_dir(void)
{
        const char *d = getenv("MAPPINGS");

        return d && d[0] ? d : "mappings";
}

static void run_row(const struct norm_row *row, struct norm *n, struct event *ev)
{
        struct norm_file nf;
        char type[64] = "delivery";
        int y = 0, mo = 0, d = 0, has_date = 0;
        uint64_t off = 0;

        if (row->file[0]) {
                assert_int_equal(norm_name_info(row->file, type, sizeof(type), &y, &mo, &d), 0);
                has_date = 1;
        }
        norm_file_init(&nf, n, row->file[0] ? row->file : NULL, type, has_date, y, mo, d);
        for (unsigned i = 0; i < RECS_MAX && row->recs[i].line; i++) {
                const struct want *w = &row->recs[i];
                struct frame_record rec = { .data = w->line, .len = strlen(w->line),
                                            .offset = off, .end_offset = off + strlen(w->line) + 1,
                                            .lines = 1 };
                char what[256];
                const char *ts;
                size_t tl;
                unsigned res = norm_record(n, &nf, &rec, ev);

                snprintf(what, sizeof(what), "%s: record %u", row->name, i + 1);
                ts = event_get_str(ev, K_TIMESTAMP, &tl);
                assert_non_null(ts);
                tu_bytes_equal(what, w->ts, strlen(w->ts), ts, tl);
                if (res != w->res) {
                        print_error("%s: result %#x, want %#x\n", what, res, w->res);
                        fail();
                }
                off = rec.end_offset;
        }
}

static void test_norm_times(void **state)
{
        struct keys *keys = keys_new();
        struct mapping_set *ms = NULL;
        struct diag err = { 0 };
        struct tz_conv tz;
        struct norm n = { .host_name = "mail" };
        struct event *ev;

        (void)state;
        assert_non_null(keys);
        assert_int_equal(tz_init(&tz, "America/Chicago"), 0);
        assert_int_equal(mapping_load(&ms, mappings_dir(), keys, 1, &err), 0);
        assert_int_equal(keys_finish(keys, &err), 0);
        n.maps = ms;
        n.ctx.tz = &tz;
        ev = event_new(keys);
        assert_non_null(ev);
        for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
                run_row(&rows[i], &n, ev);
        event_free(ev);
        mapping_free(ms);
        keys_free(keys);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_norm_times),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
