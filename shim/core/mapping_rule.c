/* SPDX-License-Identifier: MIT */
/* A mapping file's object: its header (log_types, log_type, brackets,
 * fields) and its rules, each a PCRE2 pattern, JIT compiled, with setters
 * (mapping_template.c), a severity and an example that must match. Every
 * problem is reported and checking goes on, except after running out of
 * memory. Reading files is mapping_load.c's job. */
#include "core/mapping_loader.h"

#include <stdlib.h>
#include <string.h>

static const char *const rule_keys[] = { "rule", "match", "set", "severity", "continue",
                                         "example", "description" };
static const char *const file_keys[] = { "log_types", "log_type", "brackets", "fields",
                                         "rules", "description" };

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
                r->prefix = mapping_dup_n(tmp, n);
        if (r->prefix)
                r->prefix_len = n;
}

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
                        mapping_err(ld, rule, fjson_object_iter_peek_name(&it), "unknown key");
                        ret = -EINVAL;
                }
        return ret;
}

static fjson_object *get(fjson_object *obj, const char *key)
{
        fjson_object *v = NULL;

        return fjson_object_object_get_ex(obj, key, &v) ? v : NULL;
}

/* The rule's "rule" name into name (cut to size) and r->name. Returns 0,
 * -EINVAL (no name: nothing more can be reported by name) or -ENOMEM. */
static int rule_name(struct loader *ld, const struct mapping *m, fjson_object *obj, unsigned idx,
                     char *name, size_t cap)
{
        struct rule *r = &m->rules[idx];
        fjson_object *v;

        if (!fjson_object_is_type(obj, fjson_type_object)) {
                mapping_err(ld, NULL, "rules", "rule %u is not an object", idx + 1);
                return -EINVAL;
        }
        v = get(obj, "rule");
        if (!v || !fjson_object_is_type(v, fjson_type_string) ||
            !fjson_object_get_string(v)[0]) {
                mapping_err(ld, NULL, "rules", "rule %u has no \"rule\" name", idx + 1);
                return -EINVAL;
        }
        snprintf(name, cap, "%s", fjson_object_get_string(v));
        r->name = strdup(name);
        return r->name ? 0 : -ENOMEM;
}

/* Compile "match" into r->re (JIT when the platform has it) and its
 * literal prefix. Returns 0 or -EINVAL after reporting. */
static int compile_match(struct loader *ld, const char *name, fjson_object *obj, struct rule *r)
{
        fjson_object *v = get(obj, "match");
        const char *pat;
        int errcode;
        PCRE2_SIZE erroff;

        if (!v || !fjson_object_is_type(v, fjson_type_string)) {
                mapping_err(ld, name, "match", "missing or not a string");
                return -EINVAL;
        }
        pat = fjson_object_get_string(v);
        r->re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &errcode,
                              &erroff, NULL);
        if (!r->re) {
                PCRE2_UCHAR msg[256];
                pcre2_get_error_message(errcode, msg, sizeof(msg));
                mapping_err(ld, name, "match", "bad pattern at offset %zu: %s", (size_t)erroff,
                            (const char *)msg);
                return -EINVAL;
        }
        /* JIT is an optimisation: without it (an odd platform) we still match */
        (void)pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE);
        literal_prefix(pat, r);
        return 0;
}

/* "severity" and "continue". */
static int rule_flags(struct loader *ld, const char *name, fjson_object *obj, struct rule *r)
{
        fjson_object *v;
        int ret = 0;

        if ((v = get(obj, "severity"))) {
                r->severity = fjson_object_is_type(v, fjson_type_string)
                              ? parse_severity(fjson_object_get_string(v)) : -1;
                if (r->severity < 0) {
                        mapping_err(ld, name, "severity", "must be info, notice, warning or err");
                        ret = -EINVAL;
                }
        }
        if ((v = get(obj, "continue"))) {
                if (!fjson_object_is_type(v, fjson_type_boolean)) {
                        mapping_err(ld, name, "continue", "must be true or false");
                        ret = -EINVAL;
                }
                r->cont = fjson_object_get_boolean(v);
        }
        return ret;
}

/* The "example" must match the pattern, prefix included. */
static int check_example(struct loader *ld, const char *name, fjson_object *v,
                         const struct rule *r)
{
        const char *ex = fjson_object_is_type(v, fjson_type_string)
                         ? fjson_object_get_string(v) : NULL;
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(r->re, NULL);
        int ret = 0;

        if (!md)
                return -ENOMEM;
        if (!ex || pcre2_match(r->re, (PCRE2_SPTR)ex, strlen(ex), 0, 0, md, NULL) < 0 ||
            (r->prefix && strncmp(ex, r->prefix, r->prefix_len) != 0)) {
                mapping_err(ld, name, "example", "the example does not match the pattern");
                ret = -EINVAL;
        }
        pcre2_match_data_free(md);
        return ret;
}

static int compile_rule(struct loader *ld, struct mapping *m, fjson_object *obj, unsigned idx)
{
        struct rule *r = &m->rules[idx];
        fjson_object *v;
        char name[64];
        int ret = 0, e;

        if ((e = rule_name(ld, m, obj, idx, name, sizeof(name))) < 0)
                return e;
        for (unsigned i = 0; i < idx; i++)
                if (m->rules[i].name && strcmp(m->rules[i].name, name) == 0) {
                        mapping_err(ld, name, "rule", "duplicate rule name");
                        ret = -EINVAL;
                }
        if (check_keys(ld, name, obj, rule_keys, sizeof(rule_keys) / sizeof(rule_keys[0])) < 0)
                ret = -EINVAL;
        if (compile_match(ld, name, obj, r) < 0)
                return -EINVAL;
        if ((v = get(obj, "set")) &&
            mapping_fold(&ret, mapping_compile_sets(ld, name, r->re, v, r->set, &r->nset)))
                return -ENOMEM;
        if (rule_flags(ld, name, obj, r) < 0)
                ret = -EINVAL;
        if ((v = get(obj, "example")) && mapping_fold(&ret, check_example(ld, name, v, r)))
                return -ENOMEM;
        return ret;
}

static int load_brackets(struct loader *ld, struct mapping *m, fjson_object *obj)
{
        static const char *const kinds[] = { [BR_IP] = "ip", [BR_ID] = "id", [BR_TAG] = "tag" };
        int ret = 0;

        if (!fjson_object_is_type(obj, fjson_type_object)) {
                mapping_err(ld, NULL, "brackets", "must be an object like {\"ip\": \"source.ip\"}");
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
                        mapping_err(ld, NULL, kinds[i], "at most %d fields", BRACKET_FIELDS_MAX);
                        ret = -EINVAL;
                        continue;
                }
                for (int j = 0; j < n; j++) {
                        fjson_object *f = is_arr ? fjson_object_array_get_idx(v, j) : v;
                        if (!fjson_object_is_type(f, fjson_type_string)) {
                                mapping_err(ld, NULL, kinds[i],
                                            "must be a field name or a list of them");
                                ret = -EINVAL;
                                break;
                        }
                        m->br_key[i][j] = mapping_add_key(ld, NULL, fjson_object_get_string(f));
                        if (m->br_key[i][j] < 0)
                                ret = -EINVAL;
                }
        }
        return ret;
}

/* "log_types": the type words this file maps, "*" for the generic one. */
static int load_types(struct loader *ld, struct mapping *m, fjson_object *root)
{
        fjson_object *v = get(root, "log_types");
        unsigned n;

        if (!v || !fjson_object_is_type(v, fjson_type_array) ||
            fjson_object_array_length(v) == 0) {
                mapping_err(ld, NULL, "log_types", "missing: a list of log type words, or [\"*\"]");
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
                        mapping_err(ld, NULL, "log_types", "must hold strings");
                        return -EINVAL;
                }
                m->types[i] = strdup(fjson_object_get_string(t));
                if (!m->types[i])
                        return -ENOMEM;
                m->ntypes++;
                if (strcmp(m->types[i], "*") == 0)
                        m->generic = 1;
        }
        return 0;
}

/* "log_type": the smartermail.log_type value; only the generic file may
 * go without. */
static int load_log_type(struct loader *ld, struct mapping *m, fjson_object *root)
{
        fjson_object *v = get(root, "log_type");

        if (!v) {
                if (m->generic)
                        return 0;
                mapping_err(ld, NULL, "log_type", "missing (the smartermail.log_type value)");
                return -EINVAL;
        }
        if (!fjson_object_is_type(v, fjson_type_string)) {
                mapping_err(ld, NULL, "log_type", "must be a string");
                return -EINVAL;
        }
        m->log_type = strdup(fjson_object_get_string(v));
        return m->log_type ? 0 : -ENOMEM;
}

/* "rules": a list; every rule is compiled, to report every problem. */
static int load_rules(struct loader *ld, struct mapping *m, fjson_object *root)
{
        fjson_object *v = get(root, "rules");
        int ret = 0;

        if (v && !fjson_object_is_type(v, fjson_type_array)) {
                mapping_err(ld, NULL, "rules", "must be a list of rules");
                return -EINVAL;
        }
        m->nrules = v ? (unsigned)fjson_object_array_length(v) : 0;
        if (m->nrules > MAPPING_RULES_MAX) {
                mapping_err(ld, NULL, "rules", "more than %d rules", MAPPING_RULES_MAX);
                return -EINVAL;
        }
        m->rules = calloc(m->nrules ? m->nrules : 1, sizeof(*m->rules));
        if (!m->rules)
                return -ENOMEM;
        for (unsigned i = 0; i < m->nrules; i++)
                if (mapping_fold(&ret, compile_rule(ld, m, fjson_object_array_get_idx(v, (int)i),
                                                    i)))
                        return -ENOMEM;
        return ret;
}

int mapping_load_object(struct loader *ld, struct mapping *m, fjson_object *root)
{
        fjson_object *v;
        int ret = 0, e;

        if (!fjson_object_is_type(root, fjson_type_object)) {
                mapping_err(ld, NULL, NULL, "the file must hold one JSON object");
                return -EINVAL;
        }
        if (check_keys(ld, NULL, root, file_keys, sizeof(file_keys) / sizeof(file_keys[0])) < 0)
                ret = -EINVAL;
        if ((e = load_types(ld, m, root)) < 0)
                return e;
        if (mapping_fold(&ret, load_log_type(ld, m, root)))
                return -ENOMEM;
        if ((v = get(root, "brackets")) && load_brackets(ld, m, v) < 0)
                ret = -EINVAL;
        if ((v = get(root, "fields")) &&
            mapping_fold(&ret, mapping_compile_sets(ld, NULL, NULL, v, m->consts, &m->nconst)))
                return -ENOMEM;
        if ((e = load_rules(ld, m, root)) < 0)
                return e;
        return ret;
}
