/* SPDX-License-Identifier: MIT */
/* Fan-out to the outputs: every event goes to each output chosen with
 * --output, and an output that refuses it (full, down) gets it again later:
 * at once when its descriptor says it has room, after a growing back-off
 * when it is down. It also reopens outputs on SIGHUP and registers their
 * descriptors with the loop, so that acknowledgements wake the daemon. It
 * does not hold records (run.c does) or know files. */
#ifndef SHIM_FANOUT_H
#define SHIM_FANOUT_H

#include <stdint.h>

#include "base/options.h"
#include "core/inflight.h"
#include "daemon/loop.h"
#include "outputs/registry.h"
#include "outputs/sink.h"

#define FANOUT_BACKOFF_MIN_MS 100
#define FANOUT_BACKOFF_MAX_MS 30000

struct fanout {
        struct sink sinks[SINKS_MAX];
        unsigned n;
        int down[SINKS_MAX];            /* refused a record: said once */
        int fd[SINKS_MAX];              /* registered with the loop, -1 none */
        uint32_t fd_events[SINKS_MAX];
        struct loop *loop;
        int64_t retry_ms;               /* a down output is tried again then (0: none) */
        int64_t backoff_ms;
        int busy;                       /* an output holds undelivered events */
        int busy_unwatched;             /* ... and gives the loop no descriptor */
        int fatal;                      /* an output failed for good */
};

/* The outputs of o->output (fo->n of them), not opened yet. Problems are
 * printed. Returns 0 or -EINVAL (configuration: exit 2). Call fanout_close
 * even after a failure. */
int fanout_init(struct fanout *fo, const struct shim_opts *o, struct loop *loop);

/* Open every output with encoding enc, reporting to window (made for
 * fo->n outputs). Problems are printed. Returns 0, -EINVAL (configuration:
 * exit 2) or another negative errno. */
int fanout_open(struct fanout *fo, enum encoding enc, struct inflight *window);
void fanout_close(struct fanout *fo);

/* A bit per output, all set. */
uint32_t fanout_all(const struct fanout *fo);

/* Offer ev to every output whose bit is set in *mask; clears the bits of
 * those that took it. Returns 0 when none is left, -EAGAIN to wait (full,
 * down: fo->retry_ms says when; or failed for good: fo->fatal). what and
 * offset name the event in messages. */
int fanout_submit(struct fanout *fo, struct event *ev, uint32_t *mask, const char *what,
                  uint64_t offset);

/* A record went through: the back-off starts small again. */
void fanout_delivered(struct fanout *fo);

/* Deliver what the outputs buffer, waiting at most until deadline_ms (0:
 * not at all); sets fo->busy and re-registers their descriptors. */
void fanout_flush(struct fanout *fo, int64_t deadline_ms);

/* SIGHUP: reopen each output that is idle and whose files still check. */
void fanout_reopen(struct fanout *fo);

#endif
