/* SPDX-License-Identifier: MIT */
/* search --trace: from the records that match to whole messages. A hit in
 * the SMTP log names a session; the session's spool hand-off names the
 * spool id; the delivery log's records of that id (on that day and later:
 * retries) give the outcome. A hit in the delivery log is followed back the
 * same way, to the session that wrote its spool file (that day or the day
 * before). Each session and delivery is normalized and summarized with the
 * same code as parse, and printed as one block per message. */
#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/encode_json.h"
#include "query/trace.h"
#include "query/trace_sum.h"

#define TRACE_SUMS_MAX 16       /* delivery attempts kept per spool id */

struct tr_rec {
        uint32_t file;
        uint64_t start, end;
};

/* One SMTP session or one delivery id. */
struct tr_unit {
        uint8_t kind;                   /* enum scan_kind */
        char id[SUMMARY_ID_MAX + 1];
        int64_t day;                    /* of the file it was first seen in */
        int matched, printed;
        struct tr_rec *recs;
        size_t n, cap;
        struct trace_sum sums[TRACE_SUMS_MAX];
        unsigned nsums;
        struct buf json;                /* its events, for --json */
};

struct trace {
        struct scan *s;
        struct scan_file *files;
        size_t nfiles;
        void *root;
        struct tr_unit **units;
        size_t nunits, cap;
        struct summary *sum;
        uint32_t cur_file;
        int oom;
};

/* ---- units ------------------------------------------------------------------ */

static int unit_cmp(const void *a, const void *b)
{
        const struct tr_unit *x = a, *y = b;

        if (x->kind != y->kind)
                return (int)x->kind - (int)y->kind;
        return strcmp(x->id, y->id);
}

static struct tr_unit *unit_find(struct trace *t, int kind, const char *id, size_t n)
{
        struct tr_unit probe;
        void *node;

        if (n > SUMMARY_ID_MAX)
                return NULL;
        probe.kind = (uint8_t)kind;
        memcpy(probe.id, id, n);
        probe.id[n] = '\0';
        node = tfind(&probe, &t->root, unit_cmp);
        return node ? *(struct tr_unit **)node : NULL;
}

static struct tr_unit *unit_get(struct trace *t, int kind, const char *id, size_t n, int64_t day)
{
        struct tr_unit *u = unit_find(t, kind, id, n);

        if (u || n > SUMMARY_ID_MAX)
                return u;
        if (t->nunits == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 32;
                struct tr_unit **a = realloc(t->units, cap * sizeof(*a));

                if (!a)
                        goto oom;
                t->units = a;
                t->cap = cap;
        }
        u = calloc(1, sizeof(*u));
        if (!u)
                goto oom;
        u->kind = (uint8_t)kind;
        memcpy(u->id, id, n);
        u->id[n] = '\0';
        u->day = day;
        buf_init(&u->json, SCAN_OUT_MAX);
        if (!tsearch(u, &t->root, unit_cmp)) {
                free(u);
                goto oom;
        }
        t->units[t->nunits++] = u;
        return u;
oom:
        t->oom = 1;
        return NULL;
}

static void unit_add_rec(struct trace *t, struct tr_unit *u, uint32_t file, uint64_t start,
                         uint64_t end)
{
        if (u->n == u->cap) {
                size_t cap = u->cap ? u->cap * 2 : 32;
                struct tr_rec *r = realloc(u->recs, cap * sizeof(*r));

                if (!r) {
                        t->oom = 1;
                        return;
                }
                u->recs = r;
                u->cap = cap;
        }
        u->recs[u->n++] = (struct tr_rec){ file, start, end };
}

static void free_nothing(void *p)
{
        (void)p;        /* units are freed through t->units */
}

static void trace_done(struct trace *t)
{
        tdestroy(t->root, free_nothing);
        for (size_t i = 0; i < t->nunits; i++) {
                free(t->units[i]->recs);
                buf_done(&t->units[i]->json);
                free(t->units[i]);
        }
        free(t->units);
        for (size_t i = 0; i < t->nfiles; i++)
                scan_close(&t->files[i]);
        free(t->files);
        summary_free(t->sum);
}

/* ---- summaries ---------------------------------------------------------------- */

static int on_summary(struct event *ev, void *data)
{
        struct trace *t = data;
        char lt[16], id[SUMMARY_ID_MAX + 1];
        struct tr_unit *u;
        int kind;

        trace_sum_text(ev, "smartermail.log_type", lt, sizeof(lt));
        kind = !strcmp(lt, "smtp") ? SK_SMTP : SK_DELIVERY;
        trace_sum_text(ev, kind == SK_SMTP ? "smartermail.session_id" : "smartermail.delivery.id",
                       id, sizeof(id));
        u = unit_find(t, kind, id, strlen(id));
        if (!u)
                return 0;
        if (t->s->o->json && encode_json(ev, t->s->p.enc, &u->json) < 0)
                t->oom = 1;
        if (u->nsums == TRACE_SUMS_MAX)
                return 0;
        trace_sum_from(&u->sums[u->nsums++], ev, kind == SK_SMTP);
        return 0;
}

/* ---- passes ------------------------------------------------------------------- */

static int on_trace_hit(struct scan *s, struct scan_file *sf, size_t start, size_t end, void *arg)
{
        struct trace *t = arg;
        struct frame_record rec;
        const char *id;
        size_t n;
        struct tr_unit *u;

        if (sf->kind == SK_OTHER)
                return 0;
        scan_record(s, sf, start, end, &rec);
        n = scan_record_id(sf->kind, rec.data, rec.len, &id);
        if (n && (u = unit_get(t, sf->kind, id, n, sf->f->day)))
                u->matched = 1;
        return t->oom ? -ENOMEM : 0;
}

/* A delivery id whose session is not known yet: the SMTP log of that day
 * or the day before names it in its spool hand-off. */
static void find_session(struct trace *t, const struct tr_unit *du)
{
        struct scan *s = t->s;
        int kid = keys_find(s->p.keys, "smartermail.spool.id");
        int ksid = keys_find(s->p.keys, "smartermail.session_id");

        for (size_t i = 0; i < t->nfiles; i++) {
                struct scan_file *sf = &t->files[i];
                size_t pos = 0, idl = strlen(du->id);
                const char *hit;

                if (sf->kind != SK_SMTP || (du->day != LOGSET_NO_DAY && sf->f->day != LOGSET_NO_DAY &&
                                            (sf->f->day < du->day - 1 || sf->f->day > du->day)))
                        continue;
                while ((hit = memmem(sf->d.p + pos, sf->d.len - pos, du->id, idl))) {
                        size_t at = (size_t)(hit - sf->d.p);
                        size_t st = logset_record_start(sf->d.p, sf->d.len, at);
                        size_t en = logset_record_end(sf->d.p, sf->d.len, at);
                        const char *v;
                        size_t n;

                        scan_normalize(s, sf, st, en);
                        if (kid >= 0 && ksid >= 0 && (v = event_get_str(s->p.ev, (unsigned)kid, &n)) &&
                            n == idl && !memcmp(v, du->id, n) &&
                            (v = event_get_str(s->p.ev, (unsigned)ksid, &n)))
                                unit_get(t, SK_SMTP, v, n, sf->f->day);
                        pos = en;
                }
        }
}

/* Every record of the file that belongs to a unit of its kind: kept,
 * normalized and summarized (in file order, as parse would). */
static void collect(struct trace *t, uint32_t fi)
{
        struct scan *s = t->s;
        struct scan_file *sf = &t->files[fi];
        struct frame_record rec;
        size_t roll = logset_rollover(sf->d.p, sf->d.len);

        scan_norm_init(s, sf);
        reader_buffer(s->rd, sf->d.p, sf->d.len, 0);
        while (reader_next(s->rd, &rec)) {
                const char *id;
                size_t n = scan_record_id(sf->kind, rec.data, rec.len, &id);
                struct tr_unit *u = n ? unit_find(t, sf->kind, id, n) : NULL;

                if (!u || (u->day != LOGSET_NO_DAY && sf->f->day != LOGSET_NO_DAY &&
                           sf->f->day < u->day))
                        continue;
                unit_add_rec(t, u, fi, rec.offset, rec.end_offset);
                norm_record(&s->p.norm, &sf->nf[rec.offset >= roll], &rec, s->p.ev);
                if (s->o->json && encode_json(s->p.ev, s->p.enc, &u->json) < 0)
                        t->oom = 1;
                summary_add(t->sum, s->p.ev);
        }
        /* a session does not go on in another file */
        summary_flush_all(t->sum, SUMMARY_END_INPUT);
}

/* ---- output ----------------------------------------------------------------- */

static void local_time(int64_t utc_ms, char *out, size_t cap)
{
        time_t sec = (time_t)(utc_ms / 1000);
        struct tm tm;

        stamp_local_tm(sec, &tm);
        strftime(out, cap, "%Y.%m.%d %H:%M:%S", &tm);
}

static void print_records(struct trace *t, const struct tr_unit *u)
{
        struct scan *s = t->s;
        uint32_t last = UINT32_MAX;

        for (size_t i = 0; i < u->n; i++) {
                struct scan_file *sf = &t->files[u->recs[i].file];
                const char *base;

                if (u->recs[i].file != last) {
                        base = strrchr(sf->f->path, '/');
                        fprintf(s->out, "--- %s %s, %s (%zu record%s)\n",
                                u->kind == SK_SMTP ? "SMTP session" : "delivery", u->id,
                                base ? base + 1 : sf->f->path, u->n, u->n == 1 ? "" : "s");
                        last = u->recs[i].file;
                }
                scan_print(s, sf, u->recs[i].start, u->recs[i].end);
        }
}

static void print_session(struct trace *t, const struct tr_unit *u)
{
        char when[32];
        FILE *o = t->s->out;

        if (!u->nsums)
                return;
        for (unsigned i = 0; i < u->nsums; i++) {
                const struct trace_sum *m = &u->sums[i];

                local_time(m->start_ms, when, sizeof(when));
                fprintf(o, "received    %s  SMTP session %s from %s", when, u->id,
                        m->ip[0] ? m->ip : "?");
                if (m->user[0])
                        fprintf(o, ", %s %s", !strcmp(m->auth, "success") ? "authenticated as"
                                              : "failed to authenticate as", m->user);
                fprintf(o, "\n            from %s to %s: %s%s%s, %ld records%s%s\n",
                        m->from[0] ? m->from : "-", m->to[0] ? m->to : "-", m->status,
                        m->block[0] ? " " : "", m->block, m->records,
                        m->partial ? ", cut short: " : "", m->partial ? m->end_reason : "");
        }
}

static const struct trace_sum *print_deliveries(struct trace *t, const struct tr_unit *u)
{
        const struct trace_sum *last = NULL;
        char a[32], b[32];
        FILE *o = t->s->out;

        for (unsigned i = 0; u && i < u->nsums; i++) {
                const struct trace_sum *m = &u->sums[i];

                local_time(m->start_ms, a, sizeof(a));
                local_time(m->end_ms, b, sizeof(b));
                fprintf(o, "delivery    %s - %s (%.1f s)  %s%s%s to %s: %s\n", a, b + 11,
                        (double)(m->end_ms - m->start_ms) / 1000.0,
                        m->direction[0] ? m->direction : "delivery",
                        m->dest_ip[0] ? " via " : "", m->dest_ip, m->to[0] ? m->to : "-",
                        m->dlv_status[0] ? m->dlv_status : m->status);
                if (m->last[0])
                        fprintf(o, "            last answer: %s\n", m->last);
                if (m->reason[0])
                        fprintf(o, "            reason: %s\n", m->reason);
                last = m;
        }
        return last;
}

static void print_json(struct trace *t, struct tr_unit *u)
{
        if (!u || u->printed)
                return;
        fwrite(u->json.p, 1, u->json.len, t->s->out);
}

static void mark_printed(struct tr_unit *su, struct tr_unit *du)
{
        if (su)
                su->printed = 1;
        if (du)
                du->printed = 1;
}

/* The block's first line: the message, or a session that sent none. */
static void print_heading(FILE *o, const struct tr_unit *su, const char *spool)
{
        const char *mid;

        if (!spool) {
                fprintf(o, "=== SMTP session %s: no message accepted\n", su->id);
                return;
        }
        mid = su && su->nsums ? su->sums[0].message_id : "";
        fprintf(o, "=== message %s%s%s%s\n", spool, mid[0] ? " <" : "", mid, mid[0] ? ">" : "");
}

/* The final status: the last delivery's, else why there is none, else the
 * session's own. */
static void print_status(FILE *o, const struct tr_unit *su, const char *spool,
                         const struct trace_sum *fin)
{
        const struct trace_sum *last;

        if (fin) {
                fprintf(o, "status      %s%s\n", fin->dlv_status[0] ? fin->dlv_status : fin->status,
                        fin->partial ? " (the delivery log ends before the delivery did)" : "");
        } else if (spool) {
                fprintf(o, "status      no delivery record found (still queued, or after the range)\n");
        } else if (su->nsums) {
                last = &su->sums[su->nsums - 1];
                fprintf(o, "status      %s%s%s\n", last->status, last->last[0] ? ": " : "",
                        last->last);
        }
}

/* One message (spool id) with its session su and delivery du, either of
 * which may be unknown; or, without a spool id, a session that accepted
 * none. A unit's records are printed with its first block only. */
static void print_block(struct trace *t, struct tr_unit *su, const char *spool, struct tr_unit *du)
{
        FILE *o = t->s->out;

        t->s->matched++;
        if (t->s->o->json) {
                print_json(t, su);
                print_json(t, du);
                mark_printed(su, du);
                return;
        }
        if (t->s->matched > 1)
                fputc('\n', o);
        print_heading(o, su, spool);
        if (su)
                print_session(t, su);
        else
                fprintf(o, "received    (no SMTP session found: sent from webmail or another "
                        "service, or before the range)\n");
        print_status(o, su, spool, print_deliveries(t, du));
        if (su && !su->printed)
                print_records(t, su);
        if (du && !du->printed)
                print_records(t, du);
        mark_printed(su, du);
}

static int unit_first_cmp(const void *a, const void *b)
{
        const struct tr_unit *x = *(struct tr_unit *const *)a, *y = *(struct tr_unit *const *)b;
        int64_t p = x->nsums ? x->sums[0].start_ms : INT64_MAX;
        int64_t q = y->nsums ? y->sums[0].start_ms : INT64_MAX;

        if (p != q)
                return p < q ? -1 : 1;
        return strcmp(x->id, y->id);
}

static void print_all(struct trace *t)
{
        size_t n = t->nunits;
        struct tr_unit **order = malloc(n * sizeof(*order) + 1);

        if (!order) {
                t->oom = 1;
                return;
        }
        if (n) {
                memcpy(order, t->units, n * sizeof(*order));
                qsort(order, n, sizeof(*order), unit_first_cmp);
        }
        for (size_t i = 0; i < n; i++) {
                struct tr_unit *u = order[i];
                unsigned nspool = 0;

                if (u->kind != SK_SMTP)
                        continue;
                for (unsigned k = 0; k < u->nsums; k++) {
                        const struct trace_sum *m = &u->sums[k];

                        for (unsigned j = 0; j < m->nspool; j++, nspool++)
                                print_block(t, u, m->spool[j],
                                            unit_find(t, SK_DELIVERY, m->spool[j],
                                                      strlen(m->spool[j])));
                }
                if (!nspool)
                        print_block(t, u, NULL, NULL);
        }
        for (size_t i = 0; i < n; i++)
                if (order[i]->kind == SK_DELIVERY && !order[i]->printed && order[i]->n)
                        print_block(t, NULL, order[i]->id, order[i]);
        free(order);
}

/* ---- the pass sequence --------------------------------------------------------- */

/* The deliveries the sessions' spool ids name, to follow. */
static void add_spool_units(struct trace *t)
{
        size_t nunits = t->nunits;

        for (size_t i = 0; i < nunits; i++) {
                struct tr_unit *u = t->units[i];

                for (unsigned k = 0; u->kind == SK_SMTP && k < u->nsums; k++)
                        for (unsigned j = 0; j < u->sums[k].nspool; j++)
                                unit_get(t, SK_DELIVERY, u->sums[k].spool[j],
                                         strlen(u->sums[k].spool[j]), u->day);
        }
}

/* Every record of the files of one kind that belongs to a unit. */
static void collect_kind(struct trace *t, enum scan_kind kind)
{
        for (uint32_t i = 0; i < t->nfiles && !t->oom; i++)
                if (t->files[i].kind == kind)
                        collect(t, i);
}

/* The passes: the hits name units; deliveries are followed back to their
 * sessions; the sessions are read and summarized, their spool ids name
 * more deliveries; the deliveries are read and summarized. */
static int trace_passes(struct trace *t)
{
        size_t nunits;
        int r = 0;

        for (size_t i = 0; i < t->nfiles && r == 0; i++)
                r = scan_hits(t->s, &t->files[i], on_trace_hit, t);
        if (r < 0)
                return r;
        nunits = t->nunits;
        for (size_t i = 0; i < nunits; i++)
                if (t->units[i]->kind == SK_DELIVERY)
                        find_session(t, t->units[i]);
        collect_kind(t, SK_SMTP);
        add_spool_units(t);
        collect_kind(t, SK_DELIVERY);
        return 0;
}

int trace_run(struct scan *s)
{
        struct trace t = { .s = s };
        struct summary_cfg cfg = setup_summary_cfg(&s->p, s->o);
        int r;

        /* sessions close at their end or at the end of their file, never
         * for being idle or too many */
        cfg.max_open = 1000000;
        cfg.idle_ms = INT64_MAX / 4;
        if (summary_new(&t.sum, s->p.keys, &cfg, on_summary, &t) < 0 ||
            !(t.files = calloc(s->ls.n + 1, sizeof(*t.files)))) {
                summary_free(t.sum);
                return -ENOMEM;
        }
        for (size_t i = 0; i < s->ls.n; i++)
                if (scan_open(s, &t.files[t.nfiles], &s->ls.f[i]) == 0)
                        t.nfiles++;
        r = trace_passes(&t);
        if (r == 0 && !t.oom)
                print_all(&t);
        if (t.oom) {
                log_msg(LOG_LVL_ERR, "search --trace: out of memory");
                r = -ENOMEM;
        }
        trace_done(&t);
        return r;
}
