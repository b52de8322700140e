/* SPDX-License-Identifier: MIT */
/* Loading mapping files: one JSON object (comments allowed) per file, read
 * with libfastjson; rules are PCRE2 patterns, JIT compiled, with named
 * groups feeding field templates. Errors name file:line: key; the line is
 * found by looking up the rule's name and the key in the file text, since
 * the JSON tree keeps no positions. Every error is reported, not only the
 * first. */
#include "core/mapping_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libfastjson/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const conv_names[] = {
        [CONV_NONE] = "", [CONV_NUMBER] = "number", [CONV_BOOLEAN] = "boolean",
        [CONV_UPPER] = "upper", [CONV_LOWER] = "lower", [CONV_USDATE] = "usdate",
        [CONV_USTIME] = "ustime", [CONV_SPOOLID] = "spoolid", [CONV_TRIM] = "trim",
};

/* ---- loading ---------------------------------------------------------- */

struct loader {
        const char *path;
        const char *text;
        size_t len;
        struct keys *keys;
        int print_all;
        int nerr;
        struct diag *first;
};

static unsigned line_at(const char *text, size_t off)
{
        unsigned line = 1;

        for (size_t i = 0; i < off; i++)
                line += text[i] == '\n';
        return line;
}

/* Offset of "needle" (quoted) in text at or after from, or -1. */
static long find_quoted(const struct loader *ld, size_t from, const char *needle)
{
        size_t nl = strlen(needle);

        for (size_t i = from; i + nl + 2 <= ld->len; i++)
                if (ld->text[i] == '"' && memcmp(ld->text + i + 1, needle, nl) == 0 &&
                    ld->text[i + 1 + nl] == '"')
                        return (long)i;
        return -1;
}

/* Offset of the "rule": "name" pair that names a rule, or -1. The name
 * alone is not enough: an earlier value may be the same word. */
static long find_rule(const struct loader *ld, const char *name)
{
        size_t nl = strlen(name);
        long at = -1;

        while ((at = find_quoted(ld, (size_t)(at + 1), "rule")) >= 0) {
                size_t i = (size_t)at + 6;

                while (i < ld->len && ld->text[i] && strchr(" \t\r\n:", ld->text[i]))
                        i++;
                if (i + nl + 2 <= ld->len && ld->text[i] == '"' &&
                    memcmp(ld->text + i + 1, name, nl) == 0 && ld->text[i + 1 + nl] == '"')
                        return at;
        }
        return -1;
}

/* Report a problem with rule (may be NULL: the file header) and key. */
__attribute__((format(printf, 4, 5)))
static void lerr(struct loader *ld, const char *rule, const char *key, const char *fmt, ...)
{
        struct diag d;
        char key_text[sizeof(d.key)];
        long at = 0, k;
        va_list ap;

        if (rule && (at = find_rule(ld, rule)) < 0)
                at = 0;
        if (key && (k = find_quoted(ld, (size_t)at, key)) >= 0)
                at = k;
        d.file = ld->path;
        d.line = line_at(ld->text, (size_t)at);
        if (rule)
                snprintf(key_text, sizeof(key_text), "rule %.60s%s%.90s", rule,
                         key ? ": " : "", key ? key : "");
        else
                snprintf(key_text, sizeof(key_text), "%s", key ? key : "");
        snprintf(d.key, sizeof(d.key), "%s", key_text);
        va_start(ap, fmt);
        vsnprintf(d.text, sizeof(d.text), fmt, ap);
        va_end(ap);
        if (ld->print_all)
                diag_print(&d);
        if (ld->nerr++ == 0 && ld->first)
                *ld->first = d;
}

static int parse_conv(const char *name, size_t len)
{
        for (size_t i = 1; i < sizeof(conv_names) / sizeof(conv_names[0]); i++)
                if (strlen(conv_names[i]) == len && memcmp(conv_names[i], name, len) == 0)
                        return (int)i;
        return -1;
}

static char *dup_n(const char *p, size_t n)
{
        char *s = malloc(n + 1);

        if (s) {
                memcpy(s, p, n);
                s[n] = '\0';
        }
        return s;
}

/* Compile "text ${group} text ${group:conv}" against re (NULL: constants
 * only, as in a file's "fields"). */
static int compile_template(struct loader *ld, const char *rule, const char *field,
                            const pcre2_code *re, const char *s, struct setter *st)
{
        size_t n = strlen(s), i = 0;

        st->kind = SET_TPL;
        st->nparts = 0;
        if (!strstr(s, "${")) {
                st->kind = SET_STR;
                st->str = dup_n(s, n);
                st->len = n;
                st->safe = event_text_safe(s, n);
                return st->str ? 0 : -ENOMEM;
        }
        while (i < n) {
                struct part *pt;
                const char *open = strstr(s + i, "${");
                size_t lit_end = open ? (size_t)(open - s) : n;

                if (st->nparts + 2 > MAPPING_TEMPLATE_PARTS) {
                        lerr(ld, rule, field, "template has more than %d parts",
                             MAPPING_TEMPLATE_PARTS);
                        return -EINVAL;
                }
                if (lit_end > i) {
                        pt = &st->parts[st->nparts++];
                        pt->lit = dup_n(s + i, lit_end - i);
                        pt->lit_len = lit_end - i;
                        pt->group = -1;
                        if (!pt->lit)
                                return -ENOMEM;
                }
                if (!open)
                        break;
                const char *close = strchr(open, '}');
                const char *colon;
                char gname[64];
                size_t glen;
                int conv = CONV_NONE, g;

                if (!close) {
                        lerr(ld, rule, field, "'${' without '}'");
                        return -EINVAL;
                }
                colon = memchr(open + 2, ':', (size_t)(close - open - 2));
                glen = (size_t)((colon ? colon : close) - open - 2);
                if (colon && (conv = parse_conv(colon + 1, (size_t)(close - colon - 1))) < 0) {
                        lerr(ld, rule, field, "unknown conversion '%.*s' (number, boolean, "
                             "upper, lower, usdate, ustime, spoolid, trim)",
                             (int)(close - colon - 1), colon + 1);
                        return -EINVAL;
                }
                if (glen == 0 || glen >= sizeof(gname)) {
                        lerr(ld, rule, field, "empty or overlong group name");
                        return -EINVAL;
                }
                memcpy(gname, open + 2, glen);
                gname[glen] = '\0';
                if (!re) {
                        lerr(ld, rule, field, "'${%s}' outside a rule", gname);
                        return -EINVAL;
                }
                if (gname[0] >= '0' && gname[0] <= '9') {
                        uint32_t cap = 0;
                        pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &cap);
                        g = atoi(gname);
                        if ((uint32_t)g > cap)
                                g = PCRE2_ERROR_NOSUBSTRING;
                } else {
                        g = pcre2_substring_number_from_name(re, (PCRE2_SPTR)gname);
                }
                if (g < 0) {
                        lerr(ld, rule, field, "the pattern has no group '%s'", gname);
                        return -EINVAL;
                }
                /* the match data holds groups 0..MAPPING_GROUPS_MAX only */
                if (g > MAPPING_GROUPS_MAX) {
                        lerr(ld, rule, field, "group '%s' is number %d; a template may use "
                             "groups 1 to %d", gname, g, MAPPING_GROUPS_MAX);
                        return -EINVAL;
                }
                pt = &st->parts[st->nparts++];
                pt->lit = NULL;
                pt->lit_len = 0;
                pt->group = g;
                pt->conv = (enum conv)conv;
                i = (size_t)(close - s) + 1;
        }
        if (st->nparts > 1) {
                for (unsigned p = 0; p < st->nparts; p++)
                        if (st->parts[p].lit == NULL && (st->parts[p].conv == CONV_NUMBER ||
                                                         st->parts[p].conv == CONV_BOOLEAN)) {
                                lerr(ld, rule, field, "number/boolean conversion must be the "
                                     "whole value");
                                return -EINVAL;
                        }
        }
        return 0;
}

static int add_key(struct loader *ld, const char *rule, const char *field)
{
        int k = keys_intern(ld->keys, field, strlen(field));

        if (k < 0)
                lerr(ld, rule, field, k == -ENOSPC ? "more than %d distinct fields"
                     : "bad field name (letters, digits, '_', '@', '-', dot-separated)%.0d",
                     KEYS_MAX);
        return k;
}

/* Free what a setter owns; it may be half built (memset to 0 first). */
static void setter_done(struct setter *st)
{
        free(st->str);
        st->str = NULL;
        for (unsigned p = 0; p < st->nparts; p++)
                free(st->parts[p].lit);
        st->nparts = 0;
}

/* One "field": value pair into setters (an array value gives one setter per
 * item). */
static int compile_set(struct loader *ld, const char *rule, const pcre2_code *re,
                       const char *field, fjson_object *val, struct setter *set,
                       unsigned *nset)
{
        int k = add_key(ld, rule, field);
        int n = 1, is_arr = fjson_object_is_type(val, fjson_type_array);

        if (k < 0)
                return -EINVAL;
        if (is_arr) {
                n = fjson_object_array_length(val);
                if (!ld->keys->k[k].is_array) {
                        lerr(ld, rule, field, "a list is only allowed for array fields "
                             "(see docs/fields.md)");
                        return -EINVAL;
                }
        }
        for (int i = 0; i < n; i++) {
                fjson_object *v = is_arr ? fjson_object_array_get_idx(val, i) : val;
                struct setter *st;
                int r;

                if (*nset >= MAPPING_SETS_MAX) {
                        lerr(ld, rule, field, "more than %d values set by one rule",
                             MAPPING_SETS_MAX);
                        return -EINVAL;
                }
                st = &set[*nset];
                memset(st, 0, sizeof(*st));
                st->key = (uint16_t)k;
                switch (fjson_object_get_type(v)) {
                case fjson_type_string:
                        r = compile_template(ld, rule, field, re, fjson_object_get_string(v), st);
                        if (r < 0) {
                                setter_done(st);        /* the parts made before the error */
                                return r;
                        }
                        break;
                case fjson_type_int:
                        st->kind = SET_NUM;
                        st->num = fjson_object_get_int64(v);
                        break;
                case fjson_type_boolean:
                        st->kind = SET_BOOL;
                        st->num = fjson_object_get_boolean(v);
                        break;
                case fjson_type_null:
                case fjson_type_double:
                case fjson_type_object:
                case fjson_type_array:
                default:
                        lerr(ld, rule, field, "value must be a string, an integer, a boolean "
                             "or a list of strings");
                        return -EINVAL;
                }
                (*nset)++;
        }
        return 0;
}

static int compile_sets(struct loader *ld, const char *rule, const pcre2_code *re,
                        fjson_object *obj, struct setter *set, unsigned *nset)
{
        struct fjson_object_iterator it, end;
        int ret = 0;

        if (!fjson_object_is_type(obj, fjson_type_object)) {
                lerr(ld, rule, re ? "set" : "fields", "must be an object of field: value");
                return -EINVAL;
        }
        it = fjson_object_iter_begin(obj);
        end = fjson_object_iter_end(obj);
        for (; !fjson_object_iter_equal(&it, &end); fjson_object_iter_next(&it)) {
                int r = compile_set(ld, rule, re, fjson_object_iter_peek_name(&it),
                                    fjson_object_iter_peek_value(&it), set, nset);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        ret = r;
        }
        return ret;
}

static int parse_severity(const char *s)
{
        static const struct { const char *name; int sev; } tab[] = {
                { "info", SEV_INFO }, { "notice", SEV_NOTICE },
                { "warning", SEV_WARNING }, { "err", SEV_ERR }, { "error", SEV_ERR },
        };

        for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
                if (strcmp(s, tab[i].name) == 0)
                        return tab[i].sev;
        return -1;
}

/* The literal text a pattern anchored with '^' must start with. */
static void literal_prefix(const char *pat, struct rule *r)
{
        char tmp[64];
        size_t n = 0;

        r->prefix = NULL;
        r->prefix_len = 0;
        if (pat[0] != '^')
                return;
        for (const char *p = pat + 1; *p && n < sizeof(tmp); p++) {
                if (strchr("\\.[]()*+?{}|^$ #", *p) && !(*p == ' '))
                        break;
                tmp[n++] = *p;
        }
        /* a quantifier applies to the last character: it is not required */
        {
                const char *after = pat + 1 + n;
                if (n && (*after == '*' || *after == '?' || *after == '{'))
                        n--;
        }
        if (n)
                r->prefix = dup_n(tmp, n);
        if (r->prefix)
                r->prefix_len = n;
}

static const char *const rule_keys[] = { "rule", "match", "set", "severity", "continue",
                                         "example", "description" };

static int known_key(const char *key, const char *const *tab, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(key, tab[i]) == 0)
                        return 1;
        return 0;
}

static int check_keys(struct loader *ld, const char *rule, fjson_object *obj,
                      const char *const *tab, size_t n)
{
        struct fjson_object_iterator it = fjson_object_iter_begin(obj);
        struct fjson_object_iterator end = fjson_object_iter_end(obj);
        int ret = 0;

        for (; !fjson_object_iter_equal(&it, &end); fjson_object_iter_next(&it))
                if (!known_key(fjson_object_iter_peek_name(&it), tab, n)) {
                        lerr(ld, rule, fjson_object_iter_peek_name(&it), "unknown key");
                        ret = -EINVAL;
                }
        return ret;
}

static fjson_object *get(fjson_object *obj, const char *key)
{
        fjson_object *v = NULL;

        return fjson_object_object_get_ex(obj, key, &v) ? v : NULL;
}

static int compile_rule(struct loader *ld, struct mapping *m, fjson_object *obj, unsigned idx)
{
        struct rule *r = &m->rules[idx];
        fjson_object *v;
        const char *pat;
        char name[64];
        int errcode, ret = 0;
        PCRE2_SIZE erroff;

        if (!fjson_object_is_type(obj, fjson_type_object)) {
                lerr(ld, NULL, "rules", "rule %u is not an object", idx + 1);
                return -EINVAL;
        }
        v = get(obj, "rule");
        if (!v || !fjson_object_is_type(v, fjson_type_string) ||
            !fjson_object_get_string(v)[0]) {
                lerr(ld, NULL, "rules", "rule %u has no \"rule\" name", idx + 1);
                return -EINVAL;
        }
        snprintf(name, sizeof(name), "%s", fjson_object_get_string(v));
        r->name = strdup(name);
        if (!r->name)
                return -ENOMEM;
        for (unsigned i = 0; i < idx; i++)
                if (m->rules[i].name && strcmp(m->rules[i].name, name) == 0) {
                        lerr(ld, name, "rule", "duplicate rule name");
                        ret = -EINVAL;
                }
        if (check_keys(ld, name, obj, rule_keys, sizeof(rule_keys) / sizeof(rule_keys[0])) < 0)
                ret = -EINVAL;
        v = get(obj, "match");
        if (!v || !fjson_object_is_type(v, fjson_type_string)) {
                lerr(ld, name, "match", "missing or not a string");
                return -EINVAL;
        }
        pat = fjson_object_get_string(v);
        r->re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &errcode,
                              &erroff, NULL);
        if (!r->re) {
                PCRE2_UCHAR msg[256];
                pcre2_get_error_message(errcode, msg, sizeof(msg));
                lerr(ld, name, "match", "bad pattern at offset %zu: %s", (size_t)erroff,
                     (const char *)msg);
                return -EINVAL;
        }
        /* JIT is an optimisation: without it (an odd platform) we still match */
        (void)pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE);
        literal_prefix(pat, r);
        if ((v = get(obj, "set"))) {
                int e = compile_sets(ld, name, r->re, v, r->set, &r->nset);
                if (e == -ENOMEM)
                        return e;
                if (e < 0)
                        ret = e;
        }
        if ((v = get(obj, "severity"))) {
                r->severity = fjson_object_is_type(v, fjson_type_string)
                              ? parse_severity(fjson_object_get_string(v)) : -1;
                if (r->severity < 0) {
                        lerr(ld, name, "severity", "must be info, notice, warning or err");
                        ret = -EINVAL;
                }
        }
        if ((v = get(obj, "continue"))) {
                if (!fjson_object_is_type(v, fjson_type_boolean)) {
                        lerr(ld, name, "continue", "must be true or false");
                        ret = -EINVAL;
                }
                r->cont = fjson_object_get_boolean(v);
        }
        if ((v = get(obj, "example"))) {
                const char *ex = fjson_object_is_type(v, fjson_type_string)
                                 ? fjson_object_get_string(v) : NULL;
                pcre2_match_data *md = pcre2_match_data_create_from_pattern(r->re, NULL);

                if (!md)
                        return -ENOMEM;
                if (!ex || pcre2_match(r->re, (PCRE2_SPTR)ex, strlen(ex), 0, 0, md, NULL) < 0 ||
                    (r->prefix && strncmp(ex, r->prefix, r->prefix_len) != 0)) {
                        lerr(ld, name, "example", "the example does not match the pattern");
                        ret = -EINVAL;
                }
                pcre2_match_data_free(md);
        }
        return ret;
}

static const char *const file_keys[] = { "log_types", "log_type", "brackets", "fields",
                                         "rules", "description" };

static int load_brackets(struct loader *ld, struct mapping *m, fjson_object *obj)
{
        static const char *const kinds[] = { [BR_IP] = "ip", [BR_ID] = "id", [BR_TAG] = "tag" };
        int ret = 0;

        if (!fjson_object_is_type(obj, fjson_type_object)) {
                lerr(ld, NULL, "brackets", "must be an object like {\"ip\": \"source.ip\"}");
                return -EINVAL;
        }
        if (check_keys(ld, NULL, obj, kinds, 3) < 0)
                ret = -EINVAL;
        for (int i = 0; i < 3; i++) {
                fjson_object *v = get(obj, kinds[i]);
                int is_arr = v && fjson_object_is_type(v, fjson_type_array);
                int n = is_arr ? fjson_object_array_length(v) : 1;

                if (!v)
                        continue;
                if (n > BRACKET_FIELDS_MAX) {
                        lerr(ld, NULL, kinds[i], "at most %d fields", BRACKET_FIELDS_MAX);
                        ret = -EINVAL;
                        continue;
                }
                for (int j = 0; j < n; j++) {
                        fjson_object *f = is_arr ? fjson_object_array_get_idx(v, j) : v;
                        if (!fjson_object_is_type(f, fjson_type_string)) {
                                lerr(ld, NULL, kinds[i], "must be a field name or a list of them");
                                ret = -EINVAL;
                                break;
                        }
                        m->br_key[i][j] = add_key(ld, NULL, fjson_object_get_string(f));
                        if (m->br_key[i][j] < 0)
                                ret = -EINVAL;
                }
        }
        return ret;
}

static int load_object(struct loader *ld, struct mapping *m, fjson_object *root)
{
        fjson_object *v;
        unsigned n;
        int ret = 0;

        if (!fjson_object_is_type(root, fjson_type_object)) {
                lerr(ld, NULL, NULL, "the file must hold one JSON object");
                return -EINVAL;
        }
        if (check_keys(ld, NULL, root, file_keys, sizeof(file_keys) / sizeof(file_keys[0])) < 0)
                ret = -EINVAL;
        v = get(root, "log_types");
        if (!v || !fjson_object_is_type(v, fjson_type_array) ||
            fjson_object_array_length(v) == 0) {
                lerr(ld, NULL, "log_types", "missing: a list of log type words, or [\"*\"]");
                return -EINVAL;
        }
        n = (unsigned)fjson_object_array_length(v);
        m->types = calloc(n, sizeof(*m->types));
        if (!m->types)
                return -ENOMEM;
        /* ntypes counts the types set: after an error, check_types (which
         * still runs, to report every problem) must not meet a NULL */
        for (unsigned i = 0; i < n; i++) {
                fjson_object *t = fjson_object_array_get_idx(v, (int)i);
                if (!fjson_object_is_type(t, fjson_type_string)) {
                        lerr(ld, NULL, "log_types", "must hold strings");
                        return -EINVAL;
                }
                m->types[i] = strdup(fjson_object_get_string(t));
                if (!m->types[i])
                        return -ENOMEM;
                m->ntypes++;
                if (strcmp(m->types[i], "*") == 0)
                        m->generic = 1;
        }
        if ((v = get(root, "log_type"))) {
                if (!fjson_object_is_type(v, fjson_type_string)) {
                        lerr(ld, NULL, "log_type", "must be a string");
                        ret = -EINVAL;
                } else if (!(m->log_type = strdup(fjson_object_get_string(v)))) {
                        return -ENOMEM;
                }
        } else if (!m->generic) {
                lerr(ld, NULL, "log_type", "missing (the smartermail.log_type value)");
                ret = -EINVAL;
        }
        if ((v = get(root, "brackets")) && load_brackets(ld, m, v) < 0)
                ret = -EINVAL;
        if ((v = get(root, "fields"))) {
                int e = compile_sets(ld, NULL, NULL, v, m->consts, &m->nconst);
                if (e == -ENOMEM)
                        return e;
                if (e < 0)
                        ret = e;
        }
        v = get(root, "rules");
        if (v && !fjson_object_is_type(v, fjson_type_array)) {
                lerr(ld, NULL, "rules", "must be a list of rules");
                return -EINVAL;
        }
        m->nrules = v ? (unsigned)fjson_object_array_length(v) : 0;
        if (m->nrules > MAPPING_RULES_MAX) {
                lerr(ld, NULL, "rules", "more than %d rules", MAPPING_RULES_MAX);
                return -EINVAL;
        }
        m->rules = calloc(m->nrules ? m->nrules : 1, sizeof(*m->rules));
        if (!m->rules)
                return -ENOMEM;
        for (unsigned i = 0; i < m->nrules; i++) {
                int e = compile_rule(ld, m, fjson_object_array_get_idx(v, (int)i), i);
                if (e == -ENOMEM)
                        return e;
                if (e < 0)
                        ret = e;
        }
        return ret;
}

/* Skip white space and comments; returns the offset of the next byte. */
static size_t skip_ws(const char *t, size_t n, size_t i)
{
        while (i < n) {
                if (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n') {
                        i++;
                } else if (t[i] == '/' && i + 1 < n && t[i + 1] == '/') {
                        while (i < n && t[i] != '\n')
                                i++;
                } else if (t[i] == '/' && i + 1 < n && t[i + 1] == '*') {
                        const char *e = strstr(t + i + 2, "*/");
                        if (!e)
                                return i;
                        i = (size_t)(e - t) + 2;
                } else {
                        break;
                }
        }
        return i;
}

static int read_all(const char *path, char **ret_text, size_t *ret_len)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        char *text;
        size_t got = 0;

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || st.st_size > (off_t)MAPPING_FILE_BYTES) {
                int e = st.st_size > (off_t)MAPPING_FILE_BYTES ? EFBIG : errno;
                close(fd);
                return -e;
        }
        text = malloc((size_t)st.st_size + 1);
        if (!text) {
                close(fd);
                return -ENOMEM;
        }
        while (got < (size_t)st.st_size) {
                ssize_t r = read(fd, text + got, (size_t)st.st_size - got);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                got += (size_t)r;
        }
        close(fd);
        text[got] = '\0';
        *ret_text = text;
        *ret_len = got;
        return 0;
}

static int load_file(struct loader *ld, struct mapping *m)
{
        struct fjson_tokener *tok;
        fjson_object *root;
        int ret;

        tok = fjson_tokener_new();
        if (!tok)
                return -ENOMEM;
        root = fjson_tokener_parse_ex(tok, ld->text, (int)ld->len);
        if (!root) {
                enum fjson_tokener_error e = fjson_tokener_get_error(tok);
                struct loader at = *ld;
                at.len = (size_t)tok->char_offset;
                /* report the line the tokenizer stopped on */
                {
                        struct diag d = { .file = ld->path,
                                          .line = line_at(ld->text, (size_t)tok->char_offset) };
                        snprintf(d.text, sizeof(d.text), "invalid JSON: %s",
                                 e == fjson_tokener_continue ? "unexpected end of file"
                                                             : fjson_tokener_error_desc(e));
                        if (ld->print_all)
                                diag_print(&d);
                        if (ld->nerr++ == 0 && ld->first)
                                *ld->first = d;
                }
                (void)at;
                fjson_tokener_free(tok);
                return -EINVAL;
        }
        if (skip_ws(ld->text, ld->len, (size_t)tok->char_offset) < ld->len) {
                struct diag d = { .file = ld->path,
                                  .line = line_at(ld->text, (size_t)tok->char_offset) };
                snprintf(d.text, sizeof(d.text), "text after the end of the JSON object");
                if (ld->print_all)
                        diag_print(&d);
                if (ld->nerr++ == 0 && ld->first)
                        *ld->first = d;
                fjson_object_put(root);
                fjson_tokener_free(tok);
                return -EINVAL;
        }
        fjson_tokener_free(tok);
        ret = load_object(ld, m, root);
        fjson_object_put(root);
        return ret;
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static void mapping_done(struct mapping *m)
{
        for (unsigned i = 0; m->types && i < m->ntypes; i++)
                free(m->types[i]);
        free(m->types);
        free(m->log_type);
        free(m->path);
        for (unsigned i = 0; i < m->nconst; i++)
                setter_done(&m->consts[i]);
        for (unsigned i = 0; m->rules && i < m->nrules; i++) {
                struct rule *r = &m->rules[i];
                free(r->name);
                free(r->prefix);
                pcre2_code_free(r->re);
                for (unsigned s = 0; s < r->nset; s++)
                        setter_done(&r->set[s]);
        }
        free(m->rules);
}

void mapping_free(struct mapping_set *ms)
{
        if (!ms)
                return;
        for (unsigned i = 0; i < ms->n; i++)
                mapping_done(&ms->m[i]);
        pcre2_match_data_free(ms->md);
        free(ms);
}

/* Check that no two files claim one type and that one file is generic. */
static int check_types(struct loader *ld, struct mapping_set *ms)
{
        int ret = 0;

        for (unsigned i = 0; i < ms->n; i++)
                for (unsigned t = 0; t < ms->m[i].ntypes; t++)
                        for (unsigned j = 0; j <= i; j++)
                                for (unsigned u = 0; u < (j == i ? t : ms->m[j].ntypes); u++)
                                        if (strcmp(ms->m[i].types[t], ms->m[j].types[u]) == 0) {
                                                ld->path = ms->m[i].path;
                                                ld->text = "";
                                                ld->len = 0;
                                                lerr(ld, NULL, "log_types",
                                                     "type %s is already mapped by %s",
                                                     ms->m[i].types[t], ms->m[j].path);
                                                ret = -EINVAL;
                                        }
        for (unsigned i = 0; i < ms->n; i++)
                if (ms->m[i].generic)
                        ms->generic = &ms->m[i];
        return ret;
}

int mapping_load(struct mapping_set **ret, const char *dir, struct keys *keys,
                 int print_all, struct diag *err)
{
        struct loader ld = { .keys = keys, .print_all = print_all, .first = err };
        struct mapping_set *ms;
        char *names[MAPPING_FILES_MAX];
        unsigned nnames = 0;
        struct dirent *de;
        DIR *d;
        int r = 0;

        d = opendir(dir);
        if (!d) {
                int e = errno;
                return diag_set(err, e, dir, 0, NULL, "cannot open the mappings directory: %s",
                                strerror(e));
        }
        ms = calloc(1, sizeof(*ms));
        if (!ms) {
                closedir(d);
                return -ENOMEM;
        }
        while ((de = readdir(d))) {
                size_t l = strlen(de->d_name);
                if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0 || de->d_name[0] == '.')
                        continue;
                if (nnames == MAPPING_FILES_MAX) {
                        r = diag_set(err, EINVAL, dir, 0, NULL, "more than %d mapping files",
                                     MAPPING_FILES_MAX);
                        break;
                }
                if (!(names[nnames] = malloc(strlen(dir) + l + 2))) {
                        r = -ENOMEM;
                        break;
                }
                sprintf(names[nnames++], "%s/%s", dir, de->d_name);
        }
        closedir(d);
        qsort(names, nnames, sizeof(names[0]), cmp_names);
        for (unsigned i = 0; r == 0 && i < nnames; i++) {
                struct mapping *m = &ms->m[ms->n++];
                char *text = NULL;
                int e;

                m->set = ms;
                m->path = names[i];
                names[i] = NULL;
                for (int k = 0; k < 3; k++)
                        for (int j = 0; j < BRACKET_FIELDS_MAX; j++)
                                m->br_key[k][j] = -1;
                e = read_all(m->path, &text, &ld.len);
                if (e < 0) {
                        r = diag_set(err, -e, m->path, 0, NULL, "cannot read: %s", strerror(-e));
                        if (print_all)
                                diag_print(err);
                        break;
                }
                ld.path = m->path;
                ld.text = text;
                e = load_file(&ld, m);
                free(text);
                if (e == -ENOMEM)
                        r = e;
        }
        for (unsigned i = 0; i < nnames; i++)
                free(names[i]);
        if (r == 0 && check_types(&ld, ms) < 0)
                r = -EINVAL;
        if (r == 0 && ld.nerr)
                r = -EINVAL;
        if (r == 0 && !ms->generic) {
                r = diag_set(err, EINVAL, dir, 0, NULL,
                             "no generic mapping (a file with \"log_types\": [\"*\"])");
                if (print_all)
                        diag_print(err);
        }
        if (r == 0 && !(ms->md = pcre2_match_data_create(MAPPING_GROUPS_MAX + 1, NULL)))
                r = -ENOMEM;
        if (r < 0) {
                /* err->file may be a mapping's path, which dies with ms */
                for (unsigned i = 0; err && err->file && i < ms->n; i++)
                        if (err->file == ms->m[i].path) {
                                snprintf(err->file_copy, sizeof(err->file_copy), "%s", err->file);
                                err->file = err->file_copy;
                        }
                mapping_free(ms);
                return r;
        }
        *ret = ms;
        return 0;
}

const struct mapping *mapping_for_type(const struct mapping_set *ms, const char *type)
{
        for (unsigned i = 0; i < ms->n; i++)
                for (unsigned t = 0; t < ms->m[i].ntypes; t++)
                        if (strcmp(ms->m[i].types[t], type) == 0)
                                return &ms->m[i];
        return ms->generic;
}

const char *mapping_log_type(const struct mapping *m)
{
        return m->log_type;
}

unsigned mapping_rule_count(const struct mapping *m)
{
        return m->nrules;
}

