/* SPDX-License-Identifier: MIT */
/* Time-stamp prefixes, the dates and times written inside a line, and
 * local -> UTC conversion. Conversion asks libc (mktime/localtime_r under
 * TZ) once per quarter hour of wall time and keeps the answer in a small
 * direct-mapped cache, since logs move forward in time; every zone in
 * tzdata changes offset on a quarter hour. */
#include "core/stamp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static inline int dig(char c)
{
        return c >= '0' && c <= '9';
}

static inline int num2(const char *p)
{
        return (p[0] - '0') * 10 + (p[1] - '0');
}

/* "HH:MM:SS" then optional ".m", ".mm" or ".mmm". Returns bytes used or 0. */
static size_t parse_clock(const char *p, size_t n, struct stamp *st)
{
        size_t i;

        if (n < 8 || !dig(p[0]) || !dig(p[1]) || p[2] != ':' || !dig(p[3]) ||
            !dig(p[4]) || p[5] != ':' || !dig(p[6]) || !dig(p[7]))
                return 0;
        st->h = num2(p);
        st->mi = num2(p + 3);
        st->s = num2(p + 6);
        st->ms = 0;
        i = 8;
        if (i + 1 < n && p[i] == '.' && dig(p[i + 1])) {
                int scale = 100;
                size_t first = i + 1;
                for (i++; i < n && dig(p[i]); i++) {
                        /* a longer run is no clock's; bounding it also lets
                         * frame.c classify a line cut at its ceiling as it
                         * would the whole line */
                        if (i - first == STAMP_FRACTION_DIGITS_MAX)
                                return 0;
                        /* more than three digits: keep milliseconds */
                        if (scale >= 1)
                                st->ms += (p[i] - '0') * scale;
                        scale /= 10;
                }
        }
        return i;
}

size_t stamp_parse(const char *p, size_t n, struct stamp *ret)
{
        struct stamp st = { 0 };
        size_t i = 0, c;

        if (n > 0 && p[0] == '[') {
                if (n < 13 || p[11] != ']' || p[12] != ' ' ||
                    stamp_parse_date(p + 1, 10, &st.y, &st.mo, &st.d) == -EINVAL)
                        return 0;
                st.has_date = 1;
                i = 13;
        }
        c = parse_clock(p + i, n - i, &st);
        if (!c)
                return 0;
        i += c;
        /* the prefix ends at a space, or at the end of the line: of p, or
         * a '\n' in a record of several lines (frame.c saw a stamp there) */
        if (i < n && p[i] != ' ' && p[i] != '\t' && p[i] != '\n')
                return 0;
        if (i < n && p[i] != '\n')
                i++;
        st.valid = st.h < 24 && st.mi < 60 && st.s < 60 &&
                   (!st.has_date || stamp_date_valid(st.y, st.mo, st.d));
        *ret = st;
        return i;
}

int stamp_parse_date(const char *p, size_t n, int *y, int *mo, int *d)
{
        if (n != 10 || !dig(p[0]) || !dig(p[1]) || !dig(p[2]) || !dig(p[3]) ||
            p[4] != '.' || !dig(p[5]) || !dig(p[6]) || p[7] != '.' ||
            !dig(p[8]) || !dig(p[9]))
                return -EINVAL;
        *y = num2(p) * 100 + num2(p + 2);
        *mo = num2(p + 5);
        *d = num2(p + 8);
        /* shape is right; the caller checks the range with stamp_date_valid */
        return 0;
}

int stamp_date_valid(int y, int mo, int d)
{
        static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

        if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1)
                return 0;
        return d <= mdays[mo - 1] + (mo == 2 && leap);
}

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t stamp_days_from_civil(int y, int mo, int d)
{
        int64_t yy = y - (mo <= 2);
        int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
        int64_t yoe = yy - era * 400;
        int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

        return era * 146097 + doe - 719468;
}

void stamp_civil_from_days(int64_t z, int *y, int *mo, int *d)
{
        int64_t era, doe, yoe, doy, mp;

        z += 719468;
        era = (z >= 0 ? z : z - 146096) / 146097;
        doe = z - era * 146097;
        yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        mp = (5 * doy + 2) / 153;
        *d = (int)(doy - (153 * mp + 2) / 5 + 1);
        *mo = (int)(mp < 10 ? mp + 3 : mp - 9);
        *y = (int)(yoe + era * 400 + (*mo <= 2));
}

static void put2(char *o, int v)
{
        o[0] = (char)('0' + v / 10);
        o[1] = (char)('0' + v % 10);
}

void stamp_format_utc(int64_t ms, char out[24])
{
        int64_t sec = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
        int64_t days = sec >= 0 ? sec / 86400 : (sec - 86399) / 86400;
        int64_t tod = sec - days * 86400;
        int msec = (int)(ms - sec * 1000);
        int y, mo, d;

        stamp_civil_from_days(days, &y, &mo, &d);
        if (y < 0 || y > 9999)
                y = y < 0 ? 0 : 9999;
        put2(out, y / 100);
        put2(out + 2, y % 100);
        out[4] = '-';
        put2(out + 5, mo);
        out[7] = '-';
        put2(out + 8, d);
        out[10] = 'T';
        put2(out + 11, (int)(tod / 3600));
        out[13] = ':';
        put2(out + 14, (int)(tod / 60 % 60));
        out[16] = ':';
        put2(out + 17, (int)(tod % 60));
        out[19] = '.';
        out[20] = (char)('0' + msec / 100);
        put2(out + 21, msec % 100);
        out[23] = 'Z';
}

/* Whether path is a compiled zone: a regular file that begins with the
 * TZif magic. glibc reads any other file named by TZ (a directory such as
 * "America", zone.tab, /etc/passwd) as no zone at all and silently uses
 * UTC, which would put every record hours off. */
static int is_zone_file(const char *path)
{
        char magic[4];
        struct stat st;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        int ok;

        if (fd < 0)
                return 0;
        ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
             pread(fd, magic, sizeof(magic), 0) == (ssize_t)sizeof(magic) &&
             memcmp(magic, "TZif", sizeof(magic)) == 0;
        close(fd);
        return ok;
}

static int zone_exists(const char *zone)
{
        static const char *const dirs[] = { "/usr/share/zoneinfo", "/usr/lib/zoneinfo",
                                            "/usr/share/lib/zoneinfo" };
        char path[512];
        const char *env = getenv("TZDIR");

        if (zone[0] == '/' )
                return is_zone_file(zone);
        if (strstr(zone, ".."))
                return 0;
        if (env && env[0]) {
                snprintf(path, sizeof(path), "%s/%s", env, zone);
                if (is_zone_file(path))
                        return 1;
        }
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
                snprintf(path, sizeof(path), "%s/%s", dirs[i], zone);
                if (is_zone_file(path))
                        return 1;
        }
        return 0;
}

int tz_init(struct tz_conv *tz, const char *zone)
{
        memset(tz, 0, sizeof(*tz));
        for (size_t i = 0; i < TZ_CACHE_SLOTS; i++)
                tz->slot[i].key = INT64_MIN;
        if (zone && zone[0]) {
                if (!zone_exists(zone))
                        return -ENOENT;
                setenv("TZ", zone, 1);
                snprintf(tz->zone, sizeof(tz->zone), "%s", zone);
        } else {
                /* the system zone: /etc/timezone names it on Debian */
                FILE *f = fopen("/etc/timezone", "r");
                const char *env = getenv("TZ");

                if (env && env[0])
                        snprintf(tz->zone, sizeof(tz->zone), "%s", env[0] == ':' ? env + 1 : env);
                else if (f && fgets(tz->zone, sizeof(tz->zone), f))
                        tz->zone[strcspn(tz->zone, "\r\n")] = '\0';
                else
                        snprintf(tz->zone, sizeof(tz->zone), "UTC");
                if (f)
                        fclose(f);
        }
        tzset();
        return 0;
}

int stamp_local_tm(int64_t utc_sec, struct tm *ret)
{
        time_t t = (time_t)utc_sec;

        return localtime_r(&t, ret) ? 0 : -EOVERFLOW;
}

/* mktime with a given isdst, kept only if it names the same wall time. */
static int try_mktime(const struct tm *want, int isdst, time_t *ret)
{
        struct tm tm = *want, back;
        time_t t;

        tm.tm_isdst = isdst;
        t = mktime(&tm);
        if (t == (time_t)-1 || !localtime_r(&t, &back))
                return 0;
        if (back.tm_year != want->tm_year || back.tm_mon != want->tm_mon ||
            back.tm_mday != want->tm_mday || back.tm_hour != want->tm_hour ||
            back.tm_min != want->tm_min || back.tm_sec != want->tm_sec)
                return 0;
        *ret = t;
        return 1;
}

static void slot_fill(struct tz_slot *sl, int64_t key)
{
        int64_t local = key * 900;
        int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
        int64_t tod = local - days * 86400;
        struct tm tm = { 0 };
        time_t a = 0, b = 0;
        int ha, hb;
        int y, mo, d;

        stamp_civil_from_days(days, &y, &mo, &d);
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = (int)(tod / 3600);
        tm.tm_min = (int)(tod / 60 % 60);
        ha = try_mktime(&tm, 1, &a);
        hb = try_mktime(&tm, 0, &b);
        if (ha && hb && a != b) {
                sl->off_first = (int32_t)(local - (a < b ? a : b));
                sl->off_second = (int32_t)(local - (a < b ? b : a));
        } else if (ha || hb) {
                sl->off_first = sl->off_second = (int32_t)(local - (ha ? a : b));
        } else {
                /* skipped by a spring-forward: the offset of the quarter
                 * hour before the gap, which is what the clock meant */
                struct tz_slot prev;

                slot_fill(&prev, key - 4);
                sl->off_first = sl->off_second = prev.off_first;
        }
        sl->key = key;
}

void tz_local_to_utc(struct tz_conv *tz, int64_t local_sec,
                     int64_t *ret_first, int64_t *ret_second)
{
        int64_t key = local_sec >= 0 ? local_sec / 900 : (local_sec - 899) / 900;
        struct tz_slot *sl = &tz->slot[(uint64_t)key % TZ_CACHE_SLOTS];

        if (sl->key != key)
                slot_fill(sl, key);
        *ret_first = local_sec - sl->off_first;
        *ret_second = local_sec - sl->off_second;
}

/* ---- dates and times written inside a line ------------------------------ */

/* Up to three numbers of at most max_digits digits each, separated by sep,
 * into v. Returns how many were read; *ret_i is where reading stopped and
 * ret_digits[k] the digits of number k. */
static int text_fields(const char *p, size_t n, char sep, int max_digits, int v[3],
                       int ret_digits[3], size_t *ret_i)
{
        int f = 0;
        size_t i = 0;

        v[0] = v[1] = v[2] = 0;
        ret_digits[0] = ret_digits[1] = ret_digits[2] = 0;
        for (; i < n; i++) {
                if (dig(p[i]) && ret_digits[f] < max_digits) {
                        v[f] = v[f] * 10 + (p[i] - '0');
                        ret_digits[f]++;
                } else if (p[i] == sep && ret_digits[f] && f < 2 && i + 1 < n && dig(p[i + 1])) {
                        f++;
                } else {
                        break;
                }
        }
        *ret_i = i;
        return ret_digits[f] ? f + 1 : f;
}

/* "AM"/"PM" (any case) applied to a 12-hour *hour. */
static int apply_ampm(const char *p, size_t n, int *hour)
{
        if (n != 2 || (p[1] | 0x20) != 'm' || *hour < 1 || *hour > 12)
                return -EINVAL;
        if ((p[0] | 0x20) == 'a')
                *hour = *hour == 12 ? 0 : *hour;
        else if ((p[0] | 0x20) == 'p')
                *hour = *hour == 12 ? 12 : *hour + 12;
        else
                return -EINVAL;
        return 0;
}

/* ".f", ".ff", ... after the seconds (at most STAMP_FRACTION_DIGITS_MAX
 * digits): milliseconds into *ms; returns the bytes used (0 without one). */
static size_t text_fraction(const char *p, size_t n, int *ms)
{
        size_t i = 1;
        int scale = 100;

        *ms = 0;
        if (n < 2 || p[0] != '.' || !dig(p[1]))
                return 0;
        for (; i < n && dig(p[i]); i++, scale /= 10) {
                if (i > STAMP_FRACTION_DIGITS_MAX)
                        return 0;
                *ms += (p[i] - '0') * scale;
        }
        return i;
}

int stamp_text_clock(const char *p, size_t n, int *ret_sec, int *ret_ms)
{
        int v[3], digits[3], ms = 0;
        size_t i, f;

        if (text_fields(p, n, ':', 2, v, digits, &i) != 3 || digits[1] != 2 || digits[2] != 2)
                return -EINVAL;
        if (i < n && p[i] == '.') {
                if (!(f = text_fraction(p + i, n - i, &ms)))
                        return -EINVAL;
                i += f;
        }
        while (i < n && p[i] == ' ')
                i++;
        if (i < n && apply_ampm(p + i, n - i, &v[0]) < 0)
                return -EINVAL;
        if (v[0] > 23 || v[1] > 59 || v[2] > 59)
                return -EINVAL;
        *ret_sec = v[0] * 3600 + v[1] * 60 + v[2];
        *ret_ms = ms;
        return 0;
}

/* Of the two readings of a date whose first two numbers are both 12 or
 * less, 1 for month-first, 0 for day-first (docs/parsing.md, "Dates inside
 * a line"): the one that is the record's day or the day before it, else
 * the nearer to the record's day, else the custom of the separator. Two
 * readings are never a day apart (their months differ and their days are
 * at most 12), so the first test never finds both. */
static int month_first(int y, int a, int b, char sep, const struct stamp_day *day)
{
        int64_t md = stamp_days_from_civil(y, a, b), dm = stamp_days_from_civil(y, b, a);

        if (day && day->known) {
                int md_hit = md == day->day || md == day->day - 1;
                int dm_hit = dm == day->day || dm == day->day - 1;
                int64_t md_far = md > day->day ? md - day->day : day->day - md;
                int64_t dm_far = dm > day->day ? dm - day->day : day->day - dm;

                if (md_hit != dm_hit)
                        return md_hit;
                if (md_far != dm_far)
                        return md_far < dm_far;
        }
        /* en-US and the invariant culture write '/' month-first; the
         * cultures that write '-' or '.' put the day first */
        return sep == '/';
}

/* The date part: fills y/mo/d and returns the bytes used, or 0. */
static size_t text_date(const char *p, size_t n, const struct stamp_day *day, int *y, int *mo,
                        int *d)
{
        int v[3], digits[3], a, b;
        size_t i;
        char sep;

        if (n < 8)
                return 0;
        sep = dig(p[1]) ? (dig(p[2]) ? p[4] : p[2]) : p[1];
        if (sep != '/' && sep != '-' && sep != '.')
                return 0;
        if (text_fields(p, n, sep, 4, v, digits, &i) != 3)
                return 0;
        if (digits[0] == 4 && digits[1] <= 2 && digits[2] <= 2) {
                *y = v[0], *mo = v[1], *d = v[2];     /* ISO, year first */
                return i;
        }
        if (digits[0] > 2 || digits[1] > 2 || digits[2] != 4)
                return 0;
        a = v[0], b = v[1];
        *y = v[2];
        if (a > 12 && b > 12)
                return 0;
        if (a > 12 || (b <= 12 && !month_first(*y, a, b, sep, day)))
                *mo = b, *d = a;
        else
                *mo = a, *d = b;
        return i;
}

int stamp_text_datetime(const char *p, size_t n, const struct stamp_day *day, int64_t *ret_ms)
{
        int y, mo, d, sec, ms;
        size_t i = text_date(p, n, day, &y, &mo, &d);

        if (!i || i >= n || (p[i] != ' ' && p[i] != 'T') || !stamp_date_valid(y, mo, d))
                return -EINVAL;
        if (stamp_text_clock(p + i + 1, n - i - 1, &sec, &ms) < 0)
                return -EINVAL;
        *ret_ms = (stamp_days_from_civil(y, mo, d) * 86400 + sec) * 1000 + ms;
        return 0;
}
