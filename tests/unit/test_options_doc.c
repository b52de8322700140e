/* SPDX-License-Identifier: MIT */
/* options_doc.c: the effective settings (opts_dump) line by line for values
 * that need quoting, sizes, enums, lists and secrets, and that the dump
 * loads back to the same settings; the config template's entry for each
 * kind of option; the roff of the man pages (escapes, modes, sections). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/options.h"
#include "testutil.h"

/* What f printed, as a NUL-terminated string the caller frees. */
struct capture {
        FILE *f;
        char *text;
        size_t len;
};

static void capture_open(struct capture *c)
{
        c->text = NULL;
        c->len = 0;
        c->f = open_memstream(&c->text, &c->len);
        assert_non_null(c->f);
}

static char *capture_close(struct capture *c)
{
        assert_int_equal(fclose(c->f), 0);
        return c->text;
}

static char *dump_of(const struct shim_opts *o)
{
        struct capture c;

        capture_open(&c);
        opts_dump(c.f, o);
        return capture_close(&c);
}

static void set(struct shim_opts *o, const char *name, const char *value)
{
        struct diag err = { 0 };

        assert_int_equal(opts_set(o, opts_find(name, MODE_RUN), value, &err), 0);
}

struct dump_row {
        const char *name, *value;
        const char *want_line;  /* the whole line in the dump */
};

static const struct dump_row dump_rows[] = {
        { "logs", "/srv/logs", "logs = /srv/logs\n" },
        { "logs", "", "logs =\n" },                             /* no trailing space */
        { "syslog-app-name", " lead", "syslog-app-name = \" lead\"\n" },
        { "syslog-app-name", "trail\t", "syslog-app-name = \"trail\t\"\n" },
        { "syslog-app-name", "a # b", "syslog-app-name = \"a # b\"\n" },
        { "syslog-app-name", "\"q\"", "syslog-app-name = \"\"q\"\"\n" },
        { "syslog-app-name", "in\"side", "syslog-app-name = in\"side\n" },
        { "max-inflight-bytes", "32M", "max-inflight-bytes = 33554432\n" },
        { "encoding", "gelf", "encoding = gelf\n" },
        { "watch", "poll", "watch = poll\n" },
        { "original", "no", "original = false\n" },
        { "poll-interval-ms", "50", "poll-interval-ms = 50\n" },
        { "kafka-property", "compression.type=lz4", "kafka.compression.type = lz4\n" },
        { "kafka-property", "client.id=a=b", "kafka.client.id = a=b\n" },
        { "kafka-property", "sasl.password=hunter2", "# kafka.sasl.password = (hidden)\n" },
        { "kafka-property", "ssl.key.pem=-----BEGIN", "# kafka.ssl.key.pem = (hidden)\n" },
        { "kafka-property", "sasl.oauthbearer.client.secret=x",
          "# kafka.sasl.oauthbearer.client.secret = (hidden)\n" },
        /* secrets by any spelling: case, typos, unknown names */
        { "kafka-property", "SASL.Password=hunter2", "# kafka.SASL.Password = (hidden)\n" },
        { "kafka-property", "sasl.pasword=hunter2", "# kafka.sasl.pasword = (hidden)\n" },
        { "kafka-property", "sasl.passwd=hunter2", "# kafka.sasl.passwd = (hidden)\n" },
        { "kafka-property", "SSL.KEYSTORE.PASSWORD=x",
          "# kafka.SSL.KEYSTORE.PASSWORD = (hidden)\n" },
        { "kafka-property", "sasl.oauthbearer.config=x",
          "# kafka.sasl.oauthbearer.config = (hidden)\n" },
        { "kafka-property", "ssl.key.location=/k", "# kafka.ssl.key.location = (hidden)\n" },
        { "kafka-property", "my.api.token=x", "# kafka.my.api.token = (hidden)\n" },
        { "kafka-property", "sasl.aws.credentials=x", "# kafka.sasl.aws.credentials = (hidden)\n" },
        { "kafka-property", "sasl.kerberos.service.name=x",
          "# kafka.sasl.kerberos.service.name = (hidden)\n" },
        /* and what is no secret stays readable */
        { "kafka-property", "sasl.username=shim", "kafka.sasl.username = shim\n" },
        { "kafka-property", "sasl.mechanism=PLAIN", "kafka.sasl.mechanism = PLAIN\n" },
        { "kafka-property", "security.protocol=SASL_SSL",
          "kafka.security.protocol = SASL_SSL\n" },
        { "kafka-property", "ssl.ca.location=/ca.pem", "kafka.ssl.ca.location = /ca.pem\n" },
};

static void test_dump_lines(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(dump_rows); i++) {
                const struct dump_row *r = &dump_rows[i];
                struct shim_opts o;
                char *text;

                assert_int_equal(opts_defaults(&o), 0);
                set(&o, r->name, r->value);
                text = dump_of(&o);
                if (!strstr(text, r->want_line)) {
                        char want[128];

                        print_error("row %zu: no line \"%s\" in:\n%s\n", i,
                                    tu_escape(r->want_line, strlen(r->want_line), want,
                                              sizeof(want)), text);
                        fail();
                }
                free(text);
                opts_free(&o);
        }
}

/* Every run option but config, help and version, once, in table order;
 * none of the others (parse's --type, --date). The list is in kafka.NAME
 * lines, none by default. */
static void test_dump_keys(void **state)
{
        char want[4096] = "", got[4096] = "";
        struct shim_opts o;
        char *text;

        (void)state;
        for (const struct opt_spec *s = opts_next(NULL); s; s = opts_next(s))
                if ((s->modes & MODE_RUN) && opts_in_config(s) && s->type != OPT_LIST)
                        snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s\n", s->name);
        assert_int_equal(opts_defaults(&o), 0);
        text = dump_of(&o);
        for (char *l = text; *l; l = strchr(l, '\n') + 1) {
                size_t klen = strcspn(l, " ");

                assert_non_null(strchr(l, '\n'));
                snprintf(got + strlen(got), sizeof(got) - strlen(got), "%.*s\n", (int)klen, l);
        }
        tu_str_equal("keys of the dump", want, got);
        free(text);
        opts_free(&o);
}

/* The dump of changed settings, loaded as a config file, dumps the same. */
static void test_dump_loads_back(void **state)
{
        char dir[256], path[300];
        struct shim_opts a, b;
        struct diag err = { 0 };
        char *first, *second;

        (void)state;
        assert_int_equal(opts_defaults(&a), 0);
        for (size_t i = 0; i < ARRAY_SIZE(dump_rows); i++)
                if (!strstr(dump_rows[i].want_line, "(hidden)"))
                        set(&a, dump_rows[i].name, dump_rows[i].value);
        first = dump_of(&a);
        tu_tmpdir(dir, sizeof(dir));
        tu_write_file(dir, "dump.conf", first);
        snprintf(path, sizeof(path), "%s/dump.conf", dir);
        assert_int_equal(opts_defaults(&b), 0);
        assert_int_equal(opts_load_config(&b, MODE_RUN, path, &err), 0);
        second = dump_of(&b);
        tu_str_equal("dump, loaded, dumped", first, second);
        free(first);
        free(second);
        opts_free(&a);
        opts_free(&b);
        tu_rmdir(dir);
}

struct doc_row {
        int section;            /* 0: the config template, else the man page section */
        const char *want;       /* a piece of the output */
};

static const struct doc_row doc_rows[] = {
        { 0, "# Shape of each JSON event: nested ECS, flat dotted keys, or GELF 1.1. One\n"
             "# of: ecs, flat, gelf.\n#encoding = ecs\n" },
        { 0, "\n#timezone =\n" },
        { 0, "Either true or false.\n#original = true\n" },
        { 0, "A whole number, from 50 to 3600000.\n#poll-interval-ms = 1000\n" },
        { 0, "suffix, from 65536 to 4294967296.\n#max-inflight-bytes = 16M\n" },
        { 1, ".TP\n\\fB\\-z\\fR, \\fB\\-\\-timezone\\fR \\fIZONE\\fR (run, parse" },
        { 1, "\\fB\\-\\-host\\-name\\fR \\fINAME\\fR (run, parse" },
        { 1, "One of: ecs|flat|gelf. Default: ecs.\n" },
        { 1, ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR (" },
        { 5, ".TP\n\\fBtimezone\\fR = \\fIZONE\\fR\n" },
        { 5, ".TP\n\\fBoriginal\\fR = \\fItrue|false\\fR\n" },
        { 5, "\\fBkafka\\-property\\fR = \\fINAME=VALUE\\fR\n" },
};

static void test_docs(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(doc_rows); i++) {
                struct capture c;
                char *text;

                capture_open(&c);
                if (doc_rows[i].section)
                        assert_int_equal(opts_man(c.f, doc_rows[i].section), 0);
                else
                        opts_config_template(c.f);
                text = capture_close(&c);
                if (!strstr(text, doc_rows[i].want)) {
                        print_error("row %zu: not found:\n%s\n", i, doc_rows[i].want);
                        fail();
                }
                /* the config template never lists what a config file cannot set */
                if (doc_rows[i].section != 1) {
                        assert_null(strstr(text, "#config ="));
                        assert_null(strstr(text, "\\fBhelp\\fR"));
                        assert_null(strstr(text, "#date ="));
                }
                /* no line of roff starts with a request by accident */
                for (char *l = text; doc_rows[i].section && l; l = strchr(l, '\n'), l = l ? l + 1 : l)
                        assert_true(*l != '\'' && (*l != '.' || strncmp(l, ".TP\n", 4) == 0 || !*l));
                free(text);
        }
        assert_int_equal(opts_man(stdout, 3), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_dump_lines),
                cmocka_unit_test(test_dump_keys),
                cmocka_unit_test(test_dump_loads_back),
                cmocka_unit_test(test_docs),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
