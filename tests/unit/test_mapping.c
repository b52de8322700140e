/* SPDX-License-Identifier: MIT */
/* mapping.c: how the leading bracket groups of a body are told apart, and
 * how a bad mapping directory is reported (file, line, key of the first
 * problem). The real mappings/ must load. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "base/log.h"
#include "core/mapping.h"
#include "core/stamp.h"
#include "testutil.h"

/* ---- mapping_brackets -------------------------------------------------- */

struct want_br {
        enum bracket_kind kind;
        const char *text;
};

struct bracket_row {
        struct bytes body;
        unsigned n;
        struct want_br br[BRACKETS_MAX];
        const char *rest;
};

static const char *const kind_names[] = { [BR_IP] = "ip", [BR_ID] = "id", [BR_TAG] = "tag" };

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct bracket_row bracket_rows[] = {
        /* the shapes of log-format.md */
        { S("[203.0.113.9][41200377] cmd: EHLO mx.example.com"), 2,
          { { BR_IP, "203.0.113.9" }, { BR_ID, "41200377" } }, "cmd: EHLO mx.example.com" },
        { S("[5432c100] Delivery started for a@example.com at 2:08:52 PM"), 1,
          { { BR_ID, "5432c100" } }, "Delivery started for a@example.com at 2:08:52 PM" },
        { S("[198.51.100.7] Webmail Login failed: Invalid password"), 1,
          { { BR_IP, "198.51.100.7" } }, "Webmail Login failed: Invalid password" },
        { S("[203.0.113.9] [41200377] Data transfer succeeded"), 2,
          { { BR_IP, "203.0.113.9" }, { BR_ID, "41200377" } }, "Data transfer succeeded" },
        { S("[IpBruteForceDetector] [198.51.100.7] Added to IDS block list"), 2,
          { { BR_TAG, "IpBruteForceDetector" }, { BR_IP, "198.51.100.7" } },
          "Added to IDS block list" },
        { S("[48650001] [LocalDeliveryQueue] Begin Processing."), 2,
          { { BR_ID, "48650001" }, { BR_TAG, "LocalDeliveryQueue" } }, "Begin Processing." },
        { S("smtp started at 4/29/2020 10:31:35 PM"), 0, { { 0 } },
          "smtp started at 4/29/2020 10:31:35 PM" },
        /* addresses */
        { S("[2001:db8::1] IMAP Login successful"), 1, { { BR_IP, "2001:db8::1" } },
          "IMAP Login successful" },
        { S("[::1] x"), 1, { { BR_IP, "::1" } }, "x" },
        { S("[::ffff:198.51.100.7] x"), 1, { { BR_IP, "::ffff:198.51.100.7" } }, "x" },
        { S("[2001:db8::1][7f3a] x"), 2, { { BR_IP, "2001:db8::1" }, { BR_ID, "7f3a" } }, "x" },
        { S("[0.0.0.0] x"), 1, { { BR_IP, "0.0.0.0" } }, "x" },
        { S("[1.2.3] x"), 0, { { 0 } }, "[1.2.3] x" },
        { S("[256.1.1.1] x"), 0, { { 0 } }, "[256.1.1.1] x" },
        { S("[1.2.3.4:25] x"), 0, { { 0 } }, "[1.2.3.4:25] x" },
        { S("[12:30] x"), 0, { { 0 } }, "[12:30] x" },
        { S("[fe80::1%eth0] x"), 0, { { 0 } }, "[fe80::1%eth0] x" },
        { S("[v1.2] x"), 0, { { 0 } }, "[v1.2] x" },
        /* ids */
        { S("[41200377] x"), 1, { { BR_ID, "41200377" } }, "x" },
        { S("[5432-c10] x"), 1, { { BR_ID, "5432-c10" } }, "x" },
        { S("[ab_cd] x"), 1, { { BR_ID, "ab_cd" } }, "x" },
        { S("[SMTP] x"), 1, { { BR_ID, "SMTP" } }, "x" },
        { S("[lowercase] x"), 1, { { BR_ID, "lowercase" } }, "x" },
        { S("[Queue2] x"), 1, { { BR_ID, "Queue2" } }, "x" },
        { S("[" ID64 "] x"), 1, { { BR_ID, ID64 } }, "x" },
        { S("[" ID64 "0] x"), 0, { { 0 } }, "[" ID64 "0] x" },
        /* tag words */
        { S("[Ok] x"), 1, { { BR_TAG, "Ok" } }, "x" },
        { S("[SpamCheckQueue] x"), 1, { { BR_TAG, "SpamCheckQueue" } }, "x" },
        /* not groups */
        { S("Connection to [198.51.100.7] refused"), 0, { { 0 } },
          "Connection to [198.51.100.7] refused" },
        { S(" [198.51.100.7] x"), 0, { { 0 } }, " [198.51.100.7] x" },
        { S("[not a group] text"), 0, { { 0 } }, "[not a group] text" },
        { S("[198.51.100.7] [not a group] text"), 1, { { BR_IP, "198.51.100.7" } },
          "[not a group] text" },
        { S("[] x"), 0, { { 0 } }, "[] x" },
        { S("[abc x"), 0, { { 0 } }, "[abc x" },
        { S("[1.2.3.4"), 0, { { 0 } }, "[1.2.3.4" },
        { S("[a/b] x"), 0, { { 0 } }, "[a/b] x" },
        /* spacing and the end of the body */
        { S("[198.51.100.7]"), 1, { { BR_IP, "198.51.100.7" } }, "" },
        { S("[198.51.100.7] "), 1, { { BR_IP, "198.51.100.7" } }, "" },
        { S("[198.51.100.7]text"), 1, { { BR_IP, "198.51.100.7" } }, "text" },
        { S("[198.51.100.7]  two spaces"), 1, { { BR_IP, "198.51.100.7" } }, " two spaces" },
        { S("[198.51.100.7]  [41200377] x"), 1, { { BR_IP, "198.51.100.7" } }, " [41200377] x" },
        { S("[a]b] x"), 1, { { BR_ID, "a" } }, "b] x" },
        /* at most BRACKETS_MAX groups */
        { S("[a][b][c][d] x"), 4,
          { { BR_ID, "a" }, { BR_ID, "b" }, { BR_ID, "c" }, { BR_ID, "d" } }, "x" },
        { S("[a][b][c][d][e] x"), 4,
          { { BR_ID, "a" }, { BR_ID, "b" }, { BR_ID, "c" }, { BR_ID, "d" } }, "[e] x" },
};

static void test_mapping_brackets(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(bracket_rows); i++) {
                const struct bracket_row *row = &bracket_rows[i];
                /* an exact-size copy: a read past the body shows under ASan */
                char *body = malloc(row->body.len ? row->body.len : 1);
                struct bracket br[BRACKETS_MAX];
                const char *rest = NULL;
                char what[160];
                unsigned n;

                assert_non_null(body);
                memcpy(body, row->body.p, row->body.len);
                tu_escape(row->body.p, row->body.len, what, sizeof(what));
                n = mapping_brackets(body, row->body.len, br, &rest);
                if (n != row->n) {
                        print_error("\"%s\": %u groups, want %u\n", what, n, row->n);
                        fail();
                }
                for (unsigned g = 0; g < n; g++) {
                        if (br[g].kind != row->br[g].kind) {
                                print_error("\"%s\": group %u is %s, want %s\n", what, g,
                                            kind_names[br[g].kind], kind_names[row->br[g].kind]);
                                fail();
                        }
                        tu_bytes_equal(what, row->br[g].text, strlen(row->br[g].text), br[g].p,
                                       br[g].len);
                }
                assert_true(rest >= body && rest <= body + row->body.len);
                tu_bytes_equal(what, row->rest, strlen(row->rest), rest,
                               row->body.len - (size_t)(rest - body));
                free(body);
        }
}

/* ---- mapping_load errors ----------------------------------------------- */

struct file {
        const char *name;       /* NULL ends the list */
        const char *text;
};

struct load_row {
        const char *name;
        int with_generic;       /* copy the real generic.json in */
        struct file files[3];
        int want_rc;
        const char *want_file;  /* base name; "" = the directory itself */
        unsigned want_line;
        const char *want_key;
};

#define HEAD "{\n  \"log_types\": [\"smtpLog\"],\n  \"log_type\": \"smtp\",\n"    /* lines 1-3 */

static const struct load_row load_rows[] = {
        { "a good file and the generic one", 1,
          { { "smtp.json", HEAD
                "  \"rules\": [\n"
                "    { \"rule\": \"a\", \"match\": \"^(?<w>x)\", \"set\": { \"event.action\": \"${w}\" },\n"
                "      \"example\": \"x\" }\n"
                "  ]\n"
                "}\n" } },
          0, NULL, 0, NULL },
        { "a syntax error", 1,
          { { "bad.json", HEAD
                "  \"rules\": [\n"                                      /* 4 */
                "    { \"rule\": \"a\", \"match\": \"^x\" }\n"          /* 5 */
                "    { \"rule\": \"b\", \"match\": \"^y\" }\n"          /* 6 */
                "  ]\n"
                "}\n" } },
          -EINVAL, "bad.json", 6, "" },
        { "a file cut short", 1,
          { { "bad.json", HEAD
                "  \"rules\": [\n"                                      /* 4 */
                "    { \"rule\": \"a\", \"match\": \"^x\" }\n" } },     /* 5 */
          -EINVAL, "bad.json", 6, "" },
        { "text after the object", 1,
          { { "bad.json", HEAD
                "  \"rules\": []\n"                                     /* 4 */
                "}\n"                                                   /* 5 */
                "{ }\n" } },                                            /* 6 */
          -EINVAL, "bad.json", 6, "" },
        { "an unknown key in a rule", 1,
          { { "bad.json", HEAD
                "  \"rules\": [\n"                                      /* 4 */
                "    {\n"                                               /* 5 */
                "      \"rule\": \"ok\",\n"                             /* 6 */
                "      \"match\": \"^ok\"\n"                            /* 7 */
                "    },\n"                                              /* 8 */
                "    {\n"                                               /* 9 */
                "      \"rule\": \"typo\",\n"                           /* 10 */
                "      \"match\": \"^x\",\n"                            /* 11 */
                "      \"sett\": { \"event.action\": \"x\" }\n"         /* 12 */
                "    }\n"
                "  ]\n"
                "}\n" } },
          -EINVAL, "bad.json", 12, "rule typo: sett" },
        { "an unknown key in the file", 1,
          { { "bad.json", HEAD
                "  \"brackets\": { \"ip\": \"source.ip\" },\n"          /* 4 */
                "  \"brakets\": { \"ip\": \"source.ip\" },\n"           /* 5 */
                "  \"rules\": []\n"
                "}\n" } },
          -EINVAL, "bad.json", 5, "brakets" },
        { "a bad PCRE2 pattern", 1,
          { { "bad.json", HEAD
                "  \"rules\": [\n"                                      /* 4 */
                "    {\n"                                               /* 5 */
                "      \"rule\": \"unclosed\",\n"                       /* 6 */
                "      \"match\": \"^(?<a>x\",\n"                       /* 7 */
                "      \"set\": { \"event.action\": \"${a}\" }\n"       /* 8 */
                "    }\n"
                "  ]\n"
                "}\n" } },
          -EINVAL, "bad.json", 7, "rule unclosed: match" },
        { "a template naming a missing group", 1,
          { { "bad.json", HEAD
                "  \"rules\": [\n"                                      /* 4 */
                "    {\n"                                               /* 5 */
                "      \"rule\": \"login\",\n"                          /* 6 */
                "      \"match\": \"^user (?<user>\\\\S+)\",\n"         /* 7 */
                "      \"set\": {\n"                                    /* 8 */
                "        \"event.action\": \"login\",\n"                /* 9 */
                "        \"user.name\": \"${usr}\"\n"                   /* 10 */
                "      }\n"
                "    }\n"
                "  ]\n"
                "}\n" } },
          -EINVAL, "bad.json", 10, "rule login: user.name" },
        { "a group number past the last group", 1,
          { { "bad.json", HEAD
                "  \"rules\": [\n"                                      /* 4 */
                "    { \"rule\": \"n\", \"match\": \"^(a)\",\n"         /* 5 */
                "      \"set\": { \"event.action\": \"${2}\" } }\n"     /* 6 */
                "  ]\n"
                "}\n" } },
          -EINVAL, "bad.json", 6, "rule n: event.action" },
        { "an unknown conversion", 1,
          { { "bad.json", HEAD
                "  \"rules\": [\n"                                      /* 4 */
                "    {\n"                                               /* 5 */
                "      \"rule\": \"shout\",\n"                          /* 6 */
                "      \"match\": \"^user (?<user>\\\\S+)\",\n"         /* 7 */
                "      \"set\": {\n"                                    /* 8 */
                "        \"user.name\": \"${user:shout}\"\n"            /* 9 */
                "      }\n"
                "    }\n"
                "  ]\n"
                "}\n" } },
          -EINVAL, "bad.json", 9, "rule shout: user.name" },
        { "an example that does not match", 1,
          { { "bad.json", HEAD
                "  \"rules\": [\n"                                      /* 4 */
                "    {\n"                                               /* 5 */
                "      \"rule\": \"ehlo\",\n"                           /* 6 */
                "      \"match\": \"^cmd: EHLO (?<host>\\\\S+)$\",\n"   /* 7 */
                "      \"example\": \"cmd: HELO mx.example.com\",\n"    /* 8 */
                "      \"set\": { \"source.domain\": \"${host}\" }\n"   /* 9 */
                "    }\n"
                "  ]\n"
                "}\n" } },
          -EINVAL, "bad.json", 8, "rule ehlo: example" },
        { "a list for a field that is not an array", 1,
          { { "bad.json", HEAD
                "  \"rules\": [\n"                                      /* 4 */
                "    {\n"                                               /* 5 */
                "      \"rule\": \"two\",\n"                            /* 6 */
                "      \"match\": \"^x\",\n"                            /* 7 */
                "      \"set\": {\n"                                    /* 8 */
                "        \"event.category\": [\"email\", \"network\"],\n" /* 9 */
                "        \"event.action\": [\"a\", \"b\"]\n"            /* 10 */
                "      }\n"
                "    }\n"
                "  ]\n"
                "}\n" } },
          -EINVAL, "bad.json", 10, "rule two: event.action" },
        { "the rule's name is also an earlier value", 1,
          { { "bad.json", HEAD
                "  \"rules\": [\n"                                      /* 4 */
                "    {\n"                                               /* 5 */
                "      \"rule\": \"first\",\n"                          /* 6 */
                "      \"set\": { \"event.action\": \"login\" },\n"     /* 7 */
                "      \"match\": \"^a\"\n"                             /* 8 */
                "    },\n"                                              /* 9 */
                "    {\n"                                               /* 10 */
                "      \"rule\": \"login\",\n"                          /* 11 */
                "      \"match\": \"^(b\"\n"                            /* 12 */
                "    }\n"
                "  ]\n"
                "}\n" } },
          -EINVAL, "bad.json", 12, "rule login: match" },
        { "the first of two bad files is reported", 1,
          { { "a.json", HEAD
                "  \"rules\": [ { \"rule\": \"r\", \"match\": \"(\" } ]\n" /* 4 */
                "}\n" },
            { "b.json", "{\n  \"log_types\": [\"delivery\"],\n  \"log_type\": \"delivery\",\n"
                "  \"nope\": 1\n"                                       /* 4 */
                "}\n" } },
          -EINVAL, "a.json", 4, "rule r: match" },
        /* the types after a bad one are never set: the check that no two
         * files share a type must not read them */
        { "a log type that is not a string", 1,
          { { "bad.json", "{\n  \"log_types\": [\"x\", 1, \"y\"],\n  \"log_type\": \"x\"\n}\n" } },
          -EINVAL, "bad.json", 2, "log_types" },
        { "the first log type is not a string", 1,
          { { "bad.json", "{\n  \"log_types\": [{}],\n  \"log_type\": \"x\"\n}\n" } },
          -EINVAL, "bad.json", 2, "log_types" },
        { "no generic file", 0,
          { { "smtp.json", HEAD "  \"rules\": []\n}\n" } },
          -EINVAL, "", 0, "" },
        { "an empty directory", 0, { { NULL } }, -EINVAL, "", 0, "" },
};

static const char *mappings_dir(void)
{
        const char *d = getenv("MAPPINGS");

        return d && d[0] ? d : "mappings";
}

static void check_load_row(const struct load_row *row)
{
        char dir[512], path[1024];
        struct keys *keys = keys_new();
        struct mapping_set *ms = NULL;
        struct diag err;
        const char *base;
        int rc;

        assert_non_null(keys);
        tu_tmpdir(dir, sizeof(dir));
        if (row->with_generic) {
                snprintf(path, sizeof(path), "%s/generic.json", mappings_dir());
                tu_copy_file(path, dir, "generic.json");
        }
        for (const struct file *f = row->files; f->name; f++)
                tu_write_file(dir, f->name, f->text);
        memset(&err, 0, sizeof(err));
        rc = mapping_load(&ms, dir, keys, 0, &err);
        if (rc != row->want_rc) {
                print_error("%s: mapping_load %d, want %d (%s:%u: %s: %s)\n", row->name, rc,
                            row->want_rc, err.file ? err.file : "-", err.line, err.key, err.text);
                fail();
        }
        if (rc == 0) {
                assert_non_null(ms);
                assert_int_equal(keys_finish(keys, NULL), 0);
        } else {
                /* err names the file by its path in dir */
                assert_null(ms);
                assert_non_null(err.file);
                base = err.file;
                if (strncmp(base, dir, strlen(dir)) == 0)
                        base += strlen(dir) + (base[strlen(dir)] == '/');
                tu_str_equal(row->name, row->want_file, base);
                if (err.line != row->want_line) {
                        print_error("%s: line %u, want %u (%s: %s)\n", row->name, err.line,
                                    row->want_line, err.key, err.text);
                        fail();
                }
                tu_str_equal(row->name, row->want_key, err.key);
                assert_true(err.text[0] != '\0');
        }
        mapping_free(ms);
        keys_free(keys);
        tu_rmdir(dir);
}

static void test_mapping_load_errors(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(load_rows); i++)
                check_load_row(&load_rows[i]);
}

static void test_mapping_load_missing_dir(void **state)
{
        struct keys *keys = keys_new();
        struct mapping_set *ms = NULL;
        struct diag err = { 0 };

        (void)state;
        assert_non_null(keys);
        assert_int_equal(mapping_load(&ms, "/nonexistent/mappings", keys, 0, &err), -ENOENT);
        assert_null(ms);
        tu_str_equal("missing dir", "/nonexistent/mappings", err.file);
        keys_free(keys);
}

/* The shipped mappings load, every key set fits together, and each log
 * type the spec names maps to its own file or to the generic one. */
struct type_row {
        const char *type;
        const char *log_type;   /* NULL: the generic mapping */
};

static const struct type_row type_rows[] = {
        { "smtpLog", "smtp" },
        { "delivery", "delivery" },
        { "imapLog", "imap" },
        { "popLog", "pop" },
        { "administrative", "administrative" },
        { "spamChecks", NULL },
        { "noSuchType", NULL },
};

static void test_mapping_load_real(void **state)
{
        struct keys *keys = keys_new();
        struct mapping_set *ms = NULL;
        struct diag err = { 0 };
        const struct mapping *generic;
        int rc;

        (void)state;
        assert_non_null(keys);
        rc = mapping_load(&ms, mappings_dir(), keys, 1, &err);
        if (rc != 0) {
                print_error("%s: %d: %s:%u: %s: %s\n", mappings_dir(), rc,
                            err.file ? err.file : "-", err.line, err.key, err.text);
                fail();
        }
        assert_int_equal(keys_finish(keys, &err), 0);
        generic = mapping_for_type(ms, "noSuchType");
        assert_non_null(generic);
        assert_null(mapping_log_type(generic));
        assert_true(mapping_rule_count(generic) > 0);
        for (size_t i = 0; i < ARRAY_SIZE(type_rows); i++) {
                const struct mapping *m = mapping_for_type(ms, type_rows[i].type);

                assert_non_null(m);
                if (!type_rows[i].log_type) {
                        assert_ptr_equal(m, generic);
                        continue;
                }
                assert_ptr_not_equal(m, generic);
                tu_str_equal(type_rows[i].type, type_rows[i].log_type, mapping_log_type(m));
        }
        mapping_free(ms);
        keys_free(keys);
}

/* ---- conversions ------------------------------------------------------- */

/* One rule per conversion ("number 42" -> ${v:number}), plus templates of
 * several parts and an optional group. */
#define CONV_RULE(word, tpl) \
        "    { \"rule\": \"" word "\", \"match\": \"^" word " (?<v>.*)$\",\n" \
        "      \"set\": { \"test.v\": \"" tpl "\" } },\n"

static const char conv_file[] =
        "{\n  \"log_types\": [\"convtest\"],\n  \"log_type\": \"conv\",\n  \"rules\": [\n"
        CONV_RULE("number", "${v:number}")
        CONV_RULE("boolean", "${v:boolean}")
        CONV_RULE("upper", "${v:upper}")
        CONV_RULE("lower", "${v:lower}")
        CONV_RULE("usdate", "${v:usdate}")
        CONV_RULE("ustime", "${v:ustime}")
        CONV_RULE("spoolid", "${v:spoolid}")
        CONV_RULE("trim", "<${v:trim}>")
        "    { \"rule\": \"join\", \"match\": \"^join (?<a>[a-z]+)(?: (?<b>[a-z]+))?$\",\n"
        "      \"set\": { \"test.v\": \"${a:upper}-${b}\" } },\n"
        "    { \"rule\": \"opt\", \"match\": \"^opt(?: (?<b>[a-z]+))?$\",\n"
        "      \"set\": { \"test.v\": \"${b}\" } }\n"
        "  ]\n}\n";

struct conv_row {
        const char *msg;
        const char *want;       /* "#N": number N, "?N": boolean N, "!": conversion failed,
                                   "": not set, else the text */
};

static const struct conv_row conv_rows[] = {
        { "number 42", "#42" },
        { "number -7", "#-7" },
        { "number +3", "#3" },
        { "number 999999999999999999", "#999999999999999999" },
        { "number 1000000000000000000", "!" },
        { "number 4x", "!" },
        { "number ", "!" },
        { "number -", "!" },
        { "boolean Yes", "?1" },
        { "boolean TRUE", "?1" },
        { "boolean 1", "?1" },
        { "boolean false", "?0" },
        { "boolean no", "?0" },
        { "boolean 0", "?0" },
        { "boolean maybe", "!" },
        { "upper abc-Def_9", "ABC-DEF_9" },
        { "lower ABC-dEf", "abc-def" },
        { "usdate 4/29/2020 10:31:35 PM", "2020-04-30T03:31:35.000Z" },
        { "usdate 1/5/2026 9:00:00 AM", "2026-01-05T15:00:00.000Z" },
        { "usdate 12/31/2026 23:59:59", "2027-01-01T05:59:59.000Z" },
        { "usdate 11/1/2026 1:30:00 AM", "2026-11-01T06:30:00.000Z" },
        { "usdate 2/29/2024 12:00:00 AM", "2024-02-29T06:00:00.000Z" },
        { "usdate 2/29/2026 12:00:00 AM", "!" },
        { "usdate 4/29/20 10:31:35 PM", "!" },
        { "usdate 4/29/2020", "!" },
        { "usdate 4/29/2020 10:31 PM", "!" },
        { "usdate 13/1/2026 1:00:00 AM", "2026-01-13T07:00:00.000Z" },
        { "usdate 13/13/2026 1:00:00 AM", "!" },
        { "ustime 2:08:52 PM", "14:08:52" },
        { "ustime 12:00:00 AM", "00:00:00" },
        { "ustime 12:30:05 PM", "12:30:05" },
        { "ustime 11:59:59 pm", "23:59:59" },
        { "ustime 23:59:59", "23:59:59" },
        { "ustime 0:00:00", "00:00:00" },
        { "ustime 24:00:00", "!" },
        { "ustime 13:00:00 PM", "!" },
        { "ustime 0:00:00 AM", "!" },
        { "ustime 1:60:00", "!" },
        { "ustime 1:00:00 XM", "!" },
        { "ustime 1:00:00 AMX", "!" },
        { "ustime 123:00:00", "!" },
        { "ustime 1:2", "!" },
        { "spoolid c:\\\\spool\\\\proc\\\\12345678.eml", "12345678" },
        { "spoolid /var/spool/abcdefghij.eml", "cdefghij" },
        { "spoolid a.b/noext", "noext" },
        { "spoolid 1a2b.eml", "1a2b" },
        { "spoolid .eml", "!" },
        { "spoolid dir/", "!" },
        { "trim   padded.  ", "<padded>" },
        { "trim \tx\t", "<x>" },
        { "trim ...", "<>" },
        { "join ab cd", "AB-cd" },
        { "join ab", "AB-" },
        { "opt cd", "cd" },
        { "opt", "" },
};

static int has_tag(const struct event *ev, const char *tag)
{
        const struct field *v[8];
        unsigned n = event_get_all(ev, K_TAGS, v, 8);

        for (unsigned i = 0; i < n && i < 8; i++)
                if (v[i]->len == strlen(tag) && memcmp(v[i]->v.str, tag, v[i]->len) == 0)
                        return 1;
        return 0;
}

static void check_conv_row(const struct conv_row *row, const struct mapping *m,
                           struct mapping_ctx *ctx, struct event *ev, unsigned key)
{
        const struct field *fl;
        int failed, set;
        int64_t num;
        const char *p;
        size_t n;

        event_reset(ev);
        assert_int_equal(mapping_apply(m, ctx, ev, NULL, 0, row->msg, strlen(row->msg)), 1);
        failed = has_tag(ev, "smartermail_conversion_failed");
        set = event_has(ev, key);
        if (failed != (row->want[0] == '!') || set != (row->want[0] && row->want[0] != '!')) {
                print_error("%s: conversion failed %d, value set %d; want %s\n", row->msg,
                            failed, set, row->want);
                fail();
        }
        if (row->want[0] == '#' || row->want[0] == '?') {
                assert_int_equal(event_get_num(ev, key, &num), 1);
                assert_int_equal(num, strtoll(row->want + 1, NULL, 10));
                assert_int_equal(event_get_all(ev, key, &fl, 1), 1);
                assert_int_equal(fl->kind == VAL_BOOL, row->want[0] == '?');
        } else if (set) {
                p = event_get_str(ev, key, &n);
                assert_non_null(p);
                tu_bytes_equal(row->msg, row->want, strlen(row->want), p, n);
        }
}

/* The conversion rules of conv_file loaded beside the real generic.json. */
struct conv_env {
        char dir[512];
        struct keys *keys;
        struct mapping_set *ms;
        const struct mapping *m;
        struct event *ev;
        unsigned key;
};

static void conv_env_open(struct conv_env *ce)
{
        char path[1024];
        struct diag err = { 0 };
        int key;

        memset(ce, 0, sizeof(*ce));
        ce->keys = keys_new();
        assert_non_null(ce->keys);
        tu_tmpdir(ce->dir, sizeof(ce->dir));
        snprintf(path, sizeof(path), "%s/generic.json", mappings_dir());
        tu_copy_file(path, ce->dir, "generic.json");
        tu_write_file(ce->dir, "conv.json", conv_file);
        if (mapping_load(&ce->ms, ce->dir, ce->keys, 1, &err) != 0)
                fail_msg("conv.json:%u: %s: %s", err.line, err.key, err.text);
        assert_int_equal(keys_finish(ce->keys, &err), 0);
        key = keys_find(ce->keys, "test.v");
        assert_true(key >= 0);
        ce->key = (unsigned)key;
        ce->m = mapping_for_type(ce->ms, "convtest");
        ce->ev = event_new(ce->keys);
        assert_non_null(ce->ev);
}

static void conv_env_close(struct conv_env *ce)
{
        event_free(ce->ev);
        mapping_free(ce->ms);
        keys_free(ce->keys);
        tu_rmdir(ce->dir);
}

static void test_mapping_conversions(void **state)
{
        struct conv_env ce;
        struct tz_conv tz;
        struct mapping_ctx ctx = { .tz = &tz };

        (void)state;
        assert_int_equal(tz_init(&tz, "America/Chicago"), 0);
        conv_env_open(&ce);
        for (size_t i = 0; i < ARRAY_SIZE(conv_rows); i++)
                check_conv_row(&conv_rows[i], ce.m, &ctx, ce.ev, ce.key);
        conv_env_close(&ce);
}

/* Dates inside a line: each form, the file's day deciding an ambiguous
 * one, and the changes of daylight-saving time. */
struct date_row {
        const char *text;
        const char *zone;
        const char *file_day;   /* "YYYY.MM.DD", or "" when unknown */
        const char *record;     /* the record's own UTC time, or "" */
        const char *want;       /* UTC, or "!" when it must not convert */
};

static const struct date_row date_rows[] = {
        /* each form SmarterMail writes */
        { "10/13/2018 4:22:17 AM", "America/Chicago", "2018.10.13", "", "2018-10-13T09:22:17.000Z" },
        { "10/13/2018 04:22:17", "America/Chicago", "2018.10.13", "", "2018-10-13T09:22:17.000Z" },
        { "13-10-2018 04:22:17", "Europe/Amsterdam", "2018.10.13", "", "2018-10-13T02:22:17.000Z" },
        { "13/10/2018 04:22:17", "Europe/London", "2018.10.13", "", "2018-10-13T03:22:17.000Z" },
        { "13.10.2018 04:22:17", "Europe/Berlin", "2018.10.13", "", "2018-10-13T02:22:17.000Z" },
        { "13/10/2018 4:22:17 PM", "Etc/UTC", "", "", "2018-10-13T16:22:17.000Z" },
        { "2018-10-13 04:22:17", "Asia/Tokyo", "2018.10.13", "", "2018-10-12T19:22:17.000Z" },
        { "2018/10/13 04:22:17", "Etc/UTC", "", "", "2018-10-13T04:22:17.000Z" },
        { "2018.10.13 4:22:17 PM", "Etc/UTC", "", "", "2018-10-13T16:22:17.000Z" },
        { "2018-10-13T04:22:17.25", "Etc/UTC", "", "", "2018-10-13T04:22:17.250Z" },
        { "10-13-2018 4:22:17 am", "Etc/UTC", "", "", "2018-10-13T04:22:17.000Z" },
        { "1/2/2019 12:00:00 AM", "Etc/UTC", "2019.01.02", "", "2019-01-02T00:00:00.000Z" },
        /* both parts 12 or less: the reading that is the file's day wins */
        { "05/07/2018 10:54:21 PM", "America/Chicago", "2018.05.07", "", "2018-05-08T03:54:21.000Z" },
        { "05/07/2018 10:54:21 PM", "America/Chicago", "2018.07.05", "", "2018-07-06T03:54:21.000Z" },
        { "05-07-2018 10:54:21", "Etc/UTC", "2018.07.05", "", "2018-07-05T10:54:21.000Z" },
        { "05-07-2018 10:54:21", "Etc/UTC", "2018.05.07", "", "2018-05-07T10:54:21.000Z" },
        { "05.07.2018 23:59:00", "Etc/UTC", "2018.07.06", "", "2018-07-05T23:59:00.000Z" },
        { "06.07.2018 23:59:00", "Etc/UTC", "2018.06.08", "", "2018-06-07T23:59:00.000Z" },
        /* ... else the reading nearer the file's day */
        { "05/07/2018 00:00:00", "Etc/UTC", "2018.06.20", "", "2018-07-05T00:00:00.000Z" },
        { "05.07.2018 00:00:00", "Etc/UTC", "2018.05.20", "", "2018-05-07T00:00:00.000Z" },
        /* ... else '/' is month-first, '-' and '.' day-first */
        { "05/07/2018 10:00:00", "Etc/UTC", "", "", "2018-05-07T10:00:00.000Z" },
        { "05-07-2018 10:00:00", "Etc/UTC", "", "", "2018-07-05T10:00:00.000Z" },
        { "05.07.2018 10:00:00", "Etc/UTC", "", "", "2018-07-05T10:00:00.000Z" },
        { "07/07/2018 10:00:00", "Etc/UTC", "2018.01.01", "", "2018-07-07T10:00:00.000Z" },
        /* daylight-saving time: the skipped hour reads with the offset
         * before the jump; the repeated hour takes the instant nearer the
         * record */
        { "3/8/2026 1:59:59 AM", "America/Chicago", "2026.03.08", "", "2026-03-08T07:59:59.000Z" },
        { "3/8/2026 2:30:00 AM", "America/Chicago", "2026.03.08", "", "2026-03-08T08:30:00.000Z" },
        { "3/8/2026 3:00:00 AM", "America/Chicago", "2026.03.08", "", "2026-03-08T08:00:00.000Z" },
        { "11/1/2026 1:30:00 AM", "America/Chicago", "2026.11.01", "", "2026-11-01T06:30:00.000Z" },
        { "11/1/2026 1:30:00 AM", "America/Chicago", "2026.11.01", "2026-11-01T06:40:00.000Z",
          "2026-11-01T06:30:00.000Z" },
        { "11/1/2026 1:30:00 AM", "America/Chicago", "2026.11.01", "2026-11-01T07:40:00.000Z",
          "2026-11-01T07:30:00.000Z" },
        { "11/1/2026 2:00:00 AM", "America/Chicago", "2026.11.01", "", "2026-11-01T08:00:00.000Z" },
        { "29.03.2026 02:30:00", "Europe/Berlin", "2026.03.29", "", "2026-03-29T01:30:00.000Z" },
        { "25.10.2026 02:30:00", "Europe/Berlin", "2026.10.25", "", "2026-10-25T00:30:00.000Z" },
        { "25-10-2026 02:30:00", "Europe/Berlin", "2026.10.25", "2026-10-25T01:31:00.000Z",
          "2026-10-25T01:30:00.000Z" },
        { "2026-10-04 02:30:00", "Australia/Sydney", "2026.10.04", "", "2026-10-03T16:30:00.000Z" },
        /* not a date and time */
        { "31/02/2018 10:00:00", "Etc/UTC", "", "", "!" },
        { "13/13/2018 10:00:00", "Etc/UTC", "", "", "!" },
        { "2018-13-01 10:00:00", "Etc/UTC", "", "", "!" },
        { "10/13/2018", "Etc/UTC", "", "", "!" },
        { "10/13/18 4:22:17 AM", "Etc/UTC", "", "", "!" },
        { "13-10/2018 04:22:17", "Etc/UTC", "", "", "!" },
        { "13-10-2018 04:22:17 XM", "Etc/UTC", "", "", "!" },
        { "13-10-2018 13:22:17 PM", "Etc/UTC", "", "", "!" },
        { "2018-10-13 04:22:17 extra", "Etc/UTC", "", "", "!" },
        { "2018-10-13 04:22", "Etc/UTC", "", "", "!" },
        { "13-10-2018  04:22:17", "Etc/UTC", "", "", "!" },
        { "1/2/3 4:05:06", "Etc/UTC", "", "", "!" },
        { "10/13/1969 4:22:17 AM", "Etc/UTC", "", "", "!" },
};

static int64_t utc_ms(const char *iso)
{
        int y, mo, d, h, mi, s, ms;

        if (sscanf(iso, "%d-%d-%dT%d:%d:%d.%dZ", &y, &mo, &d, &h, &mi, &s, &ms) != 7)
                fail_msg("bad row time %s", iso);
        return (stamp_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000 + ms;
}

static void check_date_row(const struct date_row *row, const struct mapping *m,
                           struct event *ev, unsigned key)
{
        char msg[128];
        struct tz_conv tz;
        struct mapping_ctx ctx = { .tz = &tz };
        int y, mo, d, failed;
        const char *p;
        size_t n;

        assert_int_equal(tz_init(&tz, row->zone), 0);
        if (row->file_day[0]) {
                assert_int_equal(stamp_parse_date(row->file_day, 10, &y, &mo, &d), 0);
                ctx.day.known = 1;
                ctx.day.day = stamp_days_from_civil(y, mo, d);
        }
        snprintf(msg, sizeof(msg), "usdate %s", row->text);
        event_reset(ev);
        ev->ts_ms = row->record[0] ? utc_ms(row->record) : 0;
        assert_int_equal(mapping_apply(m, &ctx, ev, NULL, 0, msg, strlen(msg)), 1);
        failed = has_tag(ev, "smartermail_conversion_failed");
        p = event_get_str(ev, key, &n);
        if (row->want[0] == '!' ? !failed || p : failed || !p ||
            n != strlen(row->want) || memcmp(p, row->want, n) != 0) {
                print_error("%s in %s, file day %s: got %.*s (failed %d), want %s\n", row->text,
                            row->zone, row->file_day, p ? (int)n : 4, p ? p : "none", failed,
                            row->want);
                fail();
        }
}

static void test_mapping_dates(void **state)
{
        struct conv_env ce;

        (void)state;
        conv_env_open(&ce);
        for (size_t i = 0; i < ARRAY_SIZE(date_rows); i++)
                check_date_row(&date_rows[i], ce.m, ce.ev, ce.key);
        conv_env_close(&ce);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_mapping_brackets),
                cmocka_unit_test(test_mapping_load_errors),
                cmocka_unit_test(test_mapping_load_missing_dir),
                cmocka_unit_test(test_mapping_load_real),
                cmocka_unit_test(test_mapping_conversions),
                cmocka_unit_test(test_mapping_dates),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
