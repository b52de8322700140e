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

#include "base/exit.h"
#include "query/scan.h"
#include "query/trace.h"

/* ---- plain search ---------------------------------------------------------- */

static void heading(struct scan *s, struct scan_file *sf, int *said)
{
        if (*said || s->o->json)
                return;
        fprintf(s->out, "%s==> %s <==\n", s->matched ? "\n" : "", sf->f->path);
        *said = 1;
}

static int on_hit(struct scan *s, struct scan_file *sf, size_t start, size_t end, void *arg)
{
        heading(s, sf, arg);
        s->matched++;
        return scan_print(s, sf, start, end);
}

static int on_count(struct scan *s, struct scan_file *sf, size_t start, size_t end, void *arg)
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

static int on_related_hit(struct scan *s, struct scan_file *sf, size_t start, size_t end,
                          void *arg)
{
        struct groups *gs = arg;
        struct frame_record rec;
        const char *id;
        size_t n;
        struct group *g;

        scan_record(s, sf, start, end, &rec);
        n = scan_record_id(sf->kind, rec.data, rec.len, &id);
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
static int collect(struct scan *s, struct scan_file *sf, struct groups *gs)
{
        struct frame_record rec;

        reader_buffer(s->rd, sf->d.p, sf->d.len, 0);
        while (reader_next(s->rd, &rec)) {
                struct group probe, **g;
                const char *id;
                size_t n = scan_record_id(sf->kind, rec.data, rec.len, &id);

                if (!n)
                        continue;
                memcpy(probe.id, id, n);
                probe.id[n] = '\0';
                g = tfind(&probe, &gs->root, group_cmp);
                if (g && group_add_span(*g, rec.offset, rec.end_offset) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int first_cmp(const void *a, const void *b)
{
        const struct group *x = *(struct group *const *)a, *y = *(struct group *const *)b;
        uint64_t p = x->n ? x->spans[0].start : UINT64_MAX, q = y->n ? y->spans[0].start : UINT64_MAX;

        return p < q ? -1 : p > q;
}

static int related_file(struct scan *s, struct scan_file *sf)
{
        struct groups gs = { 0 };
        int said = 0, r;

        r = scan_hits(s, sf, on_related_hit, &gs);
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
                        r = scan_print(s, sf, g->spans[k].start, g->spans[k].end);
                }
        }
        groups_done(&gs);
        return r;
}

/* ---- the command ------------------------------------------------------------ */

static int search_files(struct scan *s)
{
        int r = 0;

        for (size_t i = 0; i < s->ls.n && r >= 0; i++) {
                struct scan_file sf;
                int said = 0;

                if (scan_open(s, &sf, &s->ls.f[i]) < 0)
                        continue;
                if (s->o->count)
                        r = scan_hits(s, &sf, on_count, NULL);
                else if (s->o->related)
                        r = related_file(s, &sf);
                else
                        r = scan_hits(s, &sf, on_hit, &said);
                if (r == 0 && s->o->json)
                        r = scan_flush_json(s);
                scan_close(&sf);
        }
        return r;
}

int search_main(const struct shim_opts *o, int argc, char **argv, FILE *out)
{
        struct scan s = { .o = o, .out = out };
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
        status = scan_setup(&s, o, argc - 1, argv + 1);
        if (status)
                goto out;
        if (o->json || o->trace) {
                s.have_p = 1;   /* setup_done also undoes a failed init */
                if ((r = setup_init(&s.p, o)) < 0) {
                        status = r == -ENOMEM ? SHIM_EXIT_FAIL : SHIM_EXIT_USAGE;
                        goto out;
                }
        }
        buf_init(&s.json, SCAN_OUT_MAX);
        s.rd = reader_new(o->max_record_bytes, 0);
        if (!s.rd) {
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
        scan_done(&s);
        pattern_free(s.m);
        return status;
}
