/* SPDX-License-Identifier: MIT */
/* stamp.c: the two time prefixes, civil-date arithmetic, UTC formatting and
 * local -> UTC conversion across daylight-saving changes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stamp.h"
#include "testutil.h"

/* ---- stamp_parse ------------------------------------------------------- */

struct parse_row {
        struct bytes in;
        size_t want_len;        /* 0: not a stamp */
        struct stamp want;      /* compared when want_len > 0 */
};

/* { has_date, y, mo, d, h, mi, s, ms, valid } */
static const struct parse_row parse_rows[] = {
        /* on-disk form */
        { S("12:34:56.789 body"), 13, { 0, 0, 0, 0, 12, 34, 56, 789, 1 } },
        { S("00:00:00.000 x"), 13, { 0, 0, 0, 0, 0, 0, 0, 0, 1 } },
        { S("23:59:59.999 x"), 13, { 0, 0, 0, 0, 23, 59, 59, 999, 1 } },
        { S("12:34:56 no ms"), 9, { 0, 0, 0, 0, 12, 34, 56, 0, 1 } },
        { S("12:34:56.7 one digit"), 11, { 0, 0, 0, 0, 12, 34, 56, 700, 1 } },
        { S("12:34:56.78 two digits"), 12, { 0, 0, 0, 0, 12, 34, 56, 780, 1 } },
        { S("12:34:56.078 leading zero"), 13, { 0, 0, 0, 0, 12, 34, 56, 78, 1 } },
        { S("12:34:56.7891 four digits"), 14, { 0, 0, 0, 0, 12, 34, 56, 789, 1 } },
        { S("12:34:56.123456789 nine"), 19, { 0, 0, 0, 0, 12, 34, 56, 123, 1 } },
        { S("12:34:56.789"), 12, { 0, 0, 0, 0, 12, 34, 56, 789, 1 } },
        { S("12:34:56"), 8, { 0, 0, 0, 0, 12, 34, 56, 0, 1 } },
        { S("12:34:56.789\tx"), 13, { 0, 0, 0, 0, 12, 34, 56, 789, 1 } },
        { S("12:34:56.789  two spaces"), 13, { 0, 0, 0, 0, 12, 34, 56, 789, 1 } },
        /* a record whose first line is only the stamp: the '\n' stays in
         * the body */
        { S("12:34:56.789\n   at X.Y()"), 12, { 0, 0, 0, 0, 12, 34, 56, 789, 1 } },
        { S("12:34:56\n\tmore"), 8, { 0, 0, 0, 0, 12, 34, 56, 0, 1 } },
        { S("[2026.02.18] 01:27:54\n   at X"), 21, { 1, 2026, 2, 18, 1, 27, 54, 0, 1 } },
        /* viewer form */
        { S("[2018.05.07] 22:54:21 [123.123.123.123][63985015] rsp: 220"), 22,
          { 1, 2018, 5, 7, 22, 54, 21, 0, 1 } },
        { S("[2026.02.18] 01:27:54.048 [198.51.100.23] IMAP"), 26,
          { 1, 2026, 2, 18, 1, 27, 54, 48, 1 } },
        { S("[2026.02.18] 01:27:54.5 x"), 24, { 1, 2026, 2, 18, 1, 27, 54, 500, 1 } },
        { S("[2026.02.18] 01:27:54.12 x"), 25, { 1, 2026, 2, 18, 1, 27, 54, 120, 1 } },
        { S("[2026.02.18] 01:27:54.12345 x"), 28, { 1, 2026, 2, 18, 1, 27, 54, 123, 1 } },
        { S("[2026.02.18] 01:27:54"), 21, { 1, 2026, 2, 18, 1, 27, 54, 0, 1 } },
        /* in shape, out of range: a prefix, but not valid */
        { S("25:61:61.000 x"), 13, { 0, 0, 0, 0, 25, 61, 61, 0, 0 } },
        { S("24:00:00.000 x"), 13, { 0, 0, 0, 0, 24, 0, 0, 0, 0 } },
        { S("23:60:00 x"), 9, { 0, 0, 0, 0, 23, 60, 0, 0, 0 } },
        { S("23:59:60 leap second"), 9, { 0, 0, 0, 0, 23, 59, 60, 0, 0 } },
        { S("[9999.99.99] 00:00:00 x"), 22, { 1, 9999, 99, 99, 0, 0, 0, 0, 0 } },
        { S("[2026.02.18] 25:61:61 x"), 22, { 1, 2026, 2, 18, 25, 61, 61, 0, 0 } },
        { S("[2024.02.29] 00:00:00 leap"), 22, { 1, 2024, 2, 29, 0, 0, 0, 0, 1 } },
        { S("[2023.02.29] 00:00:00 no leap"), 22, { 1, 2023, 2, 29, 0, 0, 0, 0, 0 } },
        { S("[2000.02.29] 00:00:00 400 rule"), 22, { 1, 2000, 2, 29, 0, 0, 0, 0, 1 } },
        { S("[2100.02.29] 00:00:00 100 rule"), 22, { 1, 2100, 2, 29, 0, 0, 0, 0, 0 } },
        { S("[1900.02.29] 00:00:00 100 rule"), 22, { 1, 1900, 2, 29, 0, 0, 0, 0, 0 } },
        { S("[1969.12.31] 23:59:59 before 1970"), 22, { 1, 1969, 12, 31, 23, 59, 59, 0, 0 } },
        { S("[2026.04.31] 00:00:00 x"), 22, { 1, 2026, 4, 31, 0, 0, 0, 0, 0 } },
        { S("[2026.13.01] 00:00:00 x"), 22, { 1, 2026, 13, 1, 0, 0, 0, 0, 0 } },
        { S("[2026.00.10] 00:00:00 x"), 22, { 1, 2026, 0, 10, 0, 0, 0, 0, 0 } },
        { S("[2026.01.00] 00:00:00 x"), 22, { 1, 2026, 1, 0, 0, 0, 0, 0, 0 } },
        /* not stamps: continuation lines and other text */
        { S(""), 0, { 0 } },
        { S("hello"), 0, { 0 } },
        { S("   at System.Net.Sockets.Socket.Bind(EndPoint localEP)"), 0, { 0 } },
        { S("\tBrute force attempts increased to 2 of 10"), 0, { 0 } },
        { S(" 12:34:56.789 leading space"), 0, { 0 } },
        { S("1:02:03.000 one-digit hour"), 0, { 0 } },
        { S("12:34:5 x"), 0, { 0 } },
        { S("12:34:56x"), 0, { 0 } },
        { S("12:34:56.789x"), 0, { 0 } },
        { S("12:34:56. x"), 0, { 0 } },
        { S("12:34:56:789 x"), 0, { 0 } },
        { S("12-34-56 x"), 0, { 0 } },
        { S("1a:34:56 x"), 0, { 0 } },
        { S("12:34"), 0, { 0 } },
        { S("[2026.02.18]01:27:54 x"), 0, { 0 } },
        { S("[2026.02.18] x"), 0, { 0 } },
        { S("[2026.2.18] 01:27:54 x"), 0, { 0 } },
        { S("[2026-02-18] 01:27:54 x"), 0, { 0 } },
        { S("[2026.02.18 01:27:54 x"), 0, { 0 } },
        { S("[203.0.113.9][41200377] cmd: EHLO"), 0, { 0 } },
        { S("[2026.02.18]"), 0, { 0 } },
        { S("[2026.02.18] "), 0, { 0 } },
        /* input cut short (each row is read from an allocation of exactly
         * its length, so a read past the end shows under ASan) */
        { S("12:34:56.7"), 10, { 0, 0, 0, 0, 12, 34, 56, 700, 1 } },
        { S("12:34:56."), 0, { 0 } },
        { S("12:34:5"), 0, { 0 } },
        { S("1"), 0, { 0 } },
        { S("["), 0, { 0 } },
        { S("[2026.02.1"), 0, { 0 } },
        { S("[2026.02.18] 01:27:5"), 0, { 0 } },
        { S("[2026.02.18] 01:27:54."), 0, { 0 } },
};

static void stamp_text(const struct stamp *st, char *out, size_t n)
{
        snprintf(out, n, "{date %d: %d.%d.%d %d:%d:%d.%d valid %d}", st->has_date, st->y, st->mo,
                 st->d, st->h, st->mi, st->s, st->ms, st->valid);
}

static void test_stamp_parse(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(parse_rows); i++) {
                const struct parse_row *row = &parse_rows[i];
                /* an exact-size copy: a read past n shows under ASan */
                char *in = malloc(row->in.len ? row->in.len : 1);
                struct stamp got = { .y = -1 }, before;
                char a[128], b[128], what[160];
                size_t len;

                assert_non_null(in);
                memcpy(in, row->in.p, row->in.len);
                before = got;
                len = stamp_parse(in, row->in.len, &got);
                tu_escape(row->in.p, row->in.len, what, sizeof(what));
                if (len != row->want_len) {
                        print_error("\"%s\": prefix %zu, want %zu\n", what, len, row->want_len);
                        fail();
                }
                /* a line without a stamp leaves ret untouched */
                stamp_text(len ? &row->want : &before, a, sizeof(a));
                stamp_text(&got, b, sizeof(b));
                tu_str_equal(what, a, b);
                free(in);
        }
}

/* ---- dates ------------------------------------------------------------- */

struct date_row {
        const char *in;         /* YYYY.MM.DD */
        int want_rc;            /* stamp_parse_date */
        int valid;              /* stamp_date_valid */
        int64_t days;           /* since 1970-01-01, when valid */
};

static const struct date_row date_rows[] = {
        { "1970.01.01", 0, 1, 0 },
        { "1970.01.02", 0, 1, 1 },
        { "2000.02.29", 0, 1, 11016 },
        { "2000.03.01", 0, 1, 11017 },
        { "2024.02.29", 0, 1, 19782 },
        { "2026.03.08", 0, 1, 20520 },
        { "9999.12.31", 0, 1, 2932896 },
        { "2023.02.29", 0, 0, 0 },
        { "2100.02.29", 0, 0, 0 },
        { "1900.02.29", 0, 0, 0 },
        { "1969.12.31", 0, 0, 0 },      /* before the epoch: not a log date */
        { "2026.06.31", 0, 0, 0 },
        { "2026.12.32", 0, 0, 0 },
        { "9999.99.99", 0, 0, 0 },
        { "0000.00.00", 0, 0, 0 },
        { "2026-09-18", -EINVAL, 0, 0 },
        { "2026.9.18", -EINVAL, 0, 0 },
        { "2026.09.1", -EINVAL, 0, 0 },
        { "2026.09.18x", -EINVAL, 0, 0 },
        { "20x6.09.18", -EINVAL, 0, 0 },
        { "", -EINVAL, 0, 0 },
};

static void test_stamp_dates(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(date_rows); i++) {
                const struct date_row *row = &date_rows[i];
                int y = -1, mo = -1, d = -1, rc;

                rc = stamp_parse_date(row->in, strlen(row->in), &y, &mo, &d);
                if (rc != row->want_rc) {
                        print_error("%s: stamp_parse_date %d, want %d\n", row->in, rc, row->want_rc);
                        fail();
                }
                if (rc < 0)
                        continue;
                if (stamp_date_valid(y, mo, d) != row->valid) {
                        print_error("%s: stamp_date_valid %d, want %d\n", row->in,
                                    stamp_date_valid(y, mo, d), row->valid);
                        fail();
                }
                if (row->valid && stamp_days_from_civil(y, mo, d) != row->days) {
                        print_error("%s: %lld days, want %lld\n", row->in,
                                    (long long)stamp_days_from_civil(y, mo, d),
                                    (long long)row->days);
                        fail();
                }
        }
}

/* civil_from_days inverts days_from_civil, and consecutive days are
 * consecutive dates, from 0000-03-01 to 9999-12-31 and a little around. */
static void test_stamp_civil_round_trip(void **state)
{
        int py, pmo, pd;

        (void)state;
        stamp_civil_from_days(-719469, &py, &pmo, &pd);
        assert_int_equal(py, 0);
        assert_int_equal(pmo, 2);
        assert_int_equal(pd, 29);       /* year 0 is a leap year */
        for (int64_t z = -719468; z <= 2932897; z++) {
                int y, mo, d;

                stamp_civil_from_days(z, &y, &mo, &d);
                if (stamp_days_from_civil(y, mo, d) != z) {
                        print_error("day %lld -> %d-%d-%d -> %lld\n", (long long)z, y, mo, d,
                                    (long long)stamp_days_from_civil(y, mo, d));
                        fail();
                }
                if (!((y == py && mo == pmo && d == pd + 1) ||
                      (y == py && mo == pmo + 1 && d == 1) ||
                      (y == py + 1 && mo == 1 && d == 1 && pmo == 12 && pd == 31))) {
                        print_error("day %lld: %d-%d-%d follows %d-%d-%d\n", (long long)z, y, mo,
                                    d, py, pmo, pd);
                        fail();
                }
                if (y >= 1970 && y <= 9999 && !stamp_date_valid(y, mo, d)) {
                        print_error("%d-%d-%d not valid\n", y, mo, d);
                        fail();
                }
                py = y;
                pmo = mo;
                pd = d;
        }
}

struct format_row {
        int64_t ms;
        const char *want;
};

static const struct format_row format_rows[] = {
        { 0, "1970-01-01T00:00:00.000Z" },
        { 1, "1970-01-01T00:00:00.001Z" },
        { 999, "1970-01-01T00:00:00.999Z" },
        { 1000, "1970-01-01T00:00:01.000Z" },
        { 86399999, "1970-01-01T23:59:59.999Z" },
        { 951782400000, "2000-02-29T00:00:00.000Z" },
        { 1709164800123, "2024-02-29T00:00:00.123Z" },
        { 1789000000000, "2026-09-10T00:26:40.000Z" },
        { 253402300799999, "9999-12-31T23:59:59.999Z" },
        { -1, "1969-12-31T23:59:59.999Z" },
        { -999, "1969-12-31T23:59:59.001Z" },
        { -1000, "1969-12-31T23:59:59.000Z" },
        { -1001, "1969-12-31T23:59:58.999Z" },
        { -86400000, "1969-12-31T00:00:00.000Z" },
};

static void test_stamp_format_utc(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(format_rows); i++) {
                char out[25];

                memset(out, '#', sizeof(out));
                stamp_format_utc(format_rows[i].ms, out);
                assert_int_equal(out[24], '#');         /* 24 bytes, no NUL */
                tu_bytes_equal(format_rows[i].want, format_rows[i].want, 24, out, 24);
        }
}

/* ---- local -> UTC ------------------------------------------------------ */

struct tz_row {
        const char *zone;
        int y, mo, d, h, mi, s;
        const char *first, *second;     /* UTC; second NULL: same as first */
};

static const struct tz_row tz_rows[] = {
        { "America/Chicago", 2026, 1, 15, 12, 0, 0, "2026-01-15T18:00:00.000Z", NULL },
        { "America/Chicago", 2026, 7, 4, 12, 0, 0, "2026-07-04T17:00:00.000Z", NULL },
        /* spring forward: 02:00 -> 03:00 CDT; the gap reads as CST */
        { "America/Chicago", 2026, 3, 8, 1, 59, 59, "2026-03-08T07:59:59.000Z", NULL },
        { "America/Chicago", 2026, 3, 8, 2, 0, 0, "2026-03-08T08:00:00.000Z", NULL },
        { "America/Chicago", 2026, 3, 8, 2, 30, 0, "2026-03-08T08:30:00.000Z", NULL },
        { "America/Chicago", 2026, 3, 8, 2, 59, 59, "2026-03-08T08:59:59.000Z", NULL },
        { "America/Chicago", 2026, 3, 8, 3, 0, 0, "2026-03-08T08:00:00.000Z", NULL },
        /* fall back: 01:00-02:00 happens twice */
        { "America/Chicago", 2026, 11, 1, 0, 59, 59, "2026-11-01T05:59:59.000Z", NULL },
        { "America/Chicago", 2026, 11, 1, 1, 0, 0, "2026-11-01T06:00:00.000Z",
          "2026-11-01T07:00:00.000Z" },
        { "America/Chicago", 2026, 11, 1, 1, 30, 0, "2026-11-01T06:30:00.000Z",
          "2026-11-01T07:30:00.000Z" },
        { "America/Chicago", 2026, 11, 1, 1, 59, 59, "2026-11-01T06:59:59.000Z",
          "2026-11-01T07:59:59.000Z" },
        { "America/Chicago", 2026, 11, 1, 2, 0, 0, "2026-11-01T08:00:00.000Z", NULL },
        { "Europe/Berlin", 2026, 1, 15, 12, 0, 0, "2026-01-15T11:00:00.000Z", NULL },
        { "Europe/Berlin", 2026, 7, 15, 12, 0, 0, "2026-07-15T10:00:00.000Z", NULL },
        { "Europe/Berlin", 2026, 3, 29, 1, 59, 59, "2026-03-29T00:59:59.000Z", NULL },
        { "Europe/Berlin", 2026, 3, 29, 2, 0, 0, "2026-03-29T01:00:00.000Z", NULL },
        { "Europe/Berlin", 2026, 3, 29, 2, 30, 0, "2026-03-29T01:30:00.000Z", NULL },
        { "Europe/Berlin", 2026, 3, 29, 3, 0, 0, "2026-03-29T01:00:00.000Z", NULL },
        { "Europe/Berlin", 2026, 10, 25, 1, 59, 59, "2026-10-24T23:59:59.000Z", NULL },
        { "Europe/Berlin", 2026, 10, 25, 2, 0, 0, "2026-10-25T00:00:00.000Z",
          "2026-10-25T01:00:00.000Z" },
        { "Europe/Berlin", 2026, 10, 25, 2, 30, 0, "2026-10-25T00:30:00.000Z",
          "2026-10-25T01:30:00.000Z" },
        { "Europe/Berlin", 2026, 10, 25, 2, 59, 59, "2026-10-25T00:59:59.000Z",
          "2026-10-25T01:59:59.000Z" },
        { "Europe/Berlin", 2026, 10, 25, 3, 0, 0, "2026-10-25T02:00:00.000Z", NULL },
        /* half-hour daylight saving */
        { "Australia/Lord_Howe", 2026, 4, 5, 1, 29, 59, "2026-04-04T14:29:59.000Z", NULL },
        { "Australia/Lord_Howe", 2026, 4, 5, 1, 30, 0, "2026-04-04T14:30:00.000Z",
          "2026-04-04T15:00:00.000Z" },
        { "Australia/Lord_Howe", 2026, 4, 5, 1, 59, 59, "2026-04-04T14:59:59.000Z",
          "2026-04-04T15:29:59.000Z" },
        { "Australia/Lord_Howe", 2026, 4, 5, 2, 0, 0, "2026-04-04T15:30:00.000Z", NULL },
        { "Australia/Lord_Howe", 2026, 10, 4, 1, 59, 59, "2026-10-03T15:29:59.000Z", NULL },
        { "Australia/Lord_Howe", 2026, 10, 4, 2, 0, 0, "2026-10-03T15:30:00.000Z", NULL },
        { "Australia/Lord_Howe", 2026, 10, 4, 2, 15, 0, "2026-10-03T15:45:00.000Z", NULL },
        { "Australia/Lord_Howe", 2026, 10, 4, 2, 29, 59, "2026-10-03T15:59:59.000Z", NULL },
        { "Australia/Lord_Howe", 2026, 10, 4, 2, 30, 0, "2026-10-03T15:30:00.000Z", NULL },
        { "UTC", 2026, 3, 8, 2, 30, 0, "2026-03-08T02:30:00.000Z", NULL },
        { "UTC", 1970, 1, 1, 0, 0, 0, "1970-01-01T00:00:00.000Z", NULL },
        { "Asia/Tokyo", 1970, 1, 1, 0, 0, 0, "1969-12-31T15:00:00.000Z", NULL },
};

static void check_utc(const struct tz_row *row, const char *which, int64_t sec,
                      const char *want)
{
        char got[24], what[96];

        snprintf(what, sizeof(what), "%s %04d-%02d-%02d %02d:%02d:%02d %s", row->zone, row->y,
                 row->mo, row->d, row->h, row->mi, row->s, which);
        stamp_format_utc(sec * 1000, got);
        tu_bytes_equal(what, want, 24, got, 24);
}

/* Every row, with one tz_init per run of rows of the same zone; the second
 * run goes backwards, so cached quarter hours are met in another order. */
static void run_tz_rows(int backwards)
{
        struct tz_conv *tz = malloc(sizeof(*tz));
        const char *zone = NULL;

        assert_non_null(tz);
        for (size_t k = 0; k < ARRAY_SIZE(tz_rows); k++) {
                const struct tz_row *row = &tz_rows[backwards ? ARRAY_SIZE(tz_rows) - 1 - k : k];
                int64_t local, first = 0, second = 0;

                if (!zone || strcmp(zone, row->zone) != 0) {
                        assert_int_equal(tz_init(tz, row->zone), 0);
                        tu_str_equal(row->zone, row->zone, tz->zone);
                        zone = row->zone;
                }
                local = stamp_days_from_civil(row->y, row->mo, row->d) * 86400 +
                        row->h * 3600 + row->mi * 60 + row->s;
                tz_local_to_utc(tz, local, &first, &second);
                check_utc(row, "first", first, row->first);
                check_utc(row, "second", second, row->second ? row->second : row->first);
        }
        free(tz);
}

static void test_tz_local_to_utc(void **state)
{
        (void)state;
        run_tz_rows(0);
        run_tz_rows(1);
}

struct tz_init_row {
        const char *zone;
        int want_rc;
};

static const struct tz_init_row tz_init_rows[] = {
        { "America/Chicago", 0 },
        { "Europe/Berlin", 0 },
        { "UTC", 0 },
        { "/usr/share/zoneinfo/Europe/Berlin", 0 },
        { "Nowhere/Zone", -ENOENT },
        { "America/Chicag", -ENOENT },
        { "../../etc/passwd", -ENOENT },
        { "/nonexistent/zone", -ENOENT },
        /* exist, but no compiled zone: glibc would read them as UTC */
        { "America", -ENOENT },
        { "zone.tab", -ENOENT },
        { "/etc/passwd", -ENOENT },
        { "/usr/share/zoneinfo", -ENOENT },
        { "", 0 },              /* the system zone */
        { NULL, 0 },
};

static void test_tz_init(void **state)
{
        struct tz_conv *tz = malloc(sizeof(*tz));

        (void)state;
        assert_non_null(tz);
        for (size_t i = 0; i < ARRAY_SIZE(tz_init_rows); i++) {
                const struct tz_init_row *row = &tz_init_rows[i];
                int rc = tz_init(tz, row->zone);

                if (rc != row->want_rc) {
                        print_error("tz_init(%s) = %d, want %d\n", row->zone ? row->zone : "NULL",
                                    rc, row->want_rc);
                        fail();
                }
                if (rc == 0)
                        assert_true(tz->zone[0] != '\0');
                if (rc == 0 && row->zone && row->zone[0])
                        tu_str_equal(row->zone, row->zone, tz->zone);
        }
        free(tz);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_stamp_parse),
                cmocka_unit_test(test_stamp_dates),
                cmocka_unit_test(test_stamp_civil_round_trip),
                cmocka_unit_test(test_stamp_format_utc),
                cmocka_unit_test(test_tz_local_to_utc),
                cmocka_unit_test(test_tz_init),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
