/* SPDX-License-Identifier: MIT */
/* Compiling field setters: a "field": value pair of a rule's "set" or a
 * file's "fields" becomes a constant string, number or boolean, or a
 * template of literal text and ${group[:conversion]} references, checked
 * against the rule's compiled pattern. Applying them is mapping.c's job. */
#include "core/mapping_loader.h"

#include <stdlib.h>
#include <string.h>

static const char *const conv_names[] = {
        [CONV_NONE] = "", [CONV_NUMBER] = "number", [CONV_BOOLEAN] = "boolean",
        [CONV_UPPER] = "upper", [CONV_LOWER] = "lower", [CONV_USDATE] = "usdate",
        [CONV_USTIME] = "ustime", [CONV_SPOOLID] = "spoolid", [CONV_TRIM] = "trim",
};

/* Where a template is reported: the rule (NULL for "fields") and field. */
struct tpl_at {
        struct loader *ld;
        const char *rule, *field;
        const pcre2_code *re;
};

static int parse_conv(const char *name, size_t len)
{
        for (size_t i = 1; i < sizeof(conv_names) / sizeof(conv_names[0]); i++)
                if (strlen(conv_names[i]) == len && memcmp(conv_names[i], name, len) == 0)
                        return (int)i;
        return -1;
}

char *mapping_dup_n(const char *p, size_t n)
{
        char *s = malloc(n + 1);

        if (s) {
                memcpy(s, p, n);
                s[n] = '\0';
        }
        return s;
}

/* A template without "${": a constant string. */
static int compile_const(struct setter *st, const char *s, size_t n)
{
        st->kind = SET_STR;
        st->str = mapping_dup_n(s, n);
        st->len = n;
        st->safe = event_text_safe(s, n);
        return st->str ? 0 : -ENOMEM;
}

/* The group number of gname in the pattern, or a negative value after
 * reporting. */
static int group_number(const struct tpl_at *at, const char *gname)
{
        int g;

        if (!at->re) {
                mapping_err(at->ld, at->rule, at->field, "'${%s}' outside a rule", gname);
                return -EINVAL;
        }
        if (gname[0] >= '0' && gname[0] <= '9') {
                uint32_t cap = 0;
                pcre2_pattern_info(at->re, PCRE2_INFO_CAPTURECOUNT, &cap);
                g = atoi(gname);
                if ((uint32_t)g > cap)
                        g = PCRE2_ERROR_NOSUBSTRING;
        } else {
                g = pcre2_substring_number_from_name(at->re, (PCRE2_SPTR)gname);
        }
        if (g < 0) {
                mapping_err(at->ld, at->rule, at->field, "the pattern has no group '%s'", gname);
                return -EINVAL;
        }
        /* the match data holds groups 0..MAPPING_GROUPS_MAX only */
        if (g > MAPPING_GROUPS_MAX) {
                mapping_err(at->ld, at->rule, at->field, "group '%s' is number %d; a template "
                            "may use groups 1 to %d", gname, g, MAPPING_GROUPS_MAX);
                return -EINVAL;
        }
        return g;
}

/* One "${name}" or "${name:conv}" at open into pt; *ret_end is the byte
 * after its '}'. Returns 0 or -EINVAL after reporting. */
static int compile_ref(const struct tpl_at *at, const char *open, struct part *pt,
                       const char **ret_end)
{
        const char *close = strchr(open, '}');
        const char *colon;
        char gname[64];
        size_t glen;
        int conv = CONV_NONE, g;

        if (!close) {
                mapping_err(at->ld, at->rule, at->field, "'${' without '}'");
                return -EINVAL;
        }
        colon = memchr(open + 2, ':', (size_t)(close - open - 2));
        glen = (size_t)((colon ? colon : close) - open - 2);
        if (colon && (conv = parse_conv(colon + 1, (size_t)(close - colon - 1))) < 0) {
                mapping_err(at->ld, at->rule, at->field, "unknown conversion '%.*s' (number, "
                            "boolean, upper, lower, usdate, ustime, spoolid, trim)",
                            (int)(close - colon - 1), colon + 1);
                return -EINVAL;
        }
        if (glen == 0 || glen >= sizeof(gname)) {
                mapping_err(at->ld, at->rule, at->field, "empty or overlong group name");
                return -EINVAL;
        }
        memcpy(gname, open + 2, glen);
        gname[glen] = '\0';
        if ((g = group_number(at, gname)) < 0)
                return -EINVAL;
        pt->lit = NULL;
        pt->lit_len = 0;
        pt->group = g;
        pt->conv = (enum conv)conv;
        *ret_end = close + 1;
        return 0;
}

/* A number or boolean conversion makes the value a number: nothing may
 * stand beside it. */
static int check_whole_value(const struct tpl_at *at, const struct setter *st)
{
        if (st->nparts < 2)
                return 0;
        for (unsigned p = 0; p < st->nparts; p++)
                if (st->parts[p].lit == NULL && (st->parts[p].conv == CONV_NUMBER ||
                                                 st->parts[p].conv == CONV_BOOLEAN)) {
                        mapping_err(at->ld, at->rule, at->field,
                                    "number/boolean conversion must be the whole value");
                        return -EINVAL;
                }
        return 0;
}

/* Compile "text ${group} text ${group:conv}" against at->re (NULL:
 * constants only, as in a file's "fields"). */
static int compile_template(const struct tpl_at *at, const char *s, struct setter *st)
{
        size_t n = strlen(s);
        const char *p = s, *end = s + n;

        st->kind = SET_TPL;
        st->nparts = 0;
        if (!strstr(s, "${"))
                return compile_const(st, s, n);
        while (p < end) {
                const char *open = strstr(p, "${");
                const char *lit_end = open ? open : end;

                if (st->nparts + 2 > MAPPING_TEMPLATE_PARTS) {
                        mapping_err(at->ld, at->rule, at->field, "template has more than %d parts",
                                    MAPPING_TEMPLATE_PARTS);
                        return -EINVAL;
                }
                if (lit_end > p) {
                        struct part *pt = &st->parts[st->nparts++];
                        pt->lit = mapping_dup_n(p, (size_t)(lit_end - p));
                        pt->lit_len = (size_t)(lit_end - p);
                        pt->group = -1;
                        if (!pt->lit)
                                return -ENOMEM;
                }
                if (!open)
                        break;
                if (compile_ref(at, open, &st->parts[st->nparts], &p) < 0)
                        return -EINVAL;
                st->nparts++;
        }
        return check_whole_value(at, st);
}

int mapping_add_key(struct loader *ld, const char *rule, const char *field)
{
        int k = keys_intern(ld->keys, field, strlen(field));

        if (k < 0)
                mapping_err(ld, rule, field, k == -ENOSPC ? "more than %d distinct fields"
                            : "bad field name (letters, digits, '_', '@', '-', dot-separated)%.0d",
                            KEYS_MAX);
        return k;
}

void mapping_setter_done(struct setter *st)
{
        free(st->str);
        st->str = NULL;
        for (unsigned p = 0; p < st->nparts; p++)
                free(st->parts[p].lit);
        st->nparts = 0;
}

/* One value (a string, integer or boolean) into st. */
static int compile_value(const struct tpl_at *at, fjson_object *v, struct setter *st)
{
        int r;

        switch (fjson_object_get_type(v)) {
        case fjson_type_string:
                r = compile_template(at, fjson_object_get_string(v), st);
                if (r < 0)
                        mapping_setter_done(st);        /* the parts made before the error */
                return r;
        case fjson_type_int:
                st->kind = SET_NUM;
                st->num = fjson_object_get_int64(v);
                return 0;
        case fjson_type_boolean:
                st->kind = SET_BOOL;
                st->num = fjson_object_get_boolean(v);
                return 0;
        case fjson_type_null:
        case fjson_type_double:
        case fjson_type_object:
        case fjson_type_array:
        default:
                mapping_err(at->ld, at->rule, at->field, "value must be a string, an integer, "
                            "a boolean or a list of strings");
                return -EINVAL;
        }
}

/* One "field": value pair into setters (an array value gives one setter per
 * item). */
static int compile_set(const struct tpl_at *at, fjson_object *val, struct setter *set,
                       unsigned *nset)
{
        int k = mapping_add_key(at->ld, at->rule, at->field);
        int n = 1, is_arr = fjson_object_is_type(val, fjson_type_array);

        if (k < 0)
                return -EINVAL;
        if (is_arr) {
                n = fjson_object_array_length(val);
                if (!at->ld->keys->k[k].is_array) {
                        mapping_err(at->ld, at->rule, at->field, "a list is only allowed for "
                                    "array fields (see docs/fields.md)");
                        return -EINVAL;
                }
        }
        for (int i = 0; i < n; i++) {
                struct setter *st;
                int r;

                if (*nset >= MAPPING_SETS_MAX) {
                        mapping_err(at->ld, at->rule, at->field,
                                    "more than %d values set by one rule", MAPPING_SETS_MAX);
                        return -EINVAL;
                }
                st = &set[*nset];
                memset(st, 0, sizeof(*st));
                st->key = (uint16_t)k;
                r = compile_value(at, is_arr ? fjson_object_array_get_idx(val, i) : val, st);
                if (r < 0)
                        return r;
                (*nset)++;
        }
        return 0;
}

int mapping_compile_sets(struct loader *ld, const char *rule, const pcre2_code *re,
                         fjson_object *obj, struct setter *set, unsigned *nset)
{
        struct fjson_object_iterator it, end;
        int ret = 0;

        if (!fjson_object_is_type(obj, fjson_type_object)) {
                mapping_err(ld, rule, re ? "set" : "fields", "must be an object of field: value");
                return -EINVAL;
        }
        it = fjson_object_iter_begin(obj);
        end = fjson_object_iter_end(obj);
        for (; !fjson_object_iter_equal(&it, &end); fjson_object_iter_next(&it)) {
                struct tpl_at at = { ld, rule, fjson_object_iter_peek_name(&it), re };

                if (mapping_fold(&ret, compile_set(&at, fjson_object_iter_peek_value(&it), set,
                                                   nset)))
                        return -ENOMEM;
        }
        return ret;
}
