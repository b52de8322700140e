/* SPDX-License-Identifier: MIT */
/* The search string of "search": plain text (memmem, the fast path) or,
 * with --regex or --ignore-case, a PCRE2 pattern compiled with JIT. It finds
 * matches in a buffer and knows nothing of records or files. */
#ifndef SHIM_MATCH_H
#define SHIM_MATCH_H

#include <stddef.h>

#include "log.h"

struct match;

/* regex: pattern is PCRE2 syntax ('^' and '$' match at line ends);
 * otherwise it is plain text. icase: ASCII case is ignored. Returns 0,
 * -EINVAL (an empty or bad pattern; err says why and where) or -ENOMEM. */
int match_new(struct match **ret, const char *pattern, int regex, int icase, struct diag *err);
void match_free(struct match *m);

/* Find the first match in p[start..n). Returns 1 with *ret_at (its first
 * byte), 0 when there is none, or a negative errno when the matcher gave up
 * (a PCRE2 resource limit). */
int match_find(struct match *m, const char *p, size_t n, size_t start, size_t *ret_at);

#endif
