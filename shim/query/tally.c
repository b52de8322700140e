/* SPDX-License-Identifier: MIT */
/* Counts in a <search.h> tree (O(log n) per count, no table to size), read
 * back in one twalk_r and sorted for the top N. */
#include "query/tally.h"

#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>

struct tally_item {
        uint64_t n;
        char key[];
};

struct tally {
        void *root;
        size_t keys;
        uint64_t sum;
        struct tally_item *other;       /* past TALLY_KEYS_MAX */
};

static int item_cmp(const void *a, const void *b)
{
        return strcmp(((const struct tally_item *)a)->key, ((const struct tally_item *)b)->key);
}

struct tally *tally_new(void)
{
        return calloc(1, sizeof(struct tally));
}

void tally_free(struct tally *t)
{
        if (!t)
                return;
        tdestroy(t->root, free);
        free(t->other);
        free(t);
}

static struct tally_item *item_new(const char *key, size_t len)
{
        struct tally_item *it = malloc(sizeof(*it) + len + 1);

        if (!it)
                return NULL;
        it->n = 0;
        memcpy(it->key, key, len);
        it->key[len] = '\0';
        return it;
}

int tally_add(struct tally *t, const char *key, size_t len, uint64_t n)
{
        struct tally_item *probe, **node;

        if (len > TALLY_KEY_MAX)
                len = TALLY_KEY_MAX;
        probe = item_new(key, len);
        if (!probe)
                return -ENOMEM;
        node = tfind(probe, &t->root, item_cmp);
        if (!node && t->keys >= TALLY_KEYS_MAX) {
                free(probe);
                if (!t->other && !(t->other = item_new("(other)", 7)))
                        return -ENOMEM;
                t->other->n += n;
                t->sum += n;
                return 0;
        }
        if (!node) {
                node = tsearch(probe, &t->root, item_cmp);
                if (!node) {
                        free(probe);
                        return -ENOMEM;
                }
                t->keys++;
        } else {
                free(probe);
        }
        (*node)->n += n;
        t->sum += n;
        return 0;
}

struct walk {
        struct tally_row *rows;
        size_t n, max;
};

static int row_cmp(const void *a, const void *b)
{
        const struct tally_row *x = a, *y = b;

        if (x->n != y->n)
                return x->n > y->n ? -1 : 1;
        return strcmp(x->key, y->key);
}

/* Keeps the max largest rows in w->rows, unsorted; O(n * max), and max is a
 * report's top list (10 by default). */
static void visit(const void *node, VISIT which, void *data)
{
        const struct tally_item *it = *(struct tally_item *const *)node;
        struct walk *w = data;
        size_t low = 0;

        if (which != postorder && which != leaf)
                return;
        if (w->n < w->max) {
                w->rows[w->n++] = (struct tally_row){ it->key, it->n };
                return;
        }
        for (size_t i = 1; i < w->n; i++)
                if (row_cmp(&w->rows[i], &w->rows[low]) > 0)
                        low = i;
        if (row_cmp(&(struct tally_row){ it->key, it->n }, &w->rows[low]) < 0)
                w->rows[low] = (struct tally_row){ it->key, it->n };
}

size_t tally_top(const struct tally *t, struct tally_row *out, size_t max)
{
        struct walk w = { out, 0, max };

        if (max == 0)
                return 0;
        twalk_r(t->root, visit, &w);
        if (t->other)
                visit(&t->other, leaf, &w);
        qsort(out, w.n, sizeof(*out), row_cmp);
        return w.n;
}

size_t tally_keys(const struct tally *t)
{
        return t->keys + (t->other != NULL);
}

uint64_t tally_sum(const struct tally *t)
{
        return t->sum;
}
