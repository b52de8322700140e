/* SPDX-License-Identifier: MIT */
/* The option engine: the list of tables (the core's, then each output's),
 * setting a value, the command line, the config file, and where each value
 * came from. Long options only, plus a few short aliases; booleans also
 * take --no-NAME. The rows themselves live with their users
 * (options_core.c, outputs/syslog_opts.c, outputs/kafka_opts.c), their
 * renderings for people in options_doc.c. */
#include "base/options.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>


/* The tables, in the order of --help and docs/options.md, each with where
 * the struct it fills lies in struct shim_opts. An output's rows know only
 * their own struct; this list is the one place that places it. */
static const struct opt_table {
        const struct opt_spec *rows;
        size_t base;
} tables[] = {
        { shim_options, 0 },
        { syslog_options, offsetof(struct shim_opts, syslog) },
        { kafka_options, offsetof(struct shim_opts, kafka) },
};

#define NTABLES (sizeof(tables) / sizeof(tables[0]))

/* The table s is a row of (rows end with an empty one, so s is found by
 * walking them, not by comparing pointers into different arrays). */
static const struct opt_table *table_of(const struct opt_spec *s)
{
        for (size_t t = 0; t < NTABLES; t++)
                for (const struct opt_spec *r = tables[t].rows; r->name; r++)
                        if (r == s)
                                return &tables[t];
        return &tables[0];
}

const struct opt_spec *opts_next(const struct opt_spec *s)
{
        size_t t = 0;

        if (s) {
                if (s[1].name)
                        return s + 1;
                t = (size_t)(table_of(s) - tables) + 1;
        }
        for (; t < NTABLES; t++)
                if (tables[t].rows[0].name)
                        return tables[t].rows;
        return NULL;
}

void *opts_value(struct shim_opts *o, const struct opt_spec *s)
{
        return (char *)o + table_of(s)->base + s->off;
}

const void *opts_value_const(const struct shim_opts *o, const struct opt_spec *s)
{
        return (const char *)o + table_of(s)->base + s->off;
}

static void *at(struct shim_opts *o, const struct opt_spec *s)
{
        return opts_value(o, s);
}

static int parse_size(const char *v, size_t *ret)
{
        char *end;
        unsigned long long n;
        unsigned shift = 0;

        /* digits first: strtoull would also take spaces and a sign, and
         * " -18446744073709551615" is 1 to it */
        if (!(v[0] >= '0' && v[0] <= '9'))
                return -EINVAL;
        errno = 0;
        n = strtoull(v, &end, 10);
        if (errno || end == v)
                return -EINVAL;
        if (*end == 'K' || *end == 'k')
                shift = 10, end++;
        else if (*end == 'M' || *end == 'm')
                shift = 20, end++;
        else if (*end == 'G' || *end == 'g')
                shift = 30, end++;
        /* checked before shifting: "18014398509481985K" would wrap to 1K */
        if (*end || n > (SIZE_MAX / 2) >> shift)
                return -EINVAL;
        *ret = (size_t)(n << shift);
        return 0;
}

static int choice_index(const char *choices, const char *v)
{
        size_t vl = strlen(v);
        int idx = 0;

        for (const char *p = choices; *p; idx++) {
                const char *bar = strchr(p, '|');
                size_t l = bar ? (size_t)(bar - p) : strlen(p);
                if (l == vl && memcmp(p, v, l) == 0)
                        return idx;
                if (!bar)
                        break;
                p = bar + 1;
        }
        return -1;
}

static int set_str(struct shim_opts *o, const struct opt_spec *s, const char *v)
{
        char **sp = at(o, s), *n = strdup(v);

        /* out of memory, the old value stays: never a NULL option */
        if (!n)
                return -ENOMEM;
        free(*sp);
        *sp = n;
        return 0;
}

/* One more NAME=VALUE item, on a line of its own. */
static int set_list(struct shim_opts *o, const struct opt_spec *s, const char *v,
                    struct diag *err)
{
        char **lp = at(o, s), *n;
        size_t old = *lp ? strlen(*lp) : 0;

        if (!v[0])
                return 0;       /* the empty default adds nothing */
        /* the value may be a secret: only a text without '=' is
         * echoed, which has none */
        if (!strchr(v, '='))
                return diag_set(err, EINVAL, NULL, 0, s->name, "'%s' is not NAME=VALUE", v);
        /* items are kept one per line */
        if (strchr(v, '\n'))
                return diag_set(err, EINVAL, NULL, 0, s->name,
                                "NAME=VALUE may not contain a line break");
        if (v[0] == '=')
                return diag_set(err, EINVAL, NULL, 0, s->name, "the NAME of NAME=VALUE is empty");
        n = realloc(*lp, old + strlen(v) + 2);
        if (!n)
                return -ENOMEM;
        if (!*lp)
                n[0] = '\0';
        if (old)
                strcat(n, "\n");
        strcat(n, v);
        *lp = n;
        return 0;
}

static int set_bool(struct shim_opts *o, const struct opt_spec *s, const char *v,
                    struct diag *err)
{
        if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
                *(int *)at(o, s) = 1;
        else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
                *(int *)at(o, s) = 0;
        else
                return diag_set(err, EINVAL, NULL, 0, s->name, "'%s' is not true or false", v);
        return 0;
}

static int set_size(struct shim_opts *o, const struct opt_spec *s, const char *v,
                    struct diag *err)
{
        size_t sz;

        if (parse_size(v, &sz) < 0)
                return diag_set(err, EINVAL, NULL, 0, s->name,
                                "'%s' is not a size (a number, optionally with K, M or G)", v);
        if (s->max && (sz < s->min || sz > s->max))
                return diag_set(err, EINVAL, NULL, 0, s->name, "%zu is out of range (%lu to %lu)",
                                sz, s->min, s->max);
        *(size_t *)at(o, s) = sz;
        return 0;
}

static int set_uint(struct shim_opts *o, const struct opt_spec *s, const char *v,
                    struct diag *err)
{
        char *end;
        unsigned long n;

        errno = 0;
        n = strtoul(v, &end, 10);
        if (errno || end == v || *end || !(v[0] >= '0' && v[0] <= '9'))
                return diag_set(err, EINVAL, NULL, 0, s->name, "'%s' is not a whole number", v);
        if (s->max && (n < s->min || n > s->max))
                return diag_set(err, EINVAL, NULL, 0, s->name, "%lu is out of range (%lu to %lu)",
                                n, s->min, s->max);
        *(unsigned long *)at(o, s) = n;
        return 0;
}

static int set_enum(struct shim_opts *o, const struct opt_spec *s, const char *v,
                    struct diag *err)
{
        int idx = choice_index(s->choices, v);

        if (idx < 0)
                return diag_set(err, EINVAL, NULL, 0, s->name, "'%s' is not one of %s", v,
                                s->choices);
        *(int *)at(o, s) = idx;
        return 0;
}

int opts_set(struct shim_opts *o, const struct opt_spec *s, const char *v, struct diag *err)
{
        switch (s->type) {
        case OPT_STR:
                return set_str(o, s, v);
        case OPT_LIST:
                return set_list(o, s, v, err);
        case OPT_BOOL:
                return set_bool(o, s, v, err);
        case OPT_SIZE:
                return set_size(o, s, v, err);
        case OPT_UINT:
                return set_uint(o, s, v, err);
        case OPT_ENUM:
                return set_enum(o, s, v, err);
        }
        return -EINVAL;
}

int opts_defaults(struct shim_opts *o)
{
        memset(o, 0, sizeof(*o));
        for (const struct opt_spec *s = opts_next(NULL); s; s = opts_next(s)) {
                int r = opts_set(o, s, s->def, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

void opts_free(struct shim_opts *o)
{
        for (const struct opt_spec *s = opts_next(NULL); s; s = opts_next(s))
                if (s->type == OPT_STR || s->type == OPT_LIST) {
                        free(*(char **)at(o, s));
                        *(char **)at(o, s) = NULL;
                }
        free(o->origins.file);
        free(o->origins.v);
        memset(&o->origins, 0, sizeof(o->origins));
}

/* Values in an OPT_LIST's text. */
static unsigned list_items(const char *list)
{
        unsigned n = 0;

        if (!list || !list[0])
                return 0;
        for (const char *p = list; p; p = strchr(p + 1, '\n'))
                n++;
        return n;
}

/* opts_set, and remember where the value came from. Returns what opts_set
 * does; out of memory, o is as before. */
static int set_from(struct shim_opts *o, const struct opt_spec *s, const char *v,
                    enum opt_source source, unsigned line, struct diag *err)
{
        struct opt_origins *og = &o->origins;
        unsigned item = 0;
        int r;

        /* room first: once the value is set, remembering it cannot fail */
        if (og->n == og->cap) {
                size_t cap = og->cap ? og->cap * 2 : 16;
                struct opt_origin *nv = realloc(og->v, cap * sizeof(*nv));

                if (!nv)
                        return -ENOMEM;
                og->v = nv;
                og->cap = cap;
        }
        if (s->type == OPT_LIST)
                item = list_items(*(char **)at(o, s));
        r = opts_set(o, s, v, err);
        if (r < 0)
                return r;
        if (s->type == OPT_LIST && list_items(*(char **)at(o, s)) == item)
                return 0;       /* an empty value added nothing */
        og->v[og->n++] = (struct opt_origin){ .spec = s, .item = item, .line = line,
                                              .source = source };
        return 0;
}

void opts_where(const struct shim_opts *o, const char *name, unsigned item, struct diag *err)
{
        const struct opt_origins *og = &o->origins;
        const struct opt_origin *w = NULL;

        /* the last one: a command-line value overrides the file's */
        for (size_t i = og->n; i-- > 0;)
                if (strcmp(og->v[i].spec->name, name) == 0 && og->v[i].item == item) {
                        w = &og->v[i];
                        break;
                }
        /* from the table from here on: name may be err->key itself */
        name = w ? w->spec->name : name;
        err->file = NULL;
        err->line = 0;
        if (!w) {
                if (name != err->key)
                        snprintf(err->key, sizeof(err->key), "%s", name);
                return;
        }
        switch (w->source) {
        case OPT_SOURCE_ARGV:
                snprintf(err->key, sizeof(err->key), "--%s", name);
                return;
        case OPT_SOURCE_CONFIG:
                snprintf(err->key, sizeof(err->key), "%s", name);
                break;
        case OPT_SOURCE_CONFIG_PREFIX: {
                /* the name of the item-th NAME=VALUE, after the prefix */
                const char *p = *(char *const *)opts_value_const(o, w->spec);

                for (unsigned i = 0; i < item && p; i++)
                        if ((p = strchr(p, '\n')))
                                p++;
                snprintf(err->key, sizeof(err->key), "%s%.*s", w->spec->prefix,
                         p ? (int)strcspn(p, "=\n") : 0, p ? p : "");
                break;
        }
        }
        err->file = og->file;
        err->line = w->line;
}

#define OPTS_MAX 64

/* getopt_long's tables for one mode: a long option per row (and --no-NAME
 * per boolean), each mapped back to its row through which[]. */
struct getopt_tables {
        struct option lo[2 * OPTS_MAX + 1];
        const struct opt_spec *which[2 * OPTS_MAX];
        char negname[OPTS_MAX][48];
        char shorts[3 * OPTS_MAX + 2];
};

static void getopt_tables(struct getopt_tables *g, unsigned mode)
{
        size_t n = 0, ns = 0, nn = 0;

        g->shorts[ns++] = '+';
        for (const struct opt_spec *s = opts_next(NULL); s && n + 2 <= 2 * OPTS_MAX;
             s = opts_next(s)) {
                if (!(s->modes & mode))
                        continue;
                g->lo[n] = (struct option){ s->name, s->type == OPT_BOOL ? no_argument
                                                                         : required_argument,
                                            NULL, 1000 + (int)n };
                g->which[n++] = s;
                if (s->type == OPT_BOOL) {
                        snprintf(g->negname[nn], sizeof(g->negname[0]), "no-%s", s->name);
                        g->lo[n] = (struct option){ g->negname[nn++], no_argument, NULL,
                                                    1000 + (int)n };
                        g->which[n++] = s;
                }
                if (s->short_name) {
                        g->shorts[ns++] = s->short_name;
                        if (s->type != OPT_BOOL)
                                g->shorts[ns++] = ':';
                }
        }
        g->lo[n] = (struct option){ 0 };
        g->shorts[ns] = '\0';
}

/* The row getopt_long's answer c names, and the value it sets (*val):
 * "true"/"false" for a boolean. NULL with err set for an unknown option. */
static const struct opt_spec *getopt_row(const struct getopt_tables *g, int c, unsigned mode,
                                         char **argv, const char **val, struct diag *err)
{
        const struct opt_spec *s = NULL;

        if (c >= 1000) {
                s = g->which[c - 1000];
                if (s->type == OPT_BOOL)
                        *val = strncmp(g->lo[c - 1000].name, "no-", 3) == 0 &&
                               strncmp(s->name, "no-", 3) != 0 ? "false" : "true";
                return s;
        }
        if (c == '?' || c == ':') {
                if (optopt)
                        diag_set(err, EINVAL, NULL, 0, NULL,
                                 "option -%c: unknown, or missing its value (see --help)", optopt);
                else
                        diag_set(err, EINVAL, NULL, 0, NULL,
                                 "option %s: unknown, or missing its value (see --help)",
                                 argv[optind - 1]);
                return NULL;
        }
        for (const struct opt_spec *t = opts_next(NULL); t; t = opts_next(t))
                if (t->short_name == c && (t->modes & mode))
                        s = t;
        if (!s)
                diag_set(err, EINVAL, NULL, 0, NULL, "unknown option -%c", c);
        else if (s->type == OPT_BOOL)
                *val = "true";
        return s;
}

int opts_parse(struct shim_opts *o, unsigned mode, int argc, char **argv, struct diag *err)
{
        struct getopt_tables g;
        int c, li;

        getopt_tables(&g, mode);
        opterr = 0;
        /* 0, not 1: glibc then forgets the previous argv, including the
         * place inside a cluster of short options where it stopped */
        optind = 0;
        while ((c = getopt_long(argc, argv, g.shorts, g.lo, &li)) != -1) {
                const char *val = optarg;
                const struct opt_spec *s = getopt_row(&g, c, mode, argv, &val, err);
                int r;

                if (!s)
                        return -EINVAL;
                r = set_from(o, s, val, OPT_SOURCE_ARGV, 0, err);
                if (r == -ENOMEM)
                        return diag_set(err, ENOMEM, NULL, 0, NULL, "out of memory");
                if (r < 0) {
                        if (err) {
                                char key[64];
                                snprintf(key, sizeof(key), "--%s", s->name);
                                memcpy(err->key, key, sizeof(key));
                        }
                        return r;
                }
        }
        return optind;
}

const struct opt_spec *opts_find(const char *name, unsigned mode)
{
        for (const struct opt_spec *s = opts_next(NULL); s; s = opts_next(s))
                if ((s->modes & mode) && strcmp(s->name, name) == 0)
                        return s;
        return NULL;
}

/* The list row whose prefix key starts with ("kafka." for kafka.NAME), with
 * a NAME after it, or NULL. */
static const struct opt_spec *find_prefixed(const char *key, unsigned mode)
{
        for (const struct opt_spec *s = opts_next(NULL); s; s = opts_next(s))
                if (s->prefix && (s->modes & mode) && !strncmp(key, s->prefix, strlen(s->prefix)) &&
                    key[strlen(s->prefix)])
                        return s;
        return NULL;
}
static char *trim(char *p)
{
        char *e;

        while (*p == ' ' || *p == '\t')
                p++;
        e = p + strlen(p);
        while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
                *--e = '\0';
        return p;
}

int opts_in_config(const struct opt_spec *s)
{
        return strcmp(s->name, "config") != 0 && strcmp(s->name, "help") != 0 &&
               strcmp(s->name, "version") != 0;
}


/* One line, split in place into its key and value: 1 for key = value, 0
 * for a blank or comment line, -EINVAL with d saying why. Values may be
 * quoted with "..." to keep surrounding spaces or a '#'. */
static int split_line(char *line, char **ret_key, char **ret_val, struct diag *d)
{
        char *p = trim(line), *eq, *key, *val;

        if (*p == '\0' || *p == '#')
                return 0;
        eq = strchr(p, '=');
        if (!eq)
                return diag_set(d, EINVAL, d->file, d->line, NULL, "expected key = value");
        *eq = '\0';
        key = trim(p);
        val = trim(eq + 1);
        if (*val == '"') {
                char *q = strrchr(val + 1, '"');
                if (!q)
                        return diag_set(d, EINVAL, d->file, d->line, key, "unterminated quote");
                *q = '\0';
                val++;
        } else if ((p = strchr(val, '#'))) {
                *p = '\0';
                val = trim(val);
        }
        *ret_key = key;
        *ret_val = val;
        return 1;
}

/* Set what one key = value line says. A PREFIXNAME = VALUE line (kafka.NAME)
 * adds NAME=VALUE to the list that has that prefix. Returns 0, -EINVAL with
 * d saying why (its file and line set), or -ENOMEM. */
static int apply_line(struct shim_opts *o, unsigned mode, const char *key, const char *val,
                      struct diag *d)
{
        const char *path = d->file;
        unsigned lineno = d->line;
        const struct opt_spec *s = find_prefixed(key, mode);
        int r;

        if (s) {
                char kv[4200];

                snprintf(kv, sizeof(kv), "%s=%s", key + strlen(s->prefix), val);
                r = set_from(o, s, kv, OPT_SOURCE_CONFIG_PREFIX, lineno, d);
        } else {
                s = opts_find(key, mode);
                if (!s || !opts_in_config(s))
                        return diag_set(d, EINVAL, path, lineno, key, "unknown key");
                r = set_from(o, s, val, OPT_SOURCE_CONFIG, lineno, d);
        }
        d->file = path;
        d->line = lineno;
        return r;
}

int opts_load_config(struct shim_opts *o, unsigned mode, const char *path, struct diag *err)
{
        FILE *f = fopen(path, "re");
        char line[4096];
        unsigned lineno = 0;
        int bad = 0, r = 0, read_err;

        if (!f) {
                int e = errno;
                return diag_set(err, e, path, 0, NULL, "cannot read the config file: %s",
                                strerror(e));
        }
        free(o->origins.file);
        o->origins.file = strdup(path);
        if (!o->origins.file) {
                fclose(f);
                return diag_set(err, ENOMEM, path, 0, NULL, "out of memory");
        }
        while (fgets(line, sizeof(line), f)) {
                struct diag d = { .file = path, .line = ++lineno };
                char *key = NULL, *val = NULL;

                if (!strchr(line, '\n') && !feof(f)) {
                        diag_set(&d, EINVAL, path, lineno, NULL, "line longer than %zu bytes",
                                 sizeof(line) - 2);
                        while (fgets(line, sizeof(line), f) && !strchr(line, '\n'))
                                ;
                        r = -EINVAL;
                } else {
                        r = split_line(line, &key, &val, &d);
                        if (r > 0)
                                r = apply_line(o, mode, key, val, &d);
                }
                if (r == -ENOMEM)
                        break;
                if (r < 0) {
                        diag_print(&d);
                        bad = 1;
                }
        }
        /* fgets ends at a read error as at the end: tell them apart */
        read_err = r != -ENOMEM && ferror(f) ? (errno ? errno : EIO) : 0;
        fclose(f);
        /* not a problem of the file: stop, and say so rather than -EINVAL */
        if (r == -ENOMEM)
                return diag_set(err, ENOMEM, path, lineno, NULL, "out of memory");
        if (read_err)
                return diag_set(err, read_err, path, 0, NULL, "cannot read the config file: %s",
                                strerror(read_err));
        if (bad)
                return diag_set(err, EINVAL, path, 0, NULL, "the config file has errors");
        return 0;
}
