/* SPDX-License-Identifier: MIT */
/* The in-flight window: every record handed to the outputs, in order, with
 * how many outputs still owe an acknowledgement. The head advances over
 * records every output has acknowledged, and each file's committed offset
 * moves with it: the only way a checkpoint offset advances. Bounded in
 * records and bytes; full means the reader pauses. */
#ifndef SHIM_ACK_H
#define SHIM_ACK_H

#include <stddef.h>
#include <stdint.h>

struct ack;

/* Called for each record leaving the window, oldest first: the record of
 * file 'owner' is done up to end_offset (status 0, or the negative errno of
 * an output that gave up on it); cookie is what ack_push was given. */
typedef void (*ack_commit_fn)(void *owner, uint64_t end_offset, uint64_t cookie, int status,
                              void *data);

/* max_records and max_bytes bound the window; nsinks is how many outputs
 * acknowledge each record. NULL on out of memory. */
struct ack *ack_new(size_t max_records, size_t max_bytes, unsigned nsinks,
                    ack_commit_fn fn, void *data);
void ack_free(struct ack *a);

/* Whether one more record of 'bytes' fits. */
int ack_has_room(const struct ack *a, size_t bytes);

/* Add a record; returns its sequence number (from 1), or 0 when the window
 * is full (call ack_has_room first). cookie comes back with the commit (the
 * reader's state after this record). */
uint64_t ack_push(struct ack *a, void *owner, uint64_t end_offset, size_t bytes,
                  uint64_t cookie);

/* One output acknowledges seq (status 0 = delivered). Acks may come in any
 * order; commits happen in order. Unknown or repeated seqs are ignored. */
void ack_done(struct ack *a, uint64_t seq, int status);

size_t ack_inflight(const struct ack *a);
size_t ack_inflight_bytes(const struct ack *a);
/* Highest sequence number handed out so far. */
uint64_t ack_last_seq(const struct ack *a);

#endif
