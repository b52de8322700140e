/* SPDX-License-Identifier: MIT */
/* search: matching records, or whole sessions. A plain search never
 * parses a record it does not print: the matcher runs over the mapped file
 * and only a hit is widened to its record (line plus continuation lines),
 * dated and checked against the range. --related reads a file twice: the
 * hits give the session and delivery ids, then every record of those ids
 * is collected by exact id, so ids with '-', letters or fewer than eight
 * digits group right. Sessions are grouped within a file (SmarterMail
 * writes a session into one day's file, past midnight if need be). */
#include "query/search.h"

#include <errno.h>
#include <inttypes.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/exit.h"
#include "core/encode_json.h"
#include "core/mapping.h"
#include "query/search_int.h"
#include "core/stamp.h"

/* ---- one file ------------------------------------------------------------- */

static enum search_kind kind_of(const char *type)
{
        if (!strcmp(type, "smtpLog"))
                return SK_SMTP;
        if (!strcmp(type, "delivery"))
                return SK_DELIVERY;
        return SK_OTHER;
}

int search_open(struct search *s, struct sfile *sf, const struct logset_file *f)
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
                search_norm_init(s, sf);
        return 0;
}

void search_norm_init(struct search *s, struct sfile *sf)
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

void search_close(struct sfile *sf)
{
        logset_unload(&sf->d);
}

static size_t roll_of(struct sfile *sf)
{
        if (sf->roll == SIZE_MAX)
                sf->roll = sf->f->day == LOGSET_NO_DAY ? sf->d.len
                                                       : logset_rollover(sf->d.p, sf->d.len);
        return sf->roll;
}

int64_t search_local_ms(struct sfile *sf, size_t start)
{
        return logset_record_local_ms(sf->d.p, sf->d.len, start, sf->f->day, roll_of(sf));
}

int search_in_range(struct search *s, struct sfile *sf, size_t start)
{
        int64_t ms;

        if (!sf->check_time)
                return 1;
        ms = search_local_ms(sf, start);
        if (ms == LOGSET_NO_DAY)
                return 1;       /* no date to judge by: shown rather than lost */
        return ms >= s->from_ms && ms <= s->to_ms;
}

int search_scan(struct search *s, struct sfile *sf, search_hit_fn fn, void *arg)
{
        const char *p = sf->d.p;
        size_t len = sf->d.len, pos = 0, at;
        int r;

        while ((r = pattern_find(s->m, p, len, pos, &at)) == 1) {
                size_t st = logset_record_start(p, len, at);
                size_t en = logset_record_end(p, len, at);

                if (search_in_range(s, sf, st) && (r = fn(s, sf, st, en, arg)) < 0)
                        return r;
                pos = en;
        }
        if (r < 0)
                log_msg(LOG_LVL_ERR, "%s: the pattern hit a PCRE2 limit; the rest of the "
                        "file was not searched", sf->f->path);
        return r;
}

void search_frame(struct search *s, struct sfile *sf, size_t start, size_t end,
                  struct frame_record *rec)
{
        frame_reset(s->frame, start);
        frame_feed(s->frame, sf->d.p + start, end - start);
        if (!frame_next(s->frame, rec) && !frame_flush(s->frame, 1, rec)) {
                memset(rec, 0, sizeof(*rec));
                rec->data = "";
                rec->offset = start;
                rec->end_offset = end;
        }
}

size_t search_record_id(enum search_kind kind, const char *data, size_t len, const char **ret)
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

void search_normalize(struct search *s, struct sfile *sf, size_t start, size_t end)
{
        struct frame_record rec;

        search_frame(s, sf, start, end, &rec);
        norm_record(&s->p.norm, &sf->nf[start >= roll_of(sf)], &rec, s->p.ev);
}

int search_flush_json(struct search *s)
{
        if (s->json.len && fwrite(s->json.p, 1, s->json.len, s->out) != s->json.len)
                return -EIO;
        s->json.len = 0;
        return 0;
}

int search_print(struct search *s, struct sfile *sf, size_t start, size_t end)
{
        struct frame_record rec;

        if (s->o->json) {
                search_normalize(s, sf, start, end);
                if (encode_json(s->p.ev, s->p.enc, &s->json) < 0)
                        log_msg(LOG_LVL_ERR, "%s: offset %zu: event too large to encode",
                                sf->f->path, start);
                return s->json.len >= 256 * 1024 ? search_flush_json(s) : 0;
        }
        search_frame(s, sf, start, end, &rec);
        if (rec.len && rec.data[0] >= '0' && rec.data[0] <= '9') {
                int64_t ms = search_local_ms(sf, start);

                if (ms != LOGSET_NO_DAY) {
                        int y, mo, d;

                        stamp_civil_from_days(ms / 86400000, &y, &mo, &d);
                        fprintf(s->out, "[%04d.%02d.%02d] ", y, mo, d);
                }
        }
        fwrite(rec.data, 1, rec.len, s->out);
        return fputc('\n', s->out) == EOF ? -EIO : 0;
}

/* ---- plain search ---------------------------------------------------------- */

static void heading(struct search *s, struct sfile *sf, int *said)
{
        if (*said || s->o->json)
                return;
        fprintf(s->out, "%s==> %s <==\n", s->matched ? "\n" : "", sf->f->path);
        *said = 1;
}

static int on_hit(struct search *s, struct sfile *sf, size_t start, size_t end, void *arg)
{
        heading(s, sf, arg);
        s->matched++;
        return search_print(s, sf, start, end);
}

static int on_count(struct search *s, struct sfile *sf, size_t start, size_t end, void *arg)
{
        (void)sf;
        (void)start;
        (void)end;
        (void)arg;
        s->matched++;
        return 0;
}

/* ---- --related -------------------------------------------------------------- */

struct group {
        char id[SUMMARY_ID_MAX + 1];    /* "" for a hit without an id */
        struct span *spans;
        size_t n, cap;
};

struct groups {
        void *root;                     /* tsearch by id */
        struct group **all;
        size_t n, cap;
        int oom;
};

static int group_cmp(const void *a, const void *b)
{
        return strcmp(((const struct group *)a)->id, ((const struct group *)b)->id);
}

static int group_add_span(struct group *g, uint64_t start, uint64_t end)
{
        if (g->n == g->cap) {
                size_t cap = g->cap ? g->cap * 2 : 16;
                struct span *n = realloc(g->spans, cap * sizeof(*n));

                if (!n)
                        return -ENOMEM;
                g->spans = n;
                g->cap = cap;
        }
        g->spans[g->n++] = (struct span){ start, end };
        return 0;
}

static struct group *group_new(struct groups *gs, const char *id, size_t n)
{
        struct group *g;

        if (gs->n == gs->cap) {
                size_t cap = gs->cap ? gs->cap * 2 : 16;
                struct group **a = realloc(gs->all, cap * sizeof(*a));

                if (!a)
                        return NULL;
                gs->all = a;
                gs->cap = cap;
        }
        g = calloc(1, sizeof(*g));
        if (!g)
                return NULL;
        memcpy(g->id, id, n);
        g->id[n] = '\0';
        gs->all[gs->n++] = g;
        return g;
}

static void free_nothing(void *p)
{
        (void)p;        /* groups are freed through gs->all */
}

static void groups_done(struct groups *gs)
{
        tdestroy(gs->root, free_nothing);
        for (size_t i = 0; i < gs->n; i++) {
                free(gs->all[i]->spans);
                free(gs->all[i]);
        }
        free(gs->all);
        memset(gs, 0, sizeof(*gs));
}

static int on_related_hit(struct search *s, struct sfile *sf, size_t start, size_t end,
                          void *arg)
{
        struct groups *gs = arg;
        struct frame_record rec;
        const char *id;
        size_t n;
        struct group *g;

        search_frame(s, sf, start, end, &rec);
        n = search_record_id(sf->kind, rec.data, rec.len, &id);
        if (n) {
                struct group probe;
                void *node;

                memcpy(probe.id, id, n);
                probe.id[n] = '\0';
                if (tfind(&probe, &gs->root, group_cmp))
                        return 0;
                if (!(g = group_new(gs, id, n)) || !(node = tsearch(g, &gs->root, group_cmp)))
                        return -ENOMEM;
                return 0;
        }
        /* no id: the record is its own group */
        if (!(g = group_new(gs, "", 0)))
                return -ENOMEM;
        return group_add_span(g, start, end);
}

/* Every record of the file whose id is wanted goes to its group. */
static int collect(struct search *s, struct sfile *sf, struct groups *gs)
{
        struct frame_record rec;
        struct frame *fr = frame_new(s->o->max_record_bytes);
        int r = 0, more;

        if (!fr)
                return -ENOMEM;
        frame_reset(fr, 0);
        frame_feed(fr, sf->d.p, sf->d.len);
        while ((more = frame_next(fr, &rec)) || frame_flush(fr, 1, &rec)) {
                struct group probe, **g;
                const char *id;
                size_t n = search_record_id(sf->kind, rec.data, rec.len, &id);

                if (n) {
                        memcpy(probe.id, id, n);
                        probe.id[n] = '\0';
                        g = tfind(&probe, &gs->root, group_cmp);
                        if (g && (r = group_add_span(*g, rec.offset, rec.end_offset)) < 0)
                                break;
                }
                (void)more;
        }
        frame_free(fr);
        return r;
}

static int first_cmp(const void *a, const void *b)
{
        const struct group *x = *(struct group *const *)a, *y = *(struct group *const *)b;
        uint64_t p = x->n ? x->spans[0].start : UINT64_MAX, q = y->n ? y->spans[0].start : UINT64_MAX;

        return p < q ? -1 : p > q;
}

static int related_file(struct search *s, struct sfile *sf)
{
        struct groups gs = { 0 };
        int said = 0, r;

        r = search_scan(s, sf, on_related_hit, &gs);
        if (r == 0 && gs.n)
                r = collect(s, sf, &gs);
        if (r == -ENOMEM)
                log_msg(LOG_LVL_ERR, "%s: out of memory collecting sessions", sf->f->path);
        if (gs.n)
                qsort(gs.all, gs.n, sizeof(*gs.all), first_cmp);
        for (size_t i = 0; i < gs.n && r == 0; i++) {
                struct group *g = gs.all[i];

                heading(s, sf, &said);
                if (!s->o->json) {
                        if (!g->id[0])
                                fprintf(s->out, "-- record\n");
                        else
                                fprintf(s->out, "-- %s %s (%zu record%s)\n",
                                        sf->kind == SK_SMTP ? "SMTP session" : "delivery", g->id,
                                        g->n, g->n == 1 ? "" : "s");
                }
                for (size_t k = 0; k < g->n && r == 0; k++) {
                        s->matched++;
                        r = search_print(s, sf, g->spans[k].start, g->spans[k].end);
                }
        }
        groups_done(&gs);
        return r;
}

/* ---- the command ------------------------------------------------------------ */

static int64_t today_day(void)
{
        time_t now = time(NULL);
        struct tm tm;

        localtime_r(&now, &tm);
        return stamp_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static int floor_day(int64_t ms)
{
        return (int)(ms >= 0 ? ms / 86400000 : (ms - 86400000 + 1) / 86400000);
}

int search_setup(struct search *s, const struct shim_opts *o, int nfiles, char **files)
{
        struct diag err = { 0 };
        struct tz_conv tz;
        int64_t today;

        if (tz_init(&tz, o->timezone) < 0) {
                log_msg(LOG_LVL_ERR, "--timezone: unknown zone '%s' (an IANA name such as "
                        "America/Chicago)", o->timezone);
                return SHIM_EXIT_USAGE;
        }
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

static int search_files(struct search *s)
{
        int r = 0;

        for (size_t i = 0; i < s->ls.n && r >= 0; i++) {
                struct sfile sf;
                int said = 0;

                if (search_open(s, &sf, &s->ls.f[i]) < 0)
                        continue;
                if (s->o->count)
                        r = search_scan(s, &sf, on_count, NULL);
                else if (s->o->related)
                        r = related_file(s, &sf);
                else
                        r = search_scan(s, &sf, on_hit, &said);
                if (r == 0 && s->o->json)
                        r = search_flush_json(s);
                search_close(&sf);
        }
        return r;
}

int search_main(const struct shim_opts *o, int argc, char **argv, FILE *out)
{
        struct search s = { .o = o, .out = out };
        struct diag err = { 0 };
        int status, r = 0;

        if (argc < 1) {
                log_msg(LOG_LVL_ERR, "search: no search string given (see search --help)");
                return SHIM_EXIT_USAGE;
        }
        if (o->trace + o->related + o->count > 1) {
                log_msg(LOG_LVL_ERR, "search: --count, --related and --trace exclude each other");
                return SHIM_EXIT_USAGE;
        }
        if (pattern_new(&s.m, argv[0], o->regex, o->ignore_case, &err) < 0) {
                diag_print(&err);
                return SHIM_EXIT_USAGE;
        }
        status = search_setup(&s, o, argc - 1, argv + 1);
        if (status)
                goto out;
        if (o->json || o->trace) {
                s.have_p = 1;   /* setup_done also undoes a failed init */
                if ((r = setup_init(&s.p, o)) < 0) {
                        status = r == -ENOMEM ? SHIM_EXIT_FAIL : SHIM_EXIT_USAGE;
                        goto out;
                }
        }
        buf_init(&s.json, SEARCH_OUT_MAX);
        s.frame = frame_new(o->max_record_bytes);
        if (!s.frame) {
                status = SHIM_EXIT_FAIL;
                goto out;
        }
        if (s.ls.n == 0)
                log_msg(LOG_LVL_WARNING, "search: no log file in %s for that range and type",
                        argc > 1 ? "the files given" : o->logs);
        r = o->trace ? trace_run(&s) : search_files(&s);
        if (o->count)
                fprintf(out, "%" PRIu64 "\n", s.matched);
        if (fflush(out) != 0 || r == -EIO) {
                log_msg(LOG_LVL_ERR, "writing the output: %s", strerror(errno));
                status = SHIM_EXIT_FAIL;
        } else if (r < 0 || s.failed) {
                status = SHIM_EXIT_FAIL;
        }
        log_msg(LOG_LVL_INFO, "%" PRIu64 " records", s.matched);
out:
        frame_free(s.frame);
        buf_done(&s.json);
        if (s.have_p)
                setup_done(&s.p);
        logset_done(&s.ls);
        pattern_free(s.m);
        return status;
}
