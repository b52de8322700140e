/* SPDX-License-Identifier: MIT */
/* A growable byte buffer with an explicit ceiling. Encoders append to it;
 * outputs drain it. */
#ifndef SHIM_BUF_H
#define SHIM_BUF_H

#include <stddef.h>
#include <string.h>

struct buf {
        char *p;
        size_t len, cap;
        size_t max;             /* growth stops here: append fails */
        int failed;             /* an append did not fit (sticky) */
};

void buf_init(struct buf *b, size_t max);
void buf_done(struct buf *b);

/* Make room for n more bytes; returns 0 or -ENOMEM (also sets failed). */
int buf_reserve(struct buf *b, size_t n);

static inline void buf_put(struct buf *b, const void *p, size_t n)
{
        /* nothing to copy: b->p may still be NULL, which memcpy must not see */
        if (n == 0)
                return;
        if (b->cap - b->len < n && buf_reserve(b, n) < 0)
                return;
        memcpy(b->p + b->len, p, n);
        b->len += n;
}

static inline void buf_putc(struct buf *b, char c)
{
        if (b->cap == b->len && buf_reserve(b, 1) < 0)
                return;
        b->p[b->len++] = c;
}

#define buf_lit(b, s) buf_put((b), (s), sizeof(s) - 1)

/* Decimal integer. */
void buf_int(struct buf *b, long long v);

#endif
