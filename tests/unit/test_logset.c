/* SPDX-License-Identifier: MIT */
/* logset.c: the log files of search and report. Rows give a file name and
 * the type, date and archive flag read from it; a set of names and a
 * --type / date range and the names kept, in order; --from/--to strings
 * and the local milliseconds they mean (first or last millisecond of the
 * precision given), or their rejection; and the record boundaries and the
 * midnight rollover of a day's file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/stamp.h"
#include "query/logset.h"
#include "testutil.h"

#define DAY(y, m, d) stamp_days_from_civil(y, m, d)
#define MS_DAY 86400000LL

/* ---- names ----------------------------------------------------------------- */

struct name_row {
        const char *path;
        const char *type;       /* "" when the name does not say */
        int y, mo, d;           /* 0: no date */
        int zipped;
};

static const struct name_row name_rows[] = {
        { "2026.03.08-smtpLog.log", "smtpLog", 2026, 3, 8, 0 },
        { "/var/logs/2026.03.08-delivery.log", "delivery", 2026, 3, 8, 0 },
        { "logs/2025.12.31-imapLog.log.zip", "imapLog", 2025, 12, 31, 1 },
        { "2026.02.29-smtpLog.log", "", 0, 0, 0, 0 },           /* not a leap year */
        { "2026.03.08-.log", "", 0, 0, 0, 0 },                  /* no type */
        { "2026.03.08-smtp log.log", "", 0, 0, 0, 0 },          /* a space in the type */
        { "mail.log", "", 0, 0, 0, 0 },
        { "2026.03.08-smtpLog.txt", "", 0, 0, 0, 0 },
        { "notes.log.zip", "", 0, 0, 0, 1 },
};

static void test_logset_names(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(name_rows); i++) {
                const struct name_row *row = &name_rows[i];
                struct logset ls = { 0 };
                int64_t want_day = row->y ? DAY(row->y, row->mo, row->d) : LOGSET_NO_DAY;

                assert_int_equal(logset_add(&ls, row->path), 0);
                assert_int_equal(ls.n, 1);
                tu_str_equal(row->path, row->path, ls.f[0].path);
                tu_str_equal(row->path, row->type, ls.f[0].type);
                if (ls.f[0].day != want_day || ls.f[0].zipped != row->zipped) {
                        print_error("%s: day %lld zipped %d, want %lld %d\n", row->path,
                                    (long long)ls.f[0].day, ls.f[0].zipped,
                                    (long long)want_day, row->zipped);
                        fail();
                }
                logset_done(&ls);
        }
}

/* ---- selection ----------------------------------------------------------- */

static const char *const select_names[] = {
        "d/2026.03.09-smtpLog.log",
        "d/2026.03.07-delivery.log",
        "d/2026.03.08-smtpLog.log.zip",
        "d/2026.03.08-smtpLog.log",
        "d/2026.03.05-smtpLog.log.zip",
        "d/2026.03.10-delivery.log",
        "d/other.log",
        "d/2026.03.08-delivery.log",
};

struct select_row {
        const char *name;
        const char *types;
        int64_t from_day, to_day;
        const char *want;       /* the paths kept, in order, joined with ' ' */
};

static const struct select_row select_rows[] = {
        { "all, in day, type and name order; the .log over its archive", "",
          LOGSET_NO_DAY, LOGSET_NO_DAY,
          "d/other.log d/2026.03.05-smtpLog.log.zip d/2026.03.07-delivery.log "
          "d/2026.03.08-delivery.log d/2026.03.08-smtpLog.log d/2026.03.09-smtpLog.log "
          "d/2026.03.10-delivery.log" },
        { "one type: a name that says none is left out", "smtpLog", LOGSET_NO_DAY,
          LOGSET_NO_DAY, "d/2026.03.05-smtpLog.log.zip d/2026.03.08-smtpLog.log "
          "d/2026.03.09-smtpLog.log" },
        { "a list of types", "delivery,nothing", LOGSET_NO_DAY, LOGSET_NO_DAY,
          "d/2026.03.07-delivery.log d/2026.03.08-delivery.log "
          "d/2026.03.10-delivery.log" },
        { "one day keeps the day before (it runs past midnight) and undated files", "", 0, 0,
          "d/other.log d/2026.03.07-delivery.log d/2026.03.08-delivery.log "
          "d/2026.03.08-smtpLog.log" },
        { "an open start", "smtpLog", LOGSET_NO_DAY, 0,
          "d/2026.03.05-smtpLog.log.zip d/2026.03.08-smtpLog.log" },
        { "an open end", "delivery", 2, LOGSET_NO_DAY, "d/2026.03.10-delivery.log" },
        { "a type that matches no file", "popLog", LOGSET_NO_DAY, LOGSET_NO_DAY, "" },
};

static void test_logset_select(void **state)
{
        int64_t base = DAY(2026, 3, 8);

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(select_rows); i++) {
                const struct select_row *row = &select_rows[i];
                struct logset ls = { 0 };
                char got[1024] = "";

                for (size_t k = 0; k < ARRAY_SIZE(select_names); k++)
                        assert_int_equal(logset_add(&ls, select_names[k]), 0);
                /* the row's days count from 2026.03.08 */
                logset_select(&ls, row->types,
                              row->from_day == LOGSET_NO_DAY ? LOGSET_NO_DAY : base + row->from_day,
                              row->to_day == LOGSET_NO_DAY ? LOGSET_NO_DAY : base + row->to_day);
                for (size_t k = 0; k < ls.n; k++) {
                        size_t o = strlen(got);

                        snprintf(got + o, sizeof(got) - o, "%s%s", o ? " " : "", ls.f[k].path);
                }
                tu_str_equal(row->name, row->want, got);
                logset_done(&ls);
        }
}

/* ---- --from / --to --------------------------------------------------------- */

struct when_row {
        const char *in;
        int is_end;
        int ok;
        int y, mo, d;
        int64_t tod_ms;         /* into the day */
};

#define TODAY_Y 2026
#define TODAY_M 3
#define TODAY_D 8

static const struct when_row when_rows[] = {
        { "2026-03-08", 0, 1, 2026, 3, 8, 0 },
        { "2026-03-08", 1, 1, 2026, 3, 8, MS_DAY - 1 },
        { "2026.03.08", 0, 1, 2026, 3, 8, 0 },
        { "2026/03/08", 0, 1, 2026, 3, 8, 0 },
        { "2026-03-08 13:45", 0, 1, 2026, 3, 8, (13 * 3600 + 45 * 60) * 1000LL },
        { "2026-03-08T13:45", 1, 1, 2026, 3, 8, (13 * 3600 + 45 * 60) * 1000LL + 59999 },
        { "2026-03-08 13:45:07", 0, 1, 2026, 3, 8, (13 * 3600 + 45 * 60 + 7) * 1000LL },
        { "2026-03-08 13:45:07", 1, 1, 2026, 3, 8, (13 * 3600 + 45 * 60 + 7) * 1000LL + 999 },
        { "2026-03-08 00:00", 0, 1, 2026, 3, 8, 0 },
        { "2026-03-08 23:59:59", 1, 1, 2026, 3, 8, MS_DAY - 1 },
        { "2024-02-29", 0, 1, 2024, 2, 29, 0 },
        { "today", 0, 1, TODAY_Y, TODAY_M, TODAY_D, 0 },
        { "today", 1, 1, TODAY_Y, TODAY_M, TODAY_D, MS_DAY - 1 },
        { "yesterday", 0, 1, TODAY_Y, TODAY_M, TODAY_D - 1, 0 },
        { "2026-02-29", 0, 0, 0, 0, 0, 0 },
        { "2026-13-01", 0, 0, 0, 0, 0, 0 },
        { "2026-03-8", 0, 0, 0, 0, 0, 0 },
        { "2026-03.08", 0, 0, 0, 0, 0, 0 },
        { "2026-03-08 24:00", 0, 0, 0, 0, 0, 0 },
        { "2026-03-08 12:60", 0, 0, 0, 0, 0, 0 },
        { "2026-03-08 12:00:60", 0, 0, 0, 0, 0, 0 },
        { "2026-03-08 12:00:5", 0, 0, 0, 0, 0, 0 },
        { "2026-03-08 12:00:05Z", 0, 0, 0, 0, 0, 0 },
        { "2026-03-08 12", 0, 0, 0, 0, 0, 0 },
        { "2026-03-08 12.00", 0, 0, 0, 0, 0, 0 },
        { "2026-03-08_12:00", 0, 0, 0, 0, 0, 0 },
        { "2026-03-08 ", 0, 0, 0, 0, 0, 0 },
        { "Today", 0, 0, 0, 0, 0, 0 },
        { "", 0, 0, 0, 0, 0, 0 },
};

static void test_logset_parse_when(void **state)
{
        int64_t today = DAY(TODAY_Y, TODAY_M, TODAY_D);

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(when_rows); i++) {
                const struct when_row *row = &when_rows[i];
                int64_t got = -1;
                int r = logset_parse_when(row->in, row->is_end, today, &got);
                int64_t want = row->ok ? DAY(row->y, row->mo, row->d) * MS_DAY + row->tod_ms : -1;

                if ((r == 0) != row->ok || (r < 0 && r != -EINVAL) || got != want) {
                        print_error("\"%s\" (end %d): returned %d, %lld; want %s, %lld\n", row->in,
                                    row->is_end, r, (long long)got, row->ok ? "0" : "-EINVAL",
                                    (long long)want);
                        fail();
                }
        }
}

/* ---- records and the midnight rollover ------------------------------------- */

struct bound_row {
        const char *name;
        const char *text;
        size_t at;              /* a byte inside the record */
        size_t start, end;
};

#define L1 "23:59:58.000 a\n"          /* 15 bytes */
#define L2 "   at x\n"                 /* 8 bytes */
#define L3 "23:59:59.500 b\n"

static const struct bound_row bound_rows[] = {
        { "first record", L1 L2 L3, 3, 0, 23 },
        { "a byte of a continuation line", L1 L2 L3, 18, 0, 23 },
        { "the last record", L1 L2 L3, 30, 23, 38 },
        { "the newline of a line", L1 L3, 14, 0, 15 },
        { "a file that starts with a continuation", L2 L1, 2, 0, 8 },
        { "no newline at the end", L1 "23:59:59.000 c", 20, 15, 29 },
};

static void test_logset_records(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(bound_rows); i++) {
                const struct bound_row *row = &bound_rows[i];
                size_t len = strlen(row->text);
                size_t st = logset_record_start(row->text, len, row->at);
                size_t en = logset_record_end(row->text, len, row->at);

                if (st != row->start || en != row->end) {
                        print_error("%s: [%zu, %zu), want [%zu, %zu)\n", row->name, st, en,
                                    row->start, row->end);
                        fail();
                }
        }
}

struct roll_row {
        const char *name;
        const char *text;
        size_t roll;            /* SIZE_MAX: none (the length) */
        size_t at;              /* a record start to date */
        int64_t tod_ms;         /* its time of day, on the next day when at >= roll */
};

static const struct roll_row roll_rows[] = {
        { "no rollover", "08:00:00.000 a\n12:30:00.000 b\n", SIZE_MAX, 15,
          (12 * 3600 + 30 * 60) * 1000LL },
        { "past midnight", "23:59:58.000 a\n00:00:01.250 b\n00:10:00.000 c\n", 15, 15, 1250 },
        { "a small step back is not midnight", "13:00:00.000 a\n12:59:59.000 b\n", SIZE_MAX, 15,
          (12 * 3600 + 59 * 60 + 59) * 1000LL },
};

static void test_logset_rollover(void **state)
{
        int64_t day = DAY(2026, 3, 8);

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(roll_rows); i++) {
                const struct roll_row *row = &roll_rows[i];
                size_t len = strlen(row->text);
                size_t want_roll = row->roll == SIZE_MAX ? len : row->roll;
                size_t roll = logset_rollover(row->text, len);
                int64_t ms = logset_record_local_ms(row->text, len, row->at, day, roll);
                int64_t want = (row->at >= want_roll ? day + 1 : day) * MS_DAY + row->tod_ms;

                if (roll != want_roll || ms != want) {
                        print_error("%s: roll %zu, ms %lld; want %zu, %lld\n", row->name, roll,
                                    (long long)ms, want_roll, (long long)want);
                        fail();
                }
        }
        /* a file without a date dates nothing without one of its own */
        assert_true(logset_record_local_ms("08:00:00.000 a\n", 15, 0, LOGSET_NO_DAY, 15) ==
                    LOGSET_NO_DAY);
        assert_true(logset_record_local_ms("   at x\n", 8, 0, day, 8) == LOGSET_NO_DAY);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_logset_names),
                cmocka_unit_test(test_logset_select),
                cmocka_unit_test(test_logset_parse_when),
                cmocka_unit_test(test_logset_records),
                cmocka_unit_test(test_logset_rollover),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
