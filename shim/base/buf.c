/* SPDX-License-Identifier: MIT */
/* Growable buffer. Doubles, never past its ceiling. */
#include "base/buf.h"

#include <errno.h>
#include <stdlib.h>

void buf_init(struct buf *b, size_t max)
{
        b->p = NULL;
        b->len = b->cap = 0;
        b->max = max;
        b->failed = 0;
}

void buf_done(struct buf *b)
{
        free(b->p);
        b->p = NULL;
        b->len = b->cap = 0;
}

int buf_reserve(struct buf *b, size_t n)
{
        size_t cap = b->cap ? b->cap : 4096;
        char *p;

        if (b->cap - b->len >= n)
                return 0;
        if (n > b->max - b->len) {
                b->failed = 1;
                return -ENOMEM;
        }
        while (cap - b->len < n)
                cap *= 2;
        if (cap > b->max)
                cap = b->max;
        p = realloc(b->p, cap);
        if (!p) {
                b->failed = 1;
                return -ENOMEM;
        }
        b->p = p;
        b->cap = cap;
        return 0;
}

void buf_int(struct buf *b, long long v)
{
        char tmp[24];
        int i = 24;
        unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

        do {
                tmp[--i] = (char)('0' + u % 10);
                u /= 10;
        } while (u);
        if (v < 0)
                tmp[--i] = '-';
        buf_put(b, tmp + i, (size_t)(24 - i));
}
