/* SPDX-License-Identifier: MIT */
/* options.c: the option table itself (unique names, real sentences,
 * defaults that parse, enum choices), opts_parse on good and bad command
 * lines, the result compared option by option as text, and opts_where
 * naming the config line or command-line option a value came from. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/frame.h"
#include "base/options.h"
#include "testutil.h"

static const struct opt_spec *spec_named(const char *name)
{
        for (const struct opt_spec *s = opts_next(NULL); s; s = opts_next(s))
                if (strcmp(s->name, name) == 0)
                        return s;
        return NULL;
}

/* The value of option s in o, as text: enum values by their choice name. */
static void opt_text(const struct shim_opts *o, const struct opt_spec *s, char *out, size_t n)
{
        const char *p = opts_value_const(o, s);

        switch (s->type) {
        case OPT_STR:
        case OPT_LIST:
                snprintf(out, n, "%s", *(char *const *)p ? *(char *const *)p : "(null)");
                return;
        case OPT_BOOL:
                snprintf(out, n, "%s", *(const int *)p ? "true" : "false");
                return;
        case OPT_SIZE:
                snprintf(out, n, "%zu", *(const size_t *)p);
                return;
        case OPT_UINT:
                snprintf(out, n, "%lu", *(const unsigned long *)p);
                return;
        case OPT_ENUM: {
                const char *c = s->choices;
                int idx = *(const int *)p;

                for (int i = 0; i < idx && c; i++)
                        c = strchr(c, '|') ? strchr(c, '|') + 1 : NULL;
                snprintf(out, n, "%.*s", c ? (int)strcspn(c, "|") : 1, c ? c : "?");
                return;
        }
        }
        snprintf(out, n, "?");
}

/* ---- the table --------------------------------------------------------- */

static void test_options_table(void **state)
{
        (void)state;
        for (const struct opt_spec *s = opts_next(NULL); s; s = opts_next(s)) {
                size_t dl = s->desc ? strlen(s->desc) : 0;
                struct shim_opts o;
                struct diag err = { 0 };

                /* names: lower-case words with '-', unique, also against the
                 * --no-NAME form every boolean gets */
                assert_true(s->name[0] >= 'a' && s->name[0] <= 'z');
                assert_int_equal(strspn(s->name, "abcdefghijklmnopqrstuvwxyz0123456789-"),
                                 strlen(s->name));
                for (const struct opt_spec *t = opts_next(NULL); t != s; t = opts_next(t)) {
                        /* a name may be reused only by commands that never
                         * share it (run's --from and search's --from) */
                        if (!(s->modes & t->modes))
                                continue;
                        if (strcmp(s->name, t->name) == 0 ||
                            (t->type == OPT_BOOL && strncmp(s->name, "no-", 3) == 0 &&
                             strcmp(s->name + 3, t->name) == 0) ||
                            (s->type == OPT_BOOL && strncmp(t->name, "no-", 3) == 0 &&
                             strcmp(t->name + 3, s->name) == 0)) {
                                print_error("option name %s is taken twice\n", s->name);
                                fail();
                        }
                        if (s->short_name && s->short_name == t->short_name &&
                            (s->modes & t->modes)) {
                                print_error("-%c names both --%s and --%s\n", s->short_name,
                                            t->name, s->name);
                                fail();
                        }
                }
                /* the description is a sentence */
                if (dl < 2 || !isupper((unsigned char)s->desc[0]) || s->desc[dl - 1] != '.' ||
                    strstr(s->desc, "  ")) {
                        print_error("--%s: description is not a sentence: \"%s\"\n", s->name,
                                    s->desc ? s->desc : "(null)");
                        fail();
                }
                assert_true(s->modes != 0);
                assert_non_null(s->def);
                /* enum choices: non-empty words between bars */
                if (s->type == OPT_ENUM) {
                        assert_non_null(s->choices);
                        assert_true(s->choices[0] != '\0' && s->choices[0] != '|');
                        assert_null(strstr(s->choices, "||"));
                        assert_true(s->choices[strlen(s->choices) - 1] != '|');
                } else {
                        assert_null(s->choices);
                }
                /* the default parses, and reads back as itself */
                memset(&o, 0, sizeof(o));
                if (opts_set(&o, s, s->def, &err) != 0) {
                        print_error("--%s: default '%s' does not parse: %s\n", s->name, s->def,
                                    err.text);
                        fail();
                }
                if (s->type == OPT_STR || s->type == OPT_ENUM || s->type == OPT_BOOL) {
                        char got[256];

                        opt_text(&o, s, got, sizeof(got));
                        tu_str_equal(s->name, s->def, got);
                }
                opts_free(&o);
        }
}

/* A value of s other than its default, as text. */
static void other_value(const struct shim_opts *defaults, const struct opt_spec *s, char *v,
                        size_t n)
{
        const char *second;

        switch (s->type) {
        case OPT_STR:
                snprintf(v, n, "%s", strcmp(s->def, "zz") ? "zz" : "yy");
                return;
        case OPT_LIST:
                snprintf(v, n, "a=b");
                return;
        case OPT_BOOL:
                snprintf(v, n, "%s", strcmp(s->def, "true") ? "true" : "false");
                return;
        case OPT_SIZE:
        case OPT_UINT:
                opt_text(defaults, s, v, n);
                snprintf(v, n, "%lu", strtoul(v, NULL, 10) == s->min ? s->min + 1 : s->min);
                return;
        case OPT_ENUM:
                second = strchr(s->choices, '|');
                assert_non_null(second);        /* a choice of one is no choice */
                if (strncmp(s->choices, s->def, strlen(s->def)) == 0 &&
                    s->choices[strlen(s->def)] == '|')
                        snprintf(v, n, "%.*s", (int)strcspn(second + 1, "|"), second + 1);
                else
                        snprintf(v, n, "%.*s", (int)strcspn(s->choices, "|"), s->choices);
                return;
        }
}

/* Every option lands in its own bytes of struct shim_opts: set each to a
 * value other than its default and check that no other option moved. */
static void test_options_offsets(void **state)
{
        struct shim_opts base, o;

        (void)state;
        assert_int_equal(opts_defaults(&base), 0);
        for (const struct opt_spec *s = opts_next(NULL); s; s = opts_next(s)) {
                char v[64];

                assert_int_equal(opts_defaults(&o), 0);
                other_value(&base, s, v, sizeof(v));
                assert_int_equal(opts_set(&o, s, v, NULL), 0);
                for (const struct opt_spec *t = opts_next(NULL); t; t = opts_next(t)) {
                        char a[256], b[256];

                        opt_text(&base, t, a, sizeof(a));
                        opt_text(&o, t, b, sizeof(b));
                        if ((strcmp(a, b) == 0) != (t != s)) {
                                print_error("setting --%s to %s: --%s is %s (default %s)\n",
                                            s->name, v, t->name, b, a);
                                fail();
                        }
                }
                opts_free(&o);
        }
        opts_free(&base);
}

/* ---- opts_set ---------------------------------------------------------- */

struct set_row {
        const char *name;
        const char *value;
        int want_rc;
        const char *want;       /* the option's value as text afterwards */
};

static const struct set_row set_rows[] = {
        { "original", "true", 0, "true" },
        { "original", "yes", 0, "true" },
        { "original", "1", 0, "true" },
        { "original", "false", 0, "false" },
        { "original", "no", 0, "false" },
        { "original", "0", 0, "false" },
        { "original", "TRUE", -EINVAL, "true" },
        { "original", "", -EINVAL, "true" },
        { "encoding", "ecs", 0, "ecs" },
        { "encoding", "flat", 0, "flat" },
        { "encoding", "gelf", 0, "gelf" },
        { "encoding", "GELF", -EINVAL, "ecs" },
        { "encoding", "xml", -EINVAL, "ecs" },
        { "encoding", "", -EINVAL, "ecs" },
        { "encoding", "ecs|flat", -EINVAL, "ecs" },
        { "max-record-bytes", "255", -EINVAL, "65536" },        /* min-1 */
        { "max-record-bytes", "256", 0, "256" },                /* min */
        { "max-record-bytes", "257", 0, "257" },
        { "max-record-bytes", "1K", 0, "1024" },
        { "max-record-bytes", "1k", 0, "1024" },
        { "max-record-bytes", "67108863", 0, "67108863" },      /* max-1 */
        { "max-record-bytes", "64M", 0, "67108864" },           /* max */
        { "max-record-bytes", "67108865", -EINVAL, "65536" },   /* max+1 */
        { "max-record-bytes", "1G", -EINVAL, "65536" },
        { "max-record-bytes", "0", -EINVAL, "65536" },
        { "max-record-bytes", "-1", -EINVAL, "65536" },
        { "max-record-bytes", "", -EINVAL, "65536" },
        { "max-record-bytes", "12X", -EINVAL, "65536" },
        { "max-record-bytes", "64KB", -EINVAL, "65536" },
        { "max-record-bytes", "1.5M", -EINVAL, "65536" },
        { "max-record-bytes", "99999999999999999999999", -EINVAL, "65536" },
        { "timezone", "Europe/Berlin", 0, "Europe/Berlin" },
        { "timezone", "", 0, "" },
        { "kafka-property", "acks=all", 0, "acks=all" },
        { "kafka-property", "", 0, "(null)" },
        { "kafka-property", "acks", -EINVAL, "(null)" },
        { "kafka-property", "=hunter2", -EINVAL, "(null)" },   /* not quoted back */
};

static void test_opts_set(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(set_rows); i++) {
                const struct set_row *row = &set_rows[i];
                const struct opt_spec *s = spec_named(row->name);
                struct shim_opts o;
                struct diag err = { 0 };
                char got[256], what[128];
                int rc;

                assert_non_null(s);
                assert_int_equal(opts_defaults(&o), 0);
                rc = opts_set(&o, s, row->value, &err);
                snprintf(what, sizeof(what), "--%s '%s'", row->name, row->value);
                if (rc != row->want_rc) {
                        print_error("%s: %d, want %d (%s)\n", what, rc, row->want_rc, err.text);
                        fail();
                }
                if (rc < 0) {
                        tu_str_equal(what, row->name, err.key);
                        assert_true(err.text[0] != '\0');
                        /* what follows a '=' may be a secret */
                        if (strchr(row->value, '='))
                                assert_null(strstr(err.text, strchr(row->value, '=') + 1));
                }
                opt_text(&o, s, got, sizeof(got));
                tu_str_equal(what, row->want, got);
                opts_free(&o);
        }
}

/* ---- opts_parse -------------------------------------------------------- */

struct parse_row {
        unsigned mode;
        const char *argv[8];            /* NULL ends it */
        int want_rc;                    /* index of the first operand, or -errno */
        const char *want_key;           /* err.key on failure */
        const char *want[4];            /* "name=value" after success */
};

static const struct parse_row parse_rows[] = {
        { MODE_PARSE, { "parse" }, 1, NULL,
          { "encoding=ecs", "original=true", "max-record-bytes=65536", "verbose=false" } },
        { MODE_PARSE, { "parse", "a.log" }, 1, NULL, { "original=true" } },
        { MODE_PARSE, { "parse", "--no-original", "a.log" }, 2, NULL, { "original=false" } },
        { MODE_PARSE, { "parse", "--no-original", "--original" }, 3, NULL, { "original=true" } },
        { MODE_PARSE, { "parse", "-e", "gelf", "--timezone", "Europe/Berlin", "a", "b" }, 5, NULL,
          { "encoding=gelf", "timezone=Europe/Berlin" } },
        { MODE_PARSE, { "parse", "--encoding=flat", "x" }, 2, NULL, { "encoding=flat" } },
        { MODE_PARSE, { "parse", "-eflat", "x" }, 2, NULL, { "encoding=flat" } },
        { MODE_PARSE, { "parse", "-e", "flat", "-e", "gelf" }, 5, NULL, { "encoding=gelf" } },
        { MODE_PARSE, { "parse", "-t", "smtpLog", "-d", "2026.09.18", "-" }, 5, NULL,
          { "type=smtpLog", "date=2026.09.18" } },
        { MODE_PARSE, { "parse", "-vh" }, 2, NULL, { "verbose=true", "help=true" } },
        { MODE_PARSE, { "parse", "--max-record-bytes", "256" }, 3, NULL,
          { "max-record-bytes=256" } },
        { MODE_PARSE, { "parse", "--max-record-bytes", "64M" }, 3, NULL,
          { "max-record-bytes=67108864" } },
        { MODE_PARSE, { "parse", "--", "--not-an-option" }, 2, NULL, { "encoding=ecs" } },
        /* options come before the files: the first operand ends them */
        { MODE_PARSE, { "parse", "a.log", "--encoding", "flat" }, 1, NULL, { "encoding=ecs" } },
        { MODE_FIELDS, { "fields", "--mappings", "m" }, 3, NULL, { "mappings=m" } },
        /* usage errors */
        { MODE_PARSE, { "parse", "--bogus" }, -EINVAL, "", { NULL } },
        { MODE_PARSE, { "parse", "-x" }, -EINVAL, "", { NULL } },
        { MODE_PARSE, { "parse", "--encoding" }, -EINVAL, "", { NULL } },
        { MODE_PARSE, { "parse", "-e" }, -EINVAL, "", { NULL } },
        { MODE_PARSE, { "parse", "--encoding", "xml" }, -EINVAL, "--encoding", { NULL } },
        { MODE_PARSE, { "parse", "-e", "Flat" }, -EINVAL, "--encoding", { NULL } },
        { MODE_PARSE, { "parse", "--no-encoding" }, -EINVAL, "", { NULL } },
        { MODE_PARSE, { "parse", "--original=false" }, -EINVAL, "", { NULL } },
        { MODE_PARSE, { "parse", "--max-record-bytes", "12X" }, -EINVAL, "--max-record-bytes",
          { NULL } },
        { MODE_PARSE, { "parse", "--max-record-bytes", "255" }, -EINVAL, "--max-record-bytes",
          { NULL } },
        { MODE_PARSE, { "parse", "--max-record-bytes=67108865" }, -EINVAL, "--max-record-bytes",
          { NULL } },
        { MODE_FIELDS, { "fields", "--encoding", "flat" }, -EINVAL, "", { NULL } },
};

/* Parse a row's argv (copied: getopt may permute it) into defaults. */
static int run_parse(unsigned mode, const char *const *args, struct shim_opts *o,
                     struct diag *err)
{
        char *argv[9] = { 0 };
        int argc = 0, rc;

        for (; args[argc]; argc++) {
                argv[argc] = strdup(args[argc]);
                assert_non_null(argv[argc]);
        }
        assert_int_equal(opts_defaults(o), 0);
        memset(err, 0, sizeof(*err));
        rc = opts_parse(o, mode, argc, argv, err);
        for (int i = 0; i < argc; i++)
                free(argv[i]);
        return rc;
}

static void test_opts_parse(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(parse_rows); i++) {
                const struct parse_row *row = &parse_rows[i];
                struct shim_opts o;
                struct diag err;
                char what[256] = "";
                int rc;

                for (const char *const *a = row->argv; *a; a++)
                        snprintf(what + strlen(what), sizeof(what) - strlen(what), "%s ", *a);
                rc = run_parse(row->mode, row->argv, &o, &err);
                if (rc != row->want_rc) {
                        print_error("%s: %d, want %d (%s: %s)\n", what, rc, row->want_rc, err.key,
                                    err.text);
                        fail();
                }
                if (rc < 0) {
                        tu_str_equal(what, row->want_key, err.key);
                        assert_true(err.text[0] != '\0');
                }
                for (size_t w = 0; w < ARRAY_SIZE(row->want) && row->want[w]; w++) {
                        const char *eq = strchr(row->want[w], '=');
                        char name[64], got[256];
                        const struct opt_spec *s;

                        snprintf(name, sizeof(name), "%.*s", (int)(eq - row->want[w]),
                                 row->want[w]);
                        s = spec_named(name);
                        assert_non_null(s);
                        opt_text(&o, s, got, sizeof(got));
                        tu_str_equal(what, eq + 1, got);
                }
                opts_free(&o);
        }
}

/* A parse that failed inside a cluster of short options ("-Qv": Q unknown,
 * v not read yet) must not leak into the next parse of another argv. */
static void test_opts_parse_again(void **state)
{
        static const char *const bad[] = { "parse", "-Qv", NULL };
        static const char *const good[] = { "parse", "a.log", NULL };
        struct shim_opts o;
        struct diag err;
        char got[16];

        (void)state;
        assert_int_equal(run_parse(MODE_PARSE, bad, &o, &err), -EINVAL);
        opts_free(&o);
        assert_int_equal(run_parse(MODE_PARSE, good, &o, &err), 1);
        opt_text(&o, spec_named("verbose"), got, sizeof(got));
        tu_str_equal("verbose after a failed parse", "false", got);
        opts_free(&o);
}

/* ---- opts_where -------------------------------------------------------- */

/* A config file, then a command line over it, as run loads them. */
static const char where_config[] =
        "# comment\n"
        "output = syslog\n"
        "kafka.sasl.mechanism = PLAIN\n"
        "kafka-property = acks=all\n"
        "syslog-target = tcp://a:1\n"
        "kafka.client.id = x\n"
        "syslog-target = tcp://b:2\n";

static const char *const where_argv[] = { "run", "--kafka-property", "linger.ms=5",
                                          "--output", "stdout", NULL };

struct where_row {
        const char *name;
        unsigned item;
        const char *want;       /* "LINE KEY", LINE "-" when no file is named */
};

static const struct where_row where_rows[] = {
        { "output", 0, "- --output" },                  /* the command line wins */
        { "syslog-target", 0, "7 syslog-target" },      /* the last line wins */
        { "kafka-property", 0, "3 kafka.sasl.mechanism" },
        { "kafka-property", 1, "4 kafka-property" },
        { "kafka-property", 2, "6 kafka.client.id" },
        { "kafka-property", 3, "- --kafka-property" },
        { "kafka-property", 4, "- kafka-property" },    /* no such value */
        { "kafka-brokers", 0, "- kafka-brokers" },      /* the default */
};

static void test_opts_where(void **state)
{
        char dir[256], path[300], *argv[8] = { 0 };
        struct shim_opts o;
        struct diag err = { 0 };
        int argc = 0;

        (void)state;
        tu_tmpdir(dir, sizeof(dir));
        tu_write_file(dir, "shim.conf", where_config);
        snprintf(path, sizeof(path), "%s/shim.conf", dir);
        assert_int_equal(opts_defaults(&o), 0);
        assert_int_equal(opts_load_config(&o, MODE_RUN, path, &err), 0);
        for (; where_argv[argc]; argc++)
                assert_non_null(argv[argc] = strdup(where_argv[argc]));
        assert_int_equal(opts_parse(&o, MODE_RUN, argc, argv, &err), argc);
        for (size_t i = 0; i < ARRAY_SIZE(where_rows); i++) {
                const struct where_row *row = &where_rows[i];
                struct diag d = { .file = "stale", .line = 99 };
                char got[256], what[64];

                snprintf(d.text, sizeof(d.text), "kept");
                opts_where(&o, row->name, row->item, &d);
                if (d.file) {
                        tu_str_equal("opts_where: file", path, d.file);
                        snprintf(got, sizeof(got), "%u %s", d.line, d.key);
                } else {
                        assert_int_equal(d.line, 0);
                        snprintf(got, sizeof(got), "- %s", d.key);
                }
                snprintf(what, sizeof(what), "opts_where %s #%u", row->name, row->item);
                tu_str_equal(what, row->want, got);
                tu_str_equal(what, "kept", d.text);
        }
        /* err->key itself as the name */
        snprintf(err.key, sizeof(err.key), "syslog-target");
        opts_where(&o, err.key, 0, &err);
        tu_str_equal("opts_where on its own key", "syslog-target", err.key);
        for (int i = 0; i < argc; i++)
                free(argv[i]);
        opts_free(&o);
        tu_rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_options_table),
                cmocka_unit_test(test_options_offsets),
                cmocka_unit_test(test_opts_set),
                cmocka_unit_test(test_opts_parse),
                cmocka_unit_test(test_opts_parse_again),
                cmocka_unit_test(test_opts_where),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
