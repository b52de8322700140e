/* SPDX-License-Identifier: MIT */
/* The output interface. Each output is one small ops table; run.c hands it
 * every event in sequence order and it reports delivery through inflight_done.
 * submit returns 0 (accepted), -EAGAIN (full: the caller holds the event
 * and offers it again after the output drained), -ENOTRECOVERABLE (the
 * output is broken for good: the daemon stops, checkpointing only what was
 * acknowledged) or another negative errno (down: held as well, and retried
 * with backoff). An output that keeps an event's encoded bytes until it is
 * delivered says how many with inflight_hold, so that the window's byte
 * limit bounds what is really held. */
#ifndef SHIM_SINK_H
#define SHIM_SINK_H

#include <stdint.h>

#include "core/inflight.h"
#include "core/encode_json.h"
#include "core/event.h"
#include "base/log.h"
#include "base/options.h"

#define SINKS_MAX 4

struct sink;

struct sink_ops {
        const char *name;
        /* Check the settings open would use, as far as can be done without
         * connecting or creating anything that lasts (may be NULL: nothing
         * to check). Returns 0, -EINVAL with err naming the setting and
         * where it was set (opts_where), or -ENOMEM. */
        int (*check)(struct sink *s, struct diag *err);
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
        /* The descriptor the loop should watch for this output now
         * (EPOLLIN: acknowledgements or replies to read; EPOLLOUT: buffered
         * data waits for room), or -1 when none; may be NULL. The daemon
         * asks after each turn and calls flush(s, 0) when it fires. */
        int (*poll_fd)(struct sink *s, uint32_t *ret_events);
};

struct sink {
        const struct sink_ops *ops;
        struct inflight *ack;                /* where deliveries are reported */
        enum encoding enc;
        char target[1024];              /* the part after "file:", or the output's name */
        /* what start-up hands the output: its own settings (struct
         * syslog_cfg, struct kafka_cfg; NULL for file and journald) and
         * the two core settings outputs use */
        const void *cfg;
        const char *state_dir;          /* kafka: where its rejected file goes by default */
        size_t max_record_bytes;        /* journald: the largest record to make room for */
        const struct shim_opts *origins; /* for sink_where alone */
        void *priv;                     /* the output's own state */
};

/* For a check op: that the file named by option key (its item-th value,
 * for a list; an empty path names none) can be opened for reading. Returns
 * 0, 1 when it was not checked (a systemd credential of the service, which
 * exists only inside it: a notice says so), or a negative errno with err
 * naming the file and the option's line. */
int sink_check_file(const struct sink *s, const char *key, unsigned item, const char *path,
                    struct diag *err);

/* Point err at the config line or flag that set the output's option key
 * (its item-th value, for a list): opts_where for an output, which sees
 * only its own settings. */
void sink_where(const struct sink *s, const char *key, unsigned item, struct diag *err);

extern const struct sink_ops sink_file_ops;
extern const struct sink_ops sink_journal_ops;
extern const struct sink_ops sink_syslog_ops;
extern const struct sink_ops sink_kafka_ops;

#endif
