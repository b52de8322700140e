/* SPDX-License-Identifier: MIT */
/* In-flight window as a ring indexed by sequence number. */
#include "core/inflight.h"

#include <stdlib.h>

struct slot {
        void *owner;
        uint64_t end_offset;
        uint64_t cookie;
        uint32_t bytes;
        uint16_t owed;          /* outputs that have not acknowledged yet */
        int16_t status;
        uint8_t held;           /* bytes counts what outputs hold, not the raw size */
};

struct inflight {
        struct slot *ring;
        size_t cap, max_bytes, bytes;
        uint64_t head;          /* oldest seq in flight */
        uint64_t next;          /* next seq to hand out */
        unsigned nsinks;
        inflight_commit_fn fn;
        void *data;
};

struct inflight *inflight_new(size_t max_records, size_t max_bytes, unsigned nsinks,
                    inflight_commit_fn fn, void *data)
{
        struct inflight *a = calloc(1, sizeof(*a));

        if (!a)
                return NULL;
        a->ring = calloc(max_records ? max_records : 1, sizeof(*a->ring));
        if (!a->ring) {
                free(a);
                return NULL;
        }
        a->cap = max_records ? max_records : 1;
        a->max_bytes = max_bytes;
        a->head = a->next = 1;
        a->nsinks = nsinks ? nsinks : 1;
        a->fn = fn;
        a->data = data;
        return a;
}

void inflight_free(struct inflight *a)
{
        if (!a)
                return;
        free(a->ring);
        free(a);
}

int inflight_has_room(const struct inflight *a, size_t bytes)
{
        /* one record always fits into an empty window, however large */
        if (a->next == a->head)
                return 1;
        return a->next - a->head < a->cap && a->bytes + bytes <= a->max_bytes;
}

uint64_t inflight_push(struct inflight *a, void *owner, uint64_t end_offset, size_t bytes,
                  uint64_t cookie)
{
        struct slot *s;

        if (!inflight_has_room(a, bytes))
                return 0;
        s = &a->ring[a->next % a->cap];
        s->owner = owner;
        s->end_offset = end_offset;
        s->cookie = cookie;
        s->bytes = (uint32_t)(bytes > UINT32_MAX ? UINT32_MAX : bytes);
        s->owed = (uint16_t)a->nsinks;
        s->status = 0;
        s->held = 0;
        a->bytes += s->bytes;
        return a->next++;
}

void inflight_hold(struct inflight *a, uint64_t seq, size_t bytes)
{
        struct slot *s;
        uint64_t sum;

        if (seq < a->head || seq >= a->next)
                return;
        s = &a->ring[seq % a->cap];
        if (!s->held) {
                a->bytes -= s->bytes;
                s->bytes = 0;
                s->held = 1;
        }
        sum = (uint64_t)s->bytes + bytes;
        if (sum > UINT32_MAX)
                sum = UINT32_MAX;
        a->bytes += (size_t)(sum - s->bytes);
        s->bytes = (uint32_t)sum;
}

void inflight_done(struct inflight *a, uint64_t seq, int status)
{
        struct slot *s;

        if (seq < a->head || seq >= a->next)
                return;
        s = &a->ring[seq % a->cap];
        if (s->owed == 0)
                return;
        s->owed--;
        if (status < 0)
                s->status = (int16_t)status;
        while (a->head < a->next && a->ring[a->head % a->cap].owed == 0) {
                s = &a->ring[a->head % a->cap];
                a->bytes -= s->bytes;
                a->head++;
                a->fn(s->owner, s->end_offset, s->cookie, s->status, a->data);
        }
}

size_t inflight_count(const struct inflight *a)
{
        return (size_t)(a->next - a->head);
}

size_t inflight_bytes(const struct inflight *a)
{
        return a->bytes;
}

uint64_t inflight_last_seq(const struct inflight *a)
{
        return a->next - 1;
}
