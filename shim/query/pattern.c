/* SPDX-License-Identifier: MIT */
/* Search strings. Plain text goes to glibc's memmem, which skips through
 * memory at several GB/s, so a search runs near the speed of grep. Case-
 * insensitive text and regular expressions go to PCRE2 (a literal pattern
 * for the former), JIT compiled, run over the whole buffer at once. This
 * is the second file with pcre2.h (after the mapping module): a search
 * pattern is the user's, not a mapping rule, and is checked and reported
 * differently. */
#include "query/pattern.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

struct pattern {
        char *text;
        size_t len;
        pcre2_code *re;
        pcre2_match_data *md;
};

int pattern_new(struct pattern **ret, const char *pattern, int regex, int icase, struct diag *err)
{
        struct pattern *m;
        uint32_t flags = 0;
        int code;
        PCRE2_SIZE at;

        if (!pattern[0])
                return diag_set(err, EINVAL, NULL, 0, "search", "the search string is empty");
        m = calloc(1, sizeof(*m));
        if (!m || !(m->text = strdup(pattern))) {
                free(m);
                return -ENOMEM;
        }
        m->len = strlen(pattern);
        if (regex || icase) {
                flags = regex ? PCRE2_MULTILINE : PCRE2_LITERAL;
                if (icase)
                        flags |= PCRE2_CASELESS;
                m->re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, flags, &code,
                                      &at, NULL);
                if (!m->re) {
                        PCRE2_UCHAR msg[256];

                        pcre2_get_error_message(code, msg, sizeof(msg));
                        pattern_free(m);
                        return diag_set(err, EINVAL, NULL, 0, "search",
                                        "bad regular expression at offset %zu: %s", (size_t)at,
                                        (const char *)msg);
                }
                /* without JIT (an exotic CPU) the interpreter still works */
                (void)pcre2_jit_compile(m->re, PCRE2_JIT_COMPLETE);
                m->md = pcre2_match_data_create_from_pattern(m->re, NULL);
                if (!m->md) {
                        pattern_free(m);
                        return -ENOMEM;
                }
        }
        *ret = m;
        return 0;
}

void pattern_free(struct pattern *m)
{
        if (!m)
                return;
        pcre2_match_data_free(m->md);
        pcre2_code_free(m->re);
        free(m->text);
        free(m);
}

int pattern_find(struct pattern *m, const char *p, size_t n, size_t start, size_t *ret_at)
{
        int rc;

        if (start >= n)
                return 0;
        if (!m->re) {
                const char *hit = memmem(p + start, n - start, m->text, m->len);

                if (!hit)
                        return 0;
                *ret_at = (size_t)(hit - p);
                return 1;
        }
        rc = pcre2_match(m->re, (PCRE2_SPTR)p, n, start, 0, m->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH)
                return 0;
        if (rc < 0)
                return -E2BIG;
        *ret_at = (size_t)pcre2_get_ovector_pointer(m->md)[0];
        return 1;
}
