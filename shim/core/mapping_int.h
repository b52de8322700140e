/* SPDX-License-Identifier: MIT */
/* What loading builds (mapping_load.c, mapping_rule.c, mapping_template.c)
 * and mapping.c applies: compiled rules, field setters and templates.
 * Private to those files. */
#ifndef SHIM_MAPPING_INT_H
#define SHIM_MAPPING_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/mapping.h"

#define BRACKET_FIELDS_MAX 3       /* fields one bracket group fills */

enum conv { CONV_NONE, CONV_NUMBER, CONV_BOOLEAN, CONV_UPPER, CONV_LOWER,
            CONV_USDATE, CONV_USTIME, CONV_SPOOLID, CONV_TRIM };


enum set_kind { SET_STR, SET_NUM, SET_BOOL, SET_TPL };

struct part {
        char *lit;              /* NULL for a group reference */
        size_t lit_len;
        int group;
        enum conv conv;
};

struct setter {
        uint16_t key;
        enum set_kind kind;
        char *str;              /* SET_STR */
        size_t len;
        int safe;               /* str needs no JSON escaping */
        int64_t num;            /* SET_NUM, SET_BOOL */
        unsigned nparts;        /* SET_TPL */
        struct part parts[MAPPING_TEMPLATE_PARTS];
};

struct rule {
        char *name;
        pcre2_code *re;
        char *prefix;           /* literal every match starts with */
        size_t prefix_len;
        unsigned nset;
        struct setter set[MAPPING_SETS_MAX];
        int severity;           /* 0 = leave as is */
        int cont;
};

struct mapping {
        struct mapping_set *set;
        char *path;
        char **types;
        unsigned ntypes;
        int generic;
        char *log_type;
        int br_key[3][BRACKET_FIELDS_MAX]; /* per enum bracket_kind; -1 ends */
        unsigned nconst;
        struct setter consts[MAPPING_SETS_MAX];
        unsigned nrules;
        struct rule *rules;
};

struct mapping_set {
        unsigned n;
        struct mapping m[MAPPING_FILES_MAX];
        struct mapping *generic;
        pcre2_match_data *md;
};

#endif
