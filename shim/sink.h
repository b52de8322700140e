/* SPDX-License-Identifier: MIT */
/* The output interface. Each output is one small ops table; run.c hands it
 * every event in sequence order and it reports delivery through ack_done.
 * submit returns 0 (accepted), -EAGAIN (full: the caller holds the event
 * and offers it again after the output drained) or another negative errno
 * (down: held as well, and retried with backoff). */
#ifndef SHIM_SINK_H
#define SHIM_SINK_H

#include <stdint.h>

#include "ack.h"
#include "encode_json.h"
#include "event.h"
#include "log.h"

#define SINKS_MAX 4

struct sink;

struct sink_ops {
        const char *name;
        int (*open)(struct sink *s, struct diag *err);
        int (*submit)(struct sink *s, const struct event *ev);
        /* Deliver what is buffered, waiting at most until deadline_ms
         * (loop_now_ms clock; 0 = do not wait). Returns 0 when nothing is
         * left, -EAGAIN when some is, or a negative errno. */
        int (*flush)(struct sink *s, int64_t deadline_ms);
        /* Make what was acknowledged durable before a checkpoint names it
         * (may be NULL). */
        int (*sync)(struct sink *s);
        /* Release everything (flush first: what is still buffered is not
         * delivered, and its records stay unacknowledged). */
        void (*close)(struct sink *s);
};

struct sink {
        const struct sink_ops *ops;
        struct ack *ack;                /* where deliveries are reported */
        enum encoding enc;
        const char *target;             /* the part after "file:", or "stdout" */
        void *priv;                     /* the output's own state */
};

/* Set s up for an --output value ("stdout", "file:PATH"). Returns 0 or
 * -EINVAL (err says why). Call s->ops->open next. */
int sink_from_spec(struct sink *s, const char *spec, struct diag *err);

extern const struct sink_ops sink_file_ops;

#endif
