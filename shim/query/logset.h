/* SPDX-License-Identifier: MIT */
/* The log files search and report read: a directory's YYYY.MM.DD-TYPE.log
 * files and the maintenance task's YYYY.MM.DD-TYPE.log.zip archives (or the
 * files named on the command line), chosen by type and date and put in date
 * order; their bytes, mapped or unpacked with libzip; and the local-time
 * arithmetic that goes with them (--from/--to, the lines of a day's file
 * that run past midnight). It does not parse records beyond their time
 * stamp. */
#ifndef SHIM_LOGSET_H
#define SHIM_LOGSET_H

#include <stddef.h>
#include <stdint.h>

#include "base/log.h"

#define LOGSET_FILES_MAX 100000                 /* files in one directory listing */
#define LOGSET_UNZIP_MAX ((size_t)8 << 30)      /* bytes of one unpacked archive member */
#define LOGSET_NO_DAY INT64_MIN

struct logset_file {
        char *path;
        char type[64];          /* "smtpLog"; "" when the name does not say */
        int64_t day;            /* days since 1970-01-01 of the name's date, or LOGSET_NO_DAY */
        int zipped;             /* a .log.zip archive */
};

struct logset {
        struct logset_file *f;
        size_t n, cap;
};

/* Add one file (any name; the type and date come from a
 * YYYY.MM.DD-TYPE.log[.zip] name). Returns 0 or -ENOMEM. */
int logset_add(struct logset *ls, const char *path);

/* Add every YYYY.MM.DD-TYPE.log and .log.zip in dir. A day that has both
 * keeps the .log (the archive is an older copy). Returns 0, -errno when dir
 * cannot be read (err says why) or -ENOMEM. */
int logset_scan(struct logset *ls, const char *dir, struct diag *err);

/* Keep the files of the comma-separated type words in types ("" keeps all)
 * whose day lies in [from_day - 1, to_day] (the day before: its file runs
 * past midnight); files without a date are kept. Then sort by day, type and
 * name. */
void logset_select(struct logset *ls, const char *types, int64_t from_day, int64_t to_day);

void logset_done(struct logset *ls);

/* A file's bytes: mapped (.log) or unpacked (.log.zip). */
struct logset_data {
        const char *p;
        size_t len;
        void *map;
        size_t map_len;
        char *heap;
};

/* Returns 0, or -errno with err saying why (EFBIG: an archive member over
 * LOGSET_UNZIP_MAX; EINVAL: an archive without a log in it). */
int logset_load(const struct logset_file *f, struct logset_data *ret, struct diag *err);
void logset_unload(struct logset_data *d);

/* --from / --to: "YYYY-MM-DD", "YYYY.MM.DD" or "YYYY/MM/DD", optionally
 * followed by " HH:MM[:SS]" or "THH:MM[:SS]", or "today", "yesterday", as
 * local wall-clock milliseconds (local seconds counted as if the zone were
 * UTC). is_end makes the value the last millisecond of the precision given.
 * today_day is the local date of today. Returns 0 or -EINVAL. */
int logset_parse_when(const char *s, int is_end, int64_t today_day, int64_t *ret_ms);

/* Offset of the first record in a day's file that belongs to the next day
 * (the time of day fell back by more than twelve hours), or len when none. */
size_t logset_rollover(const char *p, size_t len);

/* Where the record that holds byte at begins and ends (past its last line
 * and continuation lines, newline included). */
size_t logset_record_start(const char *p, size_t len, size_t at);
size_t logset_record_end(const char *p, size_t len, size_t at);

/* Local wall-clock ms of the record starting at p[off] in a file of day
 * 'day' whose next-day records start at 'roll'; LOGSET_NO_DAY when the
 * record has no usable stamp or the file no date. */
int64_t logset_record_local_ms(const char *p, size_t len, size_t off, int64_t day, size_t roll);

#endif
