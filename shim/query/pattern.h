/* SPDX-License-Identifier: MIT */
/* The search string of "search": plain text (memmem, the fast path) or,
 * with --regex or --ignore-case, a PCRE2 pattern compiled with JIT. It finds
 * matches in a buffer and knows nothing of records or files. */
#ifndef SHIM_PATTERN_H
#define SHIM_PATTERN_H

#include <stddef.h>

#include "base/log.h"

struct pattern;

/* regex: pattern is PCRE2 syntax ('^' and '$' match at line ends);
 * otherwise it is plain text. icase: ASCII case is ignored. Returns 0,
 * -EINVAL (an empty or bad pattern; err says why and where) or -ENOMEM. */
int pattern_new(struct pattern **ret, const char *pattern, int regex, int icase, struct diag *err);
void pattern_free(struct pattern *m);

/* Find the first match in p[start..n). Returns 1 with *ret_at (its first
 * byte), 0 when there is none, or a negative errno when the matcher gave up
 * (a PCRE2 resource limit). */
int pattern_find(struct pattern *m, const char *p, size_t n, size_t start, size_t *ret_at);

#endif
