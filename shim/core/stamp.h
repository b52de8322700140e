/* SPDX-License-Identifier: MIT */
/* Time stamps: the two line prefixes ("HH:MM:SS.mmm " on disk and
 * "[YYYY.MM.DD] HH:MM:SS[.mmm] " from the viewer), the dates and times a
 * line's text carries (in each culture's form), civil-date arithmetic, and
 * local wall time <-> UTC in the zone the logs were written in, cached per
 * quarter hour. It knows nothing of files or records.
 *
 * The zone is the whole process's: tz_init sets TZ (glibc converts in no
 * other zone than the process's, and has no call that takes one). So every
 * conversion between UTC and local time in shim/ goes through this file:
 * tz_local_to_utc one way, stamp_local_tm the other; nothing else calls
 * localtime_r, mktime or tzset, or formats a %z or %Z. */
#ifndef SHIM_STAMP_H
#define SHIM_STAMP_H

#include <stddef.h>
#include <stdint.h>

/* Digits after the seconds, nanoseconds at most: a line whose run is longer
 * has no time stamp. A prefix is then at most 32 bytes long. */
#define STAMP_FRACTION_DIGITS_MAX 9

struct stamp {
        int has_date;           /* viewer form: y/mo/d are set */
        int y, mo, d;
        int h, mi, s, ms;
        int valid;              /* fields are in range (25:61:61 is not) */
};

/* Parse a time prefix at p[0..n). Returns the prefix length including the
 * one space (or TAB) that follows it; a '\n' that follows it, in a record of
 * several lines, is left to the body. Returns 0 when the line carries no
 * time stamp (then it is a continuation line) and leaves ret alone. A
 * prefix whose digits are out of range still counts as a prefix;
 * ret->valid tells. */
size_t stamp_parse(const char *p, size_t n, struct stamp *ret);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t stamp_days_from_civil(int y, int mo, int d);
void stamp_civil_from_days(int64_t days, int *y, int *mo, int *d);
int stamp_date_valid(int y, int mo, int d);

/* Parse "YYYY.MM.DD" (exactly 10 bytes). Returns 0 or -EINVAL. */
int stamp_parse_date(const char *p, size_t n, int *y, int *mo, int *d);

/* Format ms since the epoch (UTC) as "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 bytes,
 * no NUL). */
void stamp_format_utc(int64_t ms, char out[24]);

/* UTC seconds as the wall time of the zone tz_init selected (the system's
 * before it). Returns 0, or -EOVERFLOW for a time libc cannot represent. */
struct tm;
int stamp_local_tm(int64_t utc_sec, struct tm *ret);

/* A time of day written inside a line: "h:mm:ss" or "hh:mm:ss", then an
 * optional fraction (".123"), then an optional "AM"/"PM" (any case, after
 * blanks), and nothing else. *ret_sec gets the seconds of the day,
 * *ret_ms the milliseconds. Returns 0 or -EINVAL. */
int stamp_text_clock(const char *p, size_t n, int *ret_sec, int *ret_ms);

/* The record's day, which decides a date inside it that reads two ways. */
struct stamp_day {
        int known;
        int64_t day;            /* days since the epoch */
};

/* A date and time written inside a line, in each form SmarterMail writes
 * by the server's culture: month-first "M/D/YYYY" (en-US, invariant),
 * day-first "D/M/YYYY", "D-M-YYYY", "D.M.YYYY", and year-first
 * "YYYY-MM-DD" (also with '/' or '.'), then a blank (or 'T') and a clock
 * as stamp_text_clock reads it. A number over 12 tells which is the day;
 * when both are 12 or less, month_first in stamp.c decides with day (NULL
 * or unknown: by the separator), as docs/parsing.md says. *ret_ms gets
 * local wall time in ms since the epoch read as UTC. Returns 0 or
 * -EINVAL. */
int stamp_text_datetime(const char *p, size_t n, const struct stamp_day *day, int64_t *ret_ms);

#define TZ_CACHE_SLOTS 64

struct tz_slot {
        int64_t key;            /* local seconds / 900, or INT64_MIN */
        int32_t off_first;      /* UTC = local - off; the earlier instant */
        int32_t off_second;     /* == off_first unless the hour repeats */
};

/* Local -> UTC conversion in the zone named by TZ at tz_init time. */
struct tz_conv {
        char zone[128];
        struct tz_slot slot[TZ_CACHE_SLOTS];
};

/* Select the IANA zone (NULL or "" = the system zone, /etc/localtime) for
 * the whole process (it sets TZ). Returns -ENOENT when the zone has no
 * compiled zone file (TZif) under the zoneinfo directories, or when an
 * absolute path names none: a directory, a table or any other file would
 * be read by glibc as UTC without a word. */
int tz_init(struct tz_conv *tz, const char *zone);

/* Local wall time, as seconds since the epoch read as if it were UTC, to
 * true UTC seconds. In the repeated hour after a fall-back both instants are
 * possible: ret_first gets the earlier one, ret_second the later (equal
 * outside the repeated hour). A wall time in the skipped hour of a
 * spring-forward is read with the offset in force before the jump. */
void tz_local_to_utc(struct tz_conv *tz, int64_t local_sec,
                     int64_t *ret_first, int64_t *ret_second);

#endif
