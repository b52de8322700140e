/* SPDX-License-Identifier: MIT */
/* Counting by key for the report: how often each sender, address, code or
 * domain was seen, and the top N of them. Keys are copied; their number is
 * capped (past TALLY_KEYS_MAX the rest is counted under one "(other)" key),
 * so memory is bounded whatever the logs hold. */
#ifndef SHIM_TALLY_H
#define SHIM_TALLY_H

#include <stddef.h>
#include <stdint.h>

#define TALLY_KEYS_MAX 200000
#define TALLY_KEY_MAX 256               /* bytes of a key; longer ones are cut */

struct tally;

struct tally_row {
        const char *key;                /* valid until tally_free */
        uint64_t n;
};

/* NULL when out of memory. */
struct tally *tally_new(void);
void tally_free(struct tally *t);

/* Count key[0..len) n more times. Returns 0 or -ENOMEM (not counted). */
int tally_add(struct tally *t, const char *key, size_t len, uint64_t n);

/* The max largest counts, largest first (ties by key). Returns how many
 * rows went to out. */
size_t tally_top(const struct tally *t, struct tally_row *out, size_t max);

/* Distinct keys, and the sum of every count. */
size_t tally_keys(const struct tally *t);
uint64_t tally_sum(const struct tally *t);

#endif
