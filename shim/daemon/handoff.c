/* SPDX-License-Identifier: MIT */
/* A record's way from its file into the window and to every output, the
 * summaries that follow it, and the held record while something is full. */
#include "daemon/handoff.h"

#include <errno.h>

#include "base/log.h"
#include "daemon/loop.h"

/* A finished summary (summary.c calls this): it takes a place in the window
 * (with no file, so it moves no checkpoint) and goes to every output, like
 * a record. Returns -EAGAIN to be offered the same summary again. */
static int on_summary(struct event *ev, void *data)
{
        struct handoff *h = data;

        if (!h->sum_seq) {
                if (!inflight_has_room(h->window, 0))
                        return -EAGAIN;
                h->sum_seq = inflight_push(h->window, NULL, 0, 0, 0);
                h->sum_mask = fanout_all(h->out);
        }
        ev->seq = h->sum_seq;
        if (fanout_submit(h->out, ev, &h->sum_mask, "a summary", 0) < 0)
                return -EAGAIN;
        h->sum_seq = 0;
        return 0;
}

int handoff_init(struct handoff *h, struct setup *p, const struct shim_opts *o)
{
        struct summary_cfg cfg = setup_summary_cfg(p, o);

        h->p = p;
        if (!o->summaries)
                return 0;
        return summary_new(&h->sum, p->keys, &cfg, on_summary, h);
}

void handoff_done(struct handoff *h)
{
        summary_free(h->sum);
        h->sum = NULL;
}

/* Summaries refused earlier go out before any later record. */
static int summaries_ready(struct handoff *h)
{
        return !h->sum || summary_waiting_count(h->sum) == 0 || summary_retry(h->sum) == 0;
}

/* Normalize the held record into the window. -EAGAIN when it must wait. */
static int admit(struct handoff *h)
{
        struct event *ev = h->p->ev;
        unsigned res;

        if (!summaries_ready(h) || !inflight_has_room(h->window, h->rec.len))
                return -EAGAIN;
        res = norm_record(&h->p->norm, &h->f->nf, &h->rec, ev);
        ev->seq = inflight_push(h->window, h->f, h->rec.end_offset, h->rec.len,
                                follower_cookie(h->f));
        h->f->inflight++;
        h->normalized = 1;
        h->mask = fanout_all(h->out);
        h->n.records++;
        h->n.bytes += h->rec.len;
        h->n.unparsed += (res & NORM_UNPARSED) != 0;
        h->n.bad_time += (res & NORM_BAD_TIME) != 0;
        h->n.truncated += (h->rec.flags & FRAME_TRUNCATED) != 0;
        return 0;
}

/* Hand the held record to the window and every output that still needs
 * it. Returns 0 when done, -EAGAIN when it must wait. */
static int deliver(struct handoff *h)
{
        if (!h->normalized && admit(h) < 0)
                return -EAGAIN;
        if (fanout_submit(h->out, h->p->ev, &h->mask, h->f->lf.path, h->rec.offset) < 0)
                return -EAGAIN;
        h->f = NULL;
        fanout_delivered(h->out);
        /* after the record: the summary follows the record that ends it; a
         * refused one waits in the summaries (summaries_ready) */
        if (h->sum)
                summary_add(h->sum, h->p->ev);
        return 0;
}

int handoff_take(struct follower *f, const struct frame_record *rec, void *data)
{
        struct handoff *h = data;

        /* the reader moved past rec: it is kept here whatever happens, and
         * callers offer none while one is held (handoff_waiting) */
        h->f = f;
        h->rec = *rec;
        h->normalized = 0;
        return deliver(h);
}

int handoff_waiting(const struct handoff *h)
{
        return h->f || (h->sum && summary_waiting_count(h->sum));
}

int handoff_retry(struct handoff *h)
{
        if (!handoff_waiting(h))
                return 0;
        if (h->out->retry_ms && loop_now_ms() < h->out->retry_ms)
                return -EAGAIN;
        h->out->retry_ms = 0;
        if (!summaries_ready(h))
                return -EAGAIN;
        return h->f ? deliver(h) : 0;
}

/* Now in log time (UTC ms) for the summaries' idle timeout, or INT64_MIN
 * before the first smtp or delivery record. Not the wall clock: a step of it
 * (an administrator, NTP fixing a clock far off, a resumed VM) would close
 * every open session at once as partial, or keep them open until the clock
 * caught up, hours later. A record taken by now had its time written before
 * now, so log time is at least that time plus the monotonic time since; the
 * largest such bound is kept as an offset from the monotonic clock, moved by
 * every turn of the loop that saw a later record time. It never goes back.
 * The price: a session left open in old logs read at start is emitted the
 * idle timeout after it was read, not at once. */
static int64_t log_now_ms(struct handoff *h, int64_t now)
{
        int64_t seen = summary_clock_ms(h->sum);

        if (seen == INT64_MIN)
                return INT64_MIN;
        if (!h->log_offset_set || seen - now > h->log_offset_ms) {
                h->log_offset_ms = seen - now;
                h->log_offset_set = 1;
        }
        return now + h->log_offset_ms;
}

void handoff_expire(struct handoff *h, int64_t now_ms, int caught_up)
{
        int64_t log_now;

        if (!h->sum)
                return;
        /* every turn, so that the bound is taken close to the read */
        log_now = log_now_ms(h, now_ms);
        /* only once every file is read to its end: no record of an open
         * session can still be waiting */
        if (!h->f && caught_up)
                summary_expire(h->sum, log_now);
}

int64_t handoff_summary_deadline(struct handoff *h, int64_t now_ms, int caught_up)
{
        int64_t at, log_now;

        if (!h->sum || h->f || !caught_up)
                return 0;
        at = summary_idle_at_ms(h->sum);
        log_now = log_now_ms(h, now_ms);
        if (at == INT64_MAX || log_now == INT64_MIN)
                return 0;
        return at < log_now ? now_ms : now_ms + (at - log_now) + 1;
}

int handoff_flush_summaries(struct handoff *h)
{
        if (!h->sum)
                return 0;
        if (!h->sum_flushed) {
                h->sum_flushed = 1;
                summary_flush_all(h->sum, SUMMARY_END_SHUTDOWN);
        }
        return summary_retry(h->sum) < 0 ? -EAGAIN : 0;
}

void handoff_account(struct handoff *h, int64_t now_ms)
{
        if (h->f && !h->n.paused_since_ms)
                h->n.paused_since_ms = now_ms;
        if (!h->f && h->n.paused_since_ms) {
                h->n.paused_ms += now_ms - h->n.paused_since_ms;
                h->n.paused_since_ms = 0;
        }
}
