/* SPDX-License-Identifier: MIT */
/* The in-flight window: every record handed to the outputs, in order, with
 * how many outputs still owe an acknowledgement. The head advances over
 * records every output has acknowledged, and each file's committed offset
 * moves with it: the only way a checkpoint offset advances. Bounded in
 * records and bytes; full means the reader pauses. */
#ifndef SHIM_INFLIGHT_H
#define SHIM_INFLIGHT_H

#include <stddef.h>
#include <stdint.h>

struct inflight;

/* Called for each record leaving the window, oldest first: the record of
 * file 'owner' is done up to end_offset (status 0, or the negative errno of
 * an output that gave up on it); cookie is what inflight_push was given. */
typedef void (*inflight_commit_fn)(void *owner, uint64_t end_offset, uint64_t cookie, int status,
                              void *data);

/* max_records and max_bytes bound the window; nsinks is how many outputs
 * acknowledge each record. NULL on out of memory. */
struct inflight *inflight_new(size_t max_records, size_t max_bytes, unsigned nsinks,
                    inflight_commit_fn fn, void *data);
void inflight_free(struct inflight *a);

/* Whether one more record of 'bytes' fits. */
int inflight_has_room(const struct inflight *a, size_t bytes);

/* Add a record; returns its sequence number (from 1), or 0 when the window
 * is full (call inflight_has_room first). cookie comes back with the commit (the
 * reader's state after this record). */
uint64_t inflight_push(struct inflight *a, void *owner, uint64_t end_offset, size_t bytes,
                  uint64_t cookie);

/* An output holds bytes of its own for record seq (its encoding, queued
 * until it is delivered). From the first such report on, the record counts
 * against the byte limit by what the outputs hold, not by its raw size: an
 * encoding grows a record up to six times (control characters become
 * \u00XX), and a stalled receiver would otherwise hold that many times the
 * limit. Released when the record leaves the window. Unknown seqs are
 * ignored. */
void inflight_hold(struct inflight *a, uint64_t seq, size_t bytes);

/* One output acknowledges seq (status 0 = delivered). Acks may come in any
 * order; commits happen in order. Unknown or repeated seqs are ignored. */
void inflight_done(struct inflight *a, uint64_t seq, int status);

size_t inflight_count(const struct inflight *a);
size_t inflight_bytes(const struct inflight *a);
/* Highest sequence number handed out so far. */
uint64_t inflight_last_seq(const struct inflight *a);

#endif
