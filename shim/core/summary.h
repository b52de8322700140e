/* SPDX-License-Identifier: MIT */
/* Summaries: one event per SMTP session and per delivery when it ends. It
 * reads normalized events (after norm_record), keeps what a summary needs of
 * each open session in a bounded table keyed by (log type, session or
 * delivery id), and hands each finished summary, built as a struct event,
 * to a callback. It reads no files and keeps nothing across restarts: a
 * session that was open when the process stopped is emitted as partial (or
 * not at all after a crash). */
#ifndef SHIM_SUMMARY_H
#define SHIM_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"

#define SUMMARY_MAX_OPEN_DEFAULT 10000ul
#define SUMMARY_IDLE_S_DEFAULT 600ul
#define SUMMARY_ID_MAX 64               /* bytes of a session or delivery id */
#define SUMMARY_CODES_MAX 24            /* distinct response codes kept */
#define SUMMARY_FROM_MAX 4              /* senders kept */
#define SUMMARY_TO_MAX 12               /* recipients kept (all are counted) */
#define SUMMARY_SPOOL_MAX 4             /* spool ids kept (all are counted) */
#define SUMMARY_TEXT_MAX 4096           /* bytes of addresses and names per session */

/* Why a summary was emitted. Everything but SUMMARY_END_CLOSED marks it
 * partial. */
enum summary_end {
        SUMMARY_END_CLOSED,     /* "disconnected at" / "Delivery finished" */
        SUMMARY_END_IDLE,       /* no record for the idle timeout */
        SUMMARY_END_INPUT,      /* end of the input (parse, search, report) */
        SUMMARY_END_SHUTDOWN,   /* the daemon stopped */
        SUMMARY_END_EVICTED,    /* the table was full; the oldest went */
};

struct summary_cfg {
        unsigned long max_open;         /* sessions tracked at once (>= 1) */
        int64_t idle_ms;                /* close after this long without a record */
        const char *host_name;          /* host.name of every summary */
        const char *zone;               /* event.timezone */
};

struct summary;

/* Called for each finished summary, in the order they finished. ev is the
 * summary's own event, valid during the call only; the callee may set
 * ev->seq. Return 0 when it was taken, -EAGAIN to get the same summary again
 * at the next summary_retry (or summary_add, _expire, _flush_all: later
 * summaries wait behind it), another negative errno to drop it. */
typedef int (*summary_emit_fn)(struct event *ev, void *data);

/* Intern every field name a summary reads or writes. Call before
 * keys_finish on every registry a struct summary will be used with.
 * Returns 0 or the keys_intern error. */
int summary_keys_register(struct keys *keys);

/* A summary table on a finished registry (summary_keys_register'ed).
 * Returns 0, -EINVAL when the registry lacks the keys, or -ENOMEM. cfg's
 * strings must outlive the table. */
int summary_new(struct summary **ret, const struct keys *keys, const struct summary_cfg *cfg,
                summary_emit_fn fn, void *data);
/* Nothing is emitted: call summary_flush_all first. Accepts NULL. */
void summary_free(struct summary *s);

/* Switch to another registry (the mappings were reloaded). Returns 0,
 * -EINVAL or -ENOMEM (the old registry stays in use). */
int summary_set_keys(struct summary *s, const struct keys *keys);

/* Account one record. Records of other log types than smtp and delivery,
 * and records without a session or delivery id, are ignored. May emit the
 * summary the record closes (after the record, by the caller's order), the
 * oldest open one as partial when the table is full, and the sessions of
 * the record's log type that are idle on that type's clock (the latest
 * record time seen of it). */
void summary_add(struct summary *s, const struct event *ev);

/* Emit every session whose last record is older than now_ms - idle, now_ms
 * in UTC ms of log time: for a daemon whose input went quiet (only once
 * every file is read up to date, or sessions still being read from an old
 * file would be cut). */
void summary_expire(struct summary *s, int64_t now_ms);

/* The latest record time seen (UTC ms) of smtp and delivery records, or
 * INT64_MIN before the first. */
int64_t summary_clock_ms(const struct summary *s);

/* The log time (UTC ms) after which summary_expire will emit the open
 * session touched least recently: summary_expire(s, t) emits it for every
 * t > the value returned. INT64_MAX when none is open. */
int64_t summary_idle_at_ms(const struct summary *s);

/* Emit every open session, oldest first, as partial for reason why. */
void summary_flush_all(struct summary *s, enum summary_end why);

/* Offer the summaries the callback refused with -EAGAIN again. Returns 0
 * when none is left waiting, -EAGAIN otherwise. */
int summary_retry(struct summary *s);

/* Open sessions, and finished ones waiting for the callback. */
size_t summary_open_count(const struct summary *s);
size_t summary_waiting_count(const struct summary *s);

#endif
