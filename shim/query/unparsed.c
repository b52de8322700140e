/* SPDX-License-Identifier: MIT */
/* The unparsed-lines report. Shapes are kept in one open-addressing table
 * keyed by log type and shape, with the first example of each; past
 * UNPARSED_SHAPES_MAX distinct shapes the rest of a type is counted as
 * "other shapes" only, so memory stays bounded whatever the logs hold. */
#include "query/unparsed.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/exit.h"
#include "core/encode_json.h"
#include "query/report_int.h"
#include "query/scan.h"
#include "query/shape.h"

#define UNPARSED_TYPES_MAX 64
#define UNPARSED_SHAPES_MAX 100000

struct up_type {
        char name[64];
        uint64_t records, unparsed, other, shapes;
};

struct up_shape {
        char *shape;                    /* NULL: a free slot */
        char *example;
        unsigned type;
        uint64_t n;
};

struct up {
        struct scan s;
        struct up_type type[UNPARSED_TYPES_MAX];
        unsigned ntypes;
        unsigned order[UNPARSED_TYPES_MAX];     /* type indices by name, for output */
        struct up_shape *tab;
        size_t cap, used;
        int oom;
};

/* ---- counting ----------------------------------------------------------------- */

static struct up_type *type_of(struct up *u, const char *name)
{
        for (unsigned i = 0; i < u->ntypes; i++)
                if (strcmp(u->type[i].name, name) == 0)
                        return &u->type[i];
        if (u->ntypes == UNPARSED_TYPES_MAX)
                return &u->type[UNPARSED_TYPES_MAX - 1];        /* never in practice */
        snprintf(u->type[u->ntypes].name, sizeof(u->type[0].name), "%s", name);
        return &u->type[u->ntypes++];
}

static uint64_t hash(unsigned type, const char *s)
{
        uint64_t h = 1469598103934665603ull ^ type;

        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211ull;
        return h;
}

static struct up_shape *slot(struct up_shape *tab, size_t cap, unsigned type, const char *shape)
{
        size_t i = hash(type, shape) & (cap - 1);

        while (tab[i].shape && (tab[i].type != type || strcmp(tab[i].shape, shape) != 0))
                i = (i + 1) & (cap - 1);
        return &tab[i];
}

static int grow(struct up *u)
{
        size_t cap = u->cap ? u->cap * 2 : 1024;
        struct up_shape *tab = calloc(cap, sizeof(*tab));

        if (!tab)
                return -ENOMEM;
        for (size_t i = 0; i < u->cap; i++)
                if (u->tab[i].shape)
                        *slot(tab, cap, u->tab[i].type, u->tab[i].shape) = u->tab[i];
        free(u->tab);
        u->tab = tab;
        u->cap = cap;
        return 0;
}

static void take_unparsed(struct up *u, struct up_type *t, const char *msg, size_t len)
{
        char shape[SHAPE_MAX], example[SHAPE_MAX];
        unsigned ti = (unsigned)(t - u->type);
        struct up_shape *sl;

        shape_mask(msg, len, SHAPE_DIGIT_RUNS, shape, sizeof(shape));
        if ((u->used + 1) * 10 > u->cap * 7 && u->used < UNPARSED_SHAPES_MAX && grow(u) < 0) {
                u->oom = 1;
                return;
        }
        sl = slot(u->tab, u->cap, ti, shape);
        if (sl->shape) {
                sl->n++;
                return;
        }
        if (u->used >= UNPARSED_SHAPES_MAX) {
                t->other++;
                return;
        }
        shape_mask(msg, len, SHAPE_EACH_DIGIT, example, sizeof(example));
        sl->shape = strdup(shape);
        sl->example = strdup(example);
        if (!sl->shape || !sl->example) {
                free(sl->shape);
                free(sl->example);
                sl->shape = NULL;
                u->oom = 1;
                return;
        }
        sl->type = ti;
        sl->n = 1;
        u->used++;
        t->shapes++;
}

static int read_file(void *arg, const struct logset_file *f)
{
        struct up *u = arg;
        struct scan *s = &u->s;
        struct scan_file sf;
        struct frame_record rec;
        size_t roll, len;
        struct up_type *t;
        const char *msg;

        if (scan_open(s, &sf, f) < 0)
                return -EIO;
        t = type_of(u, sf.nf[0].log_type);
        roll = logset_rollover(sf.d.p, sf.d.len);
        reader_buffer(s->rd, sf.d.p, sf.d.len, 0);
        while (reader_next(s->rd, &rec)) {
                if (!scan_in_range(s, &sf, rec.offset))
                        continue;
                t->records++;
                if (!(norm_record(&s->p.norm, &sf.nf[rec.offset >= roll], &rec, s->p.ev) &
                      NORM_UNPARSED))
                        continue;
                t->unparsed++;
                if ((msg = event_get_str(s->p.ev, K_MESSAGE, &len)))
                        take_unparsed(u, t, msg, len);
        }
        scan_close(&sf);
        return 0;
}

/* ---- output ----------------------------------------------------------------------- */

static int by_count(const void *a, const void *b)
{
        const struct up_shape *x = *(const struct up_shape *const *)a;
        const struct up_shape *y = *(const struct up_shape *const *)b;

        if (x->n != y->n)
                return x->n > y->n ? -1 : 1;
        return strcmp(x->shape, y->shape);
}

/* The shapes of type ti, most frequent first (ties by shape); *ret_n rows.
 * NULL when out of memory. */
static struct up_shape **sorted(const struct up *u, unsigned ti, size_t *ret_n)
{
        struct up_shape **v = calloc(u->type[ti].shapes + 1, sizeof(*v));
        size_t n = 0;

        if (!v)
                return NULL;
        for (size_t i = 0; i < u->cap; i++)
                if (u->tab[i].shape && u->tab[i].type == ti)
                        v[n++] = &u->tab[i];
        qsort(v, n, sizeof(*v), by_count);
        *ret_n = n;
        return v;
}

/* Hundredths of a percent, cut: 0.00 when there are no records. */
static void pct(char out[24], uint64_t part, uint64_t whole)
{
        uint64_t h = whole ? part * 10000 / whole : 0;

        snprintf(out, 24, "%llu.%02llu", (unsigned long long)(h / 100),
                 (unsigned long long)(h % 100));
}

static void text_type(FILE *o, const struct up *u, unsigned ti, size_t top)
{
        const struct up_type *t = &u->type[ti];
        struct up_shape **v;
        size_t n = 0;

        if (!t->unparsed)
                return;
        fprintf(o, "\n%s: %llu unparsed in %llu shape%s\n", t->name,
                (unsigned long long)t->unparsed, (unsigned long long)t->shapes,
                t->shapes == 1 ? "" : "s");
        if (!(v = sorted(u, ti, &n)))
                return;
        for (size_t i = 0; i < n && i < top; i++)
                fprintf(o, "  %8llu  %s\n  %8s  e.g. %s\n", (unsigned long long)v[i]->n,
                        v[i]->shape, "", v[i]->example);
        if (n > top)
                fprintf(o, "  (%zu more shapes; --top shows more)\n", n - top);
        if (t->other)
                fprintf(o, "  %8llu  (other shapes, past the table's limit)\n",
                        (unsigned long long)t->other);
        free(v);
}

static void text_write(FILE *o, const struct up *u, size_t top)
{
        uint64_t rec = 0, unp = 0;
        char p[24];

        fprintf(o, "Unparsed lines (zone %s)\n\n", u->s.p.tz.zone[0] ? u->s.p.tz.zone : "system");
        fprintf(o, "%-16s %12s %12s %8s\n", "log type", "records", "unparsed", "rate %");
        for (unsigned i = 0; i < u->ntypes; i++) {
                const struct up_type *t = &u->type[u->order[i]];

                pct(p, t->unparsed, t->records);
                fprintf(o, "%-16s %12llu %12llu %8s\n", t->name,
                        (unsigned long long)t->records, (unsigned long long)t->unparsed, p);
                rec += t->records;
                unp += t->unparsed;
        }
        pct(p, unp, rec);
        fprintf(o, "%-16s %12llu %12llu %8s\n", "all", (unsigned long long)rec,
                (unsigned long long)unp, p);
        for (unsigned i = 0; i < u->ntypes; i++)
                text_type(o, u, u->order[i], top);
}

static void json_kv(struct buf *b, const char *key, const char *val, int comma)
{
        if (comma)
                buf_putc(b, ',');
        buf_putc(b, '"');
        json_escape(b, key, strlen(key));
        buf_lit(b, "\":\"");
        json_escape(b, val, strlen(val));
        buf_putc(b, '"');
}

static void json_counts(struct buf *b, uint64_t rec, uint64_t unp)
{
        char p[24];

        pct(p, unp, rec);
        buf_lit(b, ",\"records\":");
        buf_int(b, (long long)rec);
        buf_lit(b, ",\"unparsed\":");
        buf_int(b, (long long)unp);
        buf_lit(b, ",\"unparsed_pct\":");
        buf_put(b, p, strlen(p));
}

static void json_type(struct buf *b, const struct up *u, unsigned ti, size_t top)
{
        const struct up_type *t = &u->type[ti];
        struct up_shape **v = NULL;
        size_t n = 0;

        json_kv(b, "log_type", t->name, 0);
        json_counts(b, t->records, t->unparsed);
        buf_lit(b, ",\"shapes_total\":");
        buf_int(b, (long long)t->shapes);
        buf_lit(b, ",\"other_shapes_count\":");
        buf_int(b, (long long)t->other);
        buf_lit(b, ",\"shapes\":[");
        if (t->shapes && !(v = sorted(u, ti, &n)))
                n = 0;
        for (size_t i = 0; i < n && i < top; i++) {
                if (i)
                        buf_putc(b, ',');
                buf_lit(b, "{\"count\":");
                buf_int(b, (long long)v[i]->n);
                json_kv(b, "shape", v[i]->shape, 1);
                json_kv(b, "example", v[i]->example, 1);
                buf_putc(b, '}');
        }
        buf_putc(b, ']');
        free(v);
}

static int json_write(FILE *o, const struct up *u, size_t top)
{
        uint64_t rec = 0, unp = 0;
        struct buf b;

        for (unsigned i = 0; i < u->ntypes; i++)
                rec += u->type[i].records, unp += u->type[i].unparsed;
        buf_init(&b, 64u << 20);
        buf_putc(&b, '{');
        json_kv(&b, "zone", u->s.p.tz.zone[0] ? u->s.p.tz.zone : "system", 0);
        json_counts(&b, rec, unp);
        buf_lit(&b, ",\"log_types\":[");
        for (unsigned i = 0; i < u->ntypes; i++) {
                if (i)
                        buf_putc(&b, ',');
                buf_putc(&b, '{');
                json_type(&b, u, u->order[i], top);
                buf_putc(&b, '}');
        }
        buf_lit(&b, "]}\n");
        return report_json_flush(o, &b);
}

/* u->order: the types by name (insertion sort: a few dozen at most). */
static void order_types(struct up *u)
{
        for (unsigned i = 0; i < u->ntypes; i++) {
                unsigned j = i;

                for (; j && strcmp(u->type[u->order[j - 1]].name, u->type[i].name) > 0; j--)
                        u->order[j] = u->order[j - 1];
                u->order[j] = i;
        }
}

/* ---- the command -------------------------------------------------------------------- */

static int setup(struct up *u, const struct shim_opts *o, int argc, char **argv)
{
        int st = scan_setup_events(&u->s, o, argc, argv);

        if (st)
                return st;
        u->s.rd = reader_new(o->max_record_bytes, 0);
        return u->s.rd ? 0 : SHIM_EXIT_FAIL;
}

int unparsed_main(const struct shim_opts *o, int argc, char **argv, FILE *out)
{
        struct up *u = calloc(1, sizeof(*u));
        int status;

        if (!u)
                return SHIM_EXIT_FAIL;
        u->s.o = o;
        u->s.out = out;
        status = setup(u, o, argc, argv);
        if (status)
                goto out;
        status = scan_each(&u->s, argc, read_file, u);
        if (u->oom) {
                log_msg(LOG_LVL_ERR, "report: out of memory");
                status = SHIM_EXIT_FAIL;
                goto out;
        }
        order_types(u);
        if (o->html[0])
                log_msg(LOG_LVL_WARNING, "report: --html is not written with --unparsed");
        if ((o->json ? json_write(out, u, o->top) : (text_write(out, u, o->top), 0)) < 0 ||
            fflush(out) != 0) {
                log_msg(LOG_LVL_ERR, "writing the report: %s", strerror(errno));
                status = SHIM_EXIT_FAIL;
        }
out:
        for (size_t i = 0; i < u->cap; i++) {
                free(u->tab[i].shape);
                free(u->tab[i].example);
        }
        free(u->tab);
        scan_done(&u->s);
        free(u);
        return status;
}
