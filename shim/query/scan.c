/* SPDX-License-Identifier: MIT */
/* The scanner search, search --trace and report share: the range and the
 * files (--from/--to, --type, the log directory or the files given), one
 * file opened and dated, the records that match the pattern within the
 * range, a record's session or delivery id, and printing a record as text
 * or as a JSON event. It keeps no state across files but the caller's
 * struct scan, and knows nothing of sessions, traces or counts. */
#include "query/scan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/exit.h"
#include "core/encode_json.h"
#include "core/mapping.h"
#include "core/setup.h"
#include "core/stamp.h"

/* ---- one file ------------------------------------------------------------- */

static enum scan_kind kind_of(const char *type)
{
        if (!strcmp(type, "smtpLog"))
                return SK_SMTP;
        if (!strcmp(type, "delivery"))
                return SK_DELIVERY;
        return SK_OTHER;
}

int scan_open(struct scan *s, struct scan_file *sf, const struct logset_file *f)
{
        struct diag err = { 0 };
        int r;

        memset(sf, 0, sizeof(*sf));
        sf->f = f;
        sf->kind = kind_of(f->type);
        sf->roll = SIZE_MAX;
        r = logset_load(f, &sf->d, &err);
        if (r < 0) {
                diag_print(&err);
                s->failed = 1;
                return r;
        }
        /* a file whose two possible days lie inside the range needs no
         * per-record check */
        sf->check_time = f->day == LOGSET_NO_DAY ||
                         (s->from_ms != INT64_MIN && f->day * 86400000 < s->from_ms) ||
                         (s->to_ms != INT64_MAX && (f->day + 2) * 86400000 - 1 > s->to_ms);
        if (s->have_p)
                scan_norm_init(s, sf);
        return 0;
}

void scan_norm_init(struct scan *s, struct scan_file *sf)
{
        const struct logset_file *f = sf->f;
        int y = 1970, mo = 1, d = 1;

        if (f->day != LOGSET_NO_DAY)
                stamp_civil_from_days(f->day, &y, &mo, &d);
        norm_file_init(&sf->nf[0], &s->p.norm, f->path, f->type, f->day != LOGSET_NO_DAY, y, mo, d);
        if (f->day != LOGSET_NO_DAY)
                stamp_civil_from_days(f->day + 1, &y, &mo, &d);
        norm_file_init(&sf->nf[1], &s->p.norm, f->path, f->type, f->day != LOGSET_NO_DAY, y, mo, d);
}

void scan_close(struct scan_file *sf)
{
        logset_unload(&sf->d);
}

static size_t roll_of(struct scan_file *sf)
{
        if (sf->roll == SIZE_MAX)
                sf->roll = sf->f->day == LOGSET_NO_DAY ? sf->d.len
                                                       : logset_rollover(sf->d.p, sf->d.len);
        return sf->roll;
}

int64_t scan_local_ms(struct scan_file *sf, size_t start)
{
        return logset_record_local_ms(sf->d.p, sf->d.len, start, sf->f->day, roll_of(sf));
}

int scan_in_range(struct scan *s, struct scan_file *sf, size_t start)
{
        int64_t ms;

        if (!sf->check_time)
                return 1;
        ms = scan_local_ms(sf, start);
        if (ms == LOGSET_NO_DAY)
                return 1;       /* no date to judge by: shown rather than lost */
        return ms >= s->from_ms && ms <= s->to_ms;
}

int scan_hits(struct scan *s, struct scan_file *sf, scan_hit_fn fn, void *arg)
{
        const char *p = sf->d.p;
        size_t len = sf->d.len, pos = 0, at;
        int r;

        while ((r = pattern_find(s->m, p, len, pos, &at)) == 1) {
                size_t st = logset_record_start(p, len, at);
                size_t en = logset_record_end(p, len, at);

                if (scan_in_range(s, sf, st) && (r = fn(s, sf, st, en, arg)) < 0)
                        return r;
                pos = en;
        }
        if (r < 0)
                log_msg(LOG_LVL_ERR, "%s: the pattern hit a PCRE2 limit; the rest of the "
                        "file was not searched", sf->f->path);
        return r;
}

void scan_record(struct scan *s, struct scan_file *sf, size_t start, size_t end,
                  struct frame_record *rec)
{
        reader_buffer(s->rd, sf->d.p + start, end - start, start);
        if (!reader_next(s->rd, rec)) {
                memset(rec, 0, sizeof(*rec));
                rec->data = "";
                rec->offset = start;
                rec->end_offset = end;
        }
}

size_t scan_record_id(enum scan_kind kind, const char *data, size_t len, const char **ret)
{
        struct bracket br[BRACKETS_MAX];
        struct stamp st;
        const char *nl = memchr(data, '\n', len), *rest;
        size_t line = nl ? (size_t)(nl - data) : len, pl;
        unsigned nbr;

        if (kind == SK_OTHER || !(pl = stamp_parse(data, line, &st)))
                return 0;
        nbr = mapping_brackets(data + pl, line - pl, br, &rest);
        for (unsigned i = 0; i < nbr; i++)
                if (br[i].kind == BR_ID && br[i].len <= SUMMARY_ID_MAX) {
                        *ret = br[i].p;
                        return br[i].len;
                }
        return 0;
}

void scan_normalize(struct scan *s, struct scan_file *sf, size_t start, size_t end)
{
        struct frame_record rec;

        scan_record(s, sf, start, end, &rec);
        norm_record(&s->p.norm, &sf->nf[start >= roll_of(sf)], &rec, s->p.ev);
}

int scan_flush_json(struct scan *s)
{
        if (s->json.len && fwrite(s->json.p, 1, s->json.len, s->out) != s->json.len)
                return -EIO;
        s->json.len = 0;
        return 0;
}

int scan_print(struct scan *s, struct scan_file *sf, size_t start, size_t end)
{
        struct frame_record rec;

        if (s->o->json) {
                scan_normalize(s, sf, start, end);
                if (encode_json(s->p.ev, s->p.enc, &s->json) < 0)
                        log_msg(LOG_LVL_ERR, "%s: offset %zu: event too large to encode",
                                sf->f->path, start);
                return s->json.len >= 256 * 1024 ? scan_flush_json(s) : 0;
        }
        scan_record(s, sf, start, end, &rec);
        if (rec.len && rec.data[0] >= '0' && rec.data[0] <= '9') {
                int64_t ms = scan_local_ms(sf, start);

                if (ms != LOGSET_NO_DAY) {
                        int y, mo, d;

                        stamp_civil_from_days(ms / 86400000, &y, &mo, &d);
                        fprintf(s->out, "[%04d.%02d.%02d] ", y, mo, d);
                }
        }
        fwrite(rec.data, 1, rec.len, s->out);
        return fputc('\n', s->out) == EOF ? -EIO : 0;
}

static int64_t today_day(void)
{
        time_t now = time(NULL);
        struct tm tm;

        stamp_local_tm(now, &tm);
        return stamp_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static int floor_day(int64_t ms)
{
        return (int)(ms >= 0 ? ms / 86400000 : (ms - 86400000 + 1) / 86400000);
}

int scan_setup(struct scan *s, const struct shim_opts *o, int nfiles, char **files)
{
        struct diag err = { 0 };
        struct tz_conv tz;
        int64_t today;

        if (setup_tz(&tz, o) < 0)
                return SHIM_EXIT_USAGE;
        today = today_day();
        s->from_ms = INT64_MIN;
        s->to_ms = INT64_MAX;
        if (o->since[0] && logset_parse_when(o->since, 0, today, &s->from_ms) < 0) {
                log_msg(LOG_LVL_ERR, "--from: '%s' is not a date (YYYY-MM-DD [HH:MM[:SS]], "
                        "today, yesterday)", o->since);
                return SHIM_EXIT_USAGE;
        }
        if (o->until[0] && logset_parse_when(o->until, 1, today, &s->to_ms) < 0) {
                log_msg(LOG_LVL_ERR, "--to: '%s' is not a date (YYYY-MM-DD [HH:MM[:SS]], "
                        "today, yesterday)", o->until);
                return SHIM_EXIT_USAGE;
        }
        if (s->from_ms > s->to_ms) {
                log_msg(LOG_LVL_ERR, "--from is after --to");
                return SHIM_EXIT_USAGE;
        }
        if (nfiles > 0) {
                for (int i = 0; i < nfiles; i++)
                        if (logset_add(&s->ls, files[i]) < 0)
                                return SHIM_EXIT_FAIL;
        } else if (logset_scan(&s->ls, o->logs, &err) < 0) {
                diag_print(&err);
                return SHIM_EXIT_FAIL;
        }
        /* --trace follows a message into the SMTP log of the day before and
         * the delivery log of the day after */
        logset_select(&s->ls, o->trace ? "smtpLog,delivery" : o->type,
                      s->from_ms == INT64_MIN ? LOGSET_NO_DAY : floor_day(s->from_ms) - o->trace,
                      s->to_ms == INT64_MAX ? LOGSET_NO_DAY : floor_day(s->to_ms) + o->trace);
        return 0;
}


int scan_setup_events(struct scan *s, const struct shim_opts *o, int nfiles, char **files)
{
        int st = scan_setup(s, o, nfiles, files), r;

        if (st)
                return st;
        s->have_p = 1;          /* setup_done also undoes a failed init */
        if ((r = setup_init(&s->p, o)) < 0)
                return r == -ENOMEM ? SHIM_EXIT_FAIL : SHIM_EXIT_USAGE;
        return 0;
}

int scan_each(struct scan *s, int nfiles, int (*fn)(void *arg, const struct logset_file *f),
              void *arg)
{
        int status = 0;

        if (s->ls.n == 0)
                log_msg(LOG_LVL_WARNING, "report: no log file in %s for that range and type",
                        nfiles > 0 ? "the files given" : s->o->logs);
        for (size_t i = 0; i < s->ls.n; i++)
                if (fn(arg, &s->ls.f[i]) < 0)
                        status = SHIM_EXIT_FAIL;
        return status;
}

void scan_done(struct scan *s)
{
        reader_free(s->rd);
        buf_done(&s->json);
        if (s->have_p)
                setup_done(&s->p);
        logset_done(&s->ls);
}
