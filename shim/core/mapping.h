/* SPDX-License-Identifier: MIT */
/* Mappings: the declarative rules in mappings/ (one JSON file per log type) that turn a record's
 * body into fields. Loads and checks the files (PCRE2 patterns, JIT
 * compiled), splits the leading bracket groups of a body, and applies the
 * first matching rule (and the ones after it while a rule says "continue").
 * It does not frame records or encode events. */
#ifndef SHIM_MAPPING_H
#define SHIM_MAPPING_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "base/log.h"
#include "core/stamp.h"

#define MAPPING_FILES_MAX 64
#define MAPPING_RULES_MAX 256     /* per file */
#define MAPPING_SETS_MAX 32       /* fields one rule sets */
#define MAPPING_TEMPLATE_PARTS 8  /* literal/group pieces in one value */
#define MAPPING_GROUPS_MAX 63     /* highest capture group a template may name */
#define MAPPING_FILE_BYTES (1u << 20)
#define BRACKETS_MAX 4            /* leading bracket groups read per body */

struct mapping_set;
struct mapping;

/* Load every *.json file in dir. keys gains every field name the files use
 * (call keys_finish afterwards). On failure err says file:line: key: problem
 * for the first error, and every error is printed through diag_print when
 * print_all is set. Returns 0, -EINVAL (bad mapping), -ENOENT/-EACCES (dir)
 * or -ENOMEM. */
int mapping_load(struct mapping_set **ret, const char *dir, struct keys *keys,
                 int print_all, struct diag *err);
void mapping_free(struct mapping_set *ms);

/* The mapping for a log type word ("smtpLog"), or the generic one. Never
 * NULL after a successful load (a generic file is required). */
const struct mapping *mapping_for_type(const struct mapping_set *ms, const char *type);

/* smartermail.log_type of a mapping ("smtp"); for the generic mapping, NULL
 * (the caller uses the type word). */
const char *mapping_log_type(const struct mapping *m);

enum bracket_kind { BR_IP, BR_ID, BR_TAG };

struct bracket {
        const char *p;
        size_t len;
        enum bracket_kind kind;
};

/* Split the leading bracket groups ("[ip][id] ", "[Tag] [ip] ") off body.
 * Returns how many groups (<= BRACKETS_MAX) went to br; *ret_rest points at
 * the text after them. A group is taken only when its content is an IPv4 or
 * IPv6 address, an id ([A-Za-z0-9_-], not a tag) or a tag word (letters,
 * capital first, with a lower-case letter). */
unsigned mapping_brackets(const char *body, size_t len, struct bracket *br,
                          const char **ret_rest);

/* What a conversion needs from outside the record. */
struct mapping_ctx {
        struct tz_conv *tz;
        struct stamp_day day;   /* the record's date, for a date in its text */
};

/* Apply m to one record: constant fields, bracket fields, then the rules on
 * msg[0..len). Values point into msg or the event's scratch. Returns 1 when
 * a rule matched, 0 when none did (the caller tags the event unparsed). */
int mapping_apply(const struct mapping *m, struct mapping_ctx *ctx, struct event *ev,
                  const struct bracket *br, unsigned nbr, const char *msg, size_t len);

/* Number of rules in m (for statistics and tests). */
unsigned mapping_rule_count(const struct mapping *m);

#endif
