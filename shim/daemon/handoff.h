/* SPDX-License-Identifier: MIT */
/* The record path from a followed file to the outputs: a framed record is
 * normalized into the shared event, takes its place in the in-flight
 * window and goes to every output through the fan-out; the summaries it
 * ends follow it. A record the window or an output cannot take yet is
 * held, and reading pauses until it goes. It also keeps the daemon's
 * record counters and the summaries' log-time clock. It does not read
 * files, watch, or write checkpoints. */
#ifndef SHIM_HANDOFF_H
#define SHIM_HANDOFF_H

#include <stdint.h>

#include "core/frame.h"
#include "core/inflight.h"
#include "core/setup.h"
#include "core/summary.h"
#include "daemon/fanout.h"
#include "daemon/follower.h"

struct handoff_counts {
        uint64_t records, bytes, unparsed, truncated, bad_time;
        int64_t paused_ms, paused_since_ms;
};

struct handoff {
        struct setup *p;                /* the normalizer and its event */
        struct inflight *window;
        struct fanout *out;
        /* the held record (f NULL: none); rec points into f's reader */
        struct follower *f;
        struct frame_record rec;
        int normalized;                 /* in the window, in p->ev */
        uint32_t mask;                  /* outputs that still need it */
        /* summaries (NULL with --no-summaries) and the one handed out */
        struct summary *sum;
        uint64_t sum_seq;               /* its place in the window, 0 = none */
        uint32_t sum_mask;
        int sum_flushed;                /* shutdown: every open session emitted */
        int64_t log_offset_ms;          /* log time - monotonic time */
        int log_offset_set;
        struct handoff_counts n;
};

/* Summaries per o (none with --no-summaries). Returns 0 or -ENOMEM. */
int handoff_init(struct handoff *h, struct setup *p, const struct shim_opts *o);
void handoff_done(struct handoff *h);

/* The follow_env's take: 0 when rec went to every output, -EAGAIN when it
 * is held. Call only while nothing waits (handoff_waiting is 0). */
int handoff_take(struct follower *f, const struct frame_record *rec, void *data);

/* Whether a record is held or refused summaries wait. */
int handoff_waiting(const struct handoff *h);

/* What waits (refused summaries, the held record) goes first; a down
 * output is not asked again before its back-off ends. 0 when nothing
 * waits any more, -EAGAIN when something does. */
int handoff_retry(struct handoff *h);

/* Summaries whose sessions went idle (now_ms on the monotonic clock);
 * caught_up: every file is read to its end. */
void handoff_expire(struct handoff *h, int64_t now_ms, int caught_up);

/* When the oldest open session times out (monotonic, 0: none). */
int64_t handoff_summary_deadline(struct handoff *h, int64_t now_ms, int caught_up);

/* Shutdown: sessions still open are emitted as partial. -EAGAIN while
 * some wait. */
int handoff_flush_summaries(struct handoff *h);

/* Pause accounting, once per turn. */
void handoff_account(struct handoff *h, int64_t now_ms);

#endif
