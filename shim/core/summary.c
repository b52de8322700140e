/* SPDX-License-Identifier: MIT */
/* Session and delivery summaries: the table. Open sessions live in a binary
 * tree (<search.h> tsearch: balanced in glibc, O(log n) per record) keyed by
 * (kind, id), and on a TAILQ per kind in order of their last record, so
 * that the idle timeout and the cap on open sessions look at the heads
 * only. Idle time is measured on each kind's own clock (the latest record
 * of that log type): parse reads a day's SMTP log, then its delivery log,
 * and run reads files in turns, so one clock for all would expire sessions
 * of the file read second at once. Each session keeps fixed-size facts plus
 * a small text arena (summary_text.c); both have ceilings, so memory is
 * bounded by max_open. What a record means is in summary_smtp.c and
 * summary_delivery.c, the event built in summary_event.c. */
#include "core/summary_int.h"

#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>

static const char *const sk_names[SK__COUNT] = {
        [SK_SESSION_ID] = "smartermail.session_id",
        [SK_DELIVERY_ID] = "smartermail.delivery.id",
        [SK_SOURCE_IP] = "source.ip",
        [SK_FROM] = "email.from.address",
        [SK_TO] = "email.to.address",
        [SK_RSP_CODE] = "smartermail.smtp.response.code",
        [SK_SPOOL_ID] = "smartermail.spool.id",
        [SK_MESSAGE_ID] = "email.message_id",
        [SK_BLOCK_REASON] = "smartermail.block.reason",
        [SK_DLV_STATUS] = "smartermail.delivery.status",
        [SK_SPOOL_FAILED] = "smartermail.spool.failed",
        [SK_REASON] = "event.reason",
        [SK_DEST_IP] = "destination.ip",
        [SK_DIRECTION] = "network.direction",
        [SK_PROTOCOL] = "network.protocol",
        [SK_START] = "event.start",
        [SK_END] = "event.end",
        [SK_DURATION] = "event.duration",
        [SK_LOCAL_ID] = "email.local_id",
        [SK_PARTIAL] = "smartermail.summary.partial",
        [SK_END_REASON] = "smartermail.summary.end_reason",
        [SK_STATUS] = "smartermail.summary.status",
        [SK_RECORDS] = "smartermail.summary.records",
        [SK_CODES] = "smartermail.summary.response_codes",
        [SK_SPOOL_IDS] = "smartermail.summary.spool_ids",
        [SK_MESSAGES] = "smartermail.summary.messages",
        [SK_AUTH_OUTCOME] = "smartermail.summary.auth_outcome",
        [SK_AUTH_FAILURES] = "smartermail.summary.auth_failures",
        [SK_LAST_RESPONSE] = "smartermail.summary.last_response",
        [SK_RECIPIENT_COUNT] = "smartermail.summary.recipient_count",
        [SK_RESPONSE_COUNT] = "smartermail.summary.response_count",
};

/* ---- keys ---------------------------------------------------------------- */

int summary_keys_register(struct keys *keys)
{
        for (unsigned i = 0; i < SK__COUNT; i++) {
                int r = keys_intern(keys, sk_names[i], strlen(sk_names[i]));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int resolve_keys(struct summary *s, const struct keys *keys)
{
        unsigned k[SK__COUNT];
        struct event *ev;

        for (unsigned i = 0; i < SK__COUNT; i++) {
                int id = keys_find(keys, sk_names[i]);
                if (id < 0)
                        return -EINVAL;
                k[i] = (unsigned)id;
        }
        ev = event_new(keys);
        if (!ev)
                return keys->finished ? -ENOMEM : -EINVAL;
        event_free(s->ev);
        s->ev = ev;
        s->keys = keys;
        memcpy(s->k, k, sizeof(k));
        return 0;
}

int summary_set_keys(struct summary *s, const struct keys *keys)
{
        return resolve_keys(s, keys);
}

static int key_cmp(const void *a, const void *b)
{
        const struct sum_key *x = a, *y = b;

        if (x->kind != y->kind)
                return (int)x->kind - (int)y->kind;
        if (x->len != y->len)
                return (int)x->len - (int)y->len;
        return memcmp(x->id, y->id, x->len);
}

int summary_new(struct summary **ret, const struct keys *keys, const struct summary_cfg *cfg,
                summary_emit_fn fn, void *data)
{
        struct summary *s = calloc(1, sizeof(*s));
        int r;

        if (!s)
                return -ENOMEM;
        s->cfg = *cfg;
        if (s->cfg.max_open == 0)
                s->cfg.max_open = 1;
        s->fn = fn;
        s->data = data;
        TAILQ_INIT(&s->open[KIND_SMTP]);
        TAILQ_INIT(&s->open[KIND_DELIVERY]);
        TAILQ_INIT(&s->done);
        s->clock[KIND_SMTP] = s->clock[KIND_DELIVERY] = INT64_MIN;
        r = resolve_keys(s, keys);
        if (r < 0) {
                free(s);
                return r;
        }
        *ret = s;
        return 0;
}

static void sess_free(struct sum_sess *ss)
{
        free(ss->l.text);
        free(ss);
}

static void no_free(void *p)
{
        (void)p;        /* sessions are freed through the lists */
}

void summary_free(struct summary *s)
{
        struct sum_sess *ss;

        if (!s)
                return;
        tdestroy(s->root, no_free);
        for (int k = 0; k < 2; k++)
                while ((ss = TAILQ_FIRST(&s->open[k]))) {
                        TAILQ_REMOVE(&s->open[k], ss, link);
                        sess_free(ss);
                }
        while ((ss = TAILQ_FIRST(&s->done))) {
                TAILQ_REMOVE(&s->done, ss, link);
                sess_free(ss);
        }
        event_free(s->ev);
        free(s);
}

size_t summary_open_count(const struct summary *s)
{
        return s->nopen;
}

size_t summary_waiting_count(const struct summary *s)
{
        return s->ndone;
}

int64_t summary_clock_ms(const struct summary *s)
{
        return s->clock[KIND_SMTP] > s->clock[KIND_DELIVERY] ? s->clock[KIND_SMTP]
                                                             : s->clock[KIND_DELIVERY];
}

int64_t summary_idle_at_ms(const struct summary *s)
{
        const struct sum_sess *a = TAILQ_FIRST(&s->open[KIND_SMTP]);
        const struct sum_sess *b = TAILQ_FIRST(&s->open[KIND_DELIVERY]);
        int64_t at = INT64_MAX;

        if (a)
                at = a->end_ms + s->cfg.idle_ms;
        if (b && b->end_ms + s->cfg.idle_ms < at)
                at = b->end_ms + s->cfg.idle_ms;
        return at;
}

/* ---- the table ------------------------------------------------------------ */

/* Hand the finished sessions to the callback, oldest first. */
static int emit_done(struct summary *s)
{
        struct sum_sess *ss;

        while ((ss = TAILQ_FIRST(&s->done))) {
                int r;

                sum_build(s, ss);
                r = s->fn ? s->fn(s->ev, s->data) : 0;
                if (r == -EAGAIN)
                        return -EAGAIN;
                TAILQ_REMOVE(&s->done, ss, link);
                s->ndone--;
                sess_free(ss);
        }
        return 0;
}

int summary_retry(struct summary *s)
{
        return emit_done(s);
}

static void finish(struct summary *s, struct sum_sess *ss, enum summary_end why)
{
        tdelete(&ss->key, &s->root, key_cmp);
        TAILQ_REMOVE(&s->open[ss->key.kind], ss, link);
        s->nopen--;
        ss->why = (uint8_t)why;
        /* a callback that keeps refusing must not grow memory past the cap:
         * the oldest waiting summary is dropped */
        if (s->ndone >= s->cfg.max_open) {
                struct sum_sess *old = TAILQ_FIRST(&s->done);
                TAILQ_REMOVE(&s->done, old, link);
                s->ndone--;
                sess_free(old);
        }
        TAILQ_INSERT_TAIL(&s->done, ss, link);
        s->ndone++;
}

/* The open session whose last record is oldest, of either kind, or NULL. */
static struct sum_sess *oldest_open(const struct summary *s)
{
        struct sum_sess *a = TAILQ_FIRST(&s->open[KIND_SMTP]);
        struct sum_sess *b = TAILQ_FIRST(&s->open[KIND_DELIVERY]);

        return !b || (a && a->touched < b->touched) ? a : b;
}

static struct sum_sess *lookup(struct summary *s, uint8_t kind, const char *id, size_t n,
                               int64_t ts)
{
        struct sum_key probe;
        struct sum_sess *ss;
        void *node;

        if (n == 0 || n > SUMMARY_ID_MAX)
                return NULL;
        probe.kind = kind;
        probe.len = (uint8_t)n;
        memcpy(probe.id, id, n);
        probe.id[n] = '\0';
        node = tfind(&probe, &s->root, key_cmp);
        if (node) {
                ss = *(struct sum_sess **)node;
                TAILQ_REMOVE(&s->open[kind], ss, link);
                TAILQ_INSERT_TAIL(&s->open[kind], ss, link);
                ss->touched = ++s->records;
                return ss;
        }
        if (s->nopen >= s->cfg.max_open)
                finish(s, oldest_open(s), SUMMARY_END_EVICTED);
        ss = calloc(1, sizeof(*ss));
        if (!ss)
                return NULL;
        ss->key = probe;
        ss->start_ms = ss->end_ms = ts;
        node = tsearch(&ss->key, &s->root, key_cmp);
        if (!node) {
                free(ss);
                return NULL;
        }
        TAILQ_INSERT_TAIL(&s->open[kind], ss, link);
        ss->touched = ++s->records;
        s->nopen++;
        return ss;
}

/* A session is idle when its last record is older than now - idle. The
 * head is the least recently touched; records written a little out of
 * order may leave a later one idle longer, which the next call catches. */
static void expire_kind(struct summary *s, int kind, int64_t now_ms)
{
        struct sum_sess *ss;

        while ((ss = TAILQ_FIRST(&s->open[kind])) && now_ms != INT64_MIN &&
               ss->end_ms < now_ms - s->cfg.idle_ms)
                finish(s, ss, SUMMARY_END_IDLE);
}

void summary_add(struct summary *s, const struct event *ev)
{
        const char *lt, *id, *act, *p;
        size_t ltl, idl, al = 0, n;
        struct sum_sess *ss;
        uint8_t kind;
        int closes;

        lt = event_get_str(ev, K_SM_LOG_TYPE, &ltl);
        if (sum_str_is(lt, ltl, "smtp")) {
                kind = KIND_SMTP;
                id = event_get_str(ev, s->k[SK_SESSION_ID], &idl);
        } else if (sum_str_is(lt, ltl, "delivery")) {
                kind = KIND_DELIVERY;
                id = event_get_str(ev, s->k[SK_DELIVERY_ID], &idl);
        } else {
                return;
        }
        if (!id || !(ss = lookup(s, kind, id, idl, ev->ts_ms))) {
                emit_done(s);
                return;
        }
        act = event_get_str(ev, K_EVENT_ACTION, &al);
        ss->c.records++;
        if (ev->ts_ms < ss->start_ms)
                ss->start_ms = ev->ts_ms;       /* threads write a little out of order */
        if (ev->ts_ms > ss->end_ms)
                ss->end_ms = ev->ts_ms;
        if (!ss->l.path.len && (p = event_get_str(ev, K_LOG_FILE_PATH, &n)))
                ss->l.path = sum_text_add(&ss->l, p, n, SUMMARY_TEXT_MAX / 2);
        if (kind == KIND_SMTP) {
                sum_take_smtp(s, ss, ev, act, al);
                closes = sum_str_is(act, al, "connection-closed");
        } else {
                sum_take_delivery(s, ss, ev);
                closes = sum_str_is(act, al, "delivery-finished");
        }
        if (closes)
                finish(s, ss, SUMMARY_END_CLOSED);
        if (ev->ts_ms > s->clock[kind])
                s->clock[kind] = ev->ts_ms;
        expire_kind(s, kind, s->clock[kind]);
        emit_done(s);
}

void summary_expire(struct summary *s, int64_t now_ms)
{
        expire_kind(s, KIND_SMTP, now_ms);
        expire_kind(s, KIND_DELIVERY, now_ms);
        emit_done(s);
}

void summary_flush_all(struct summary *s, enum summary_end why)
{
        struct sum_sess *ss;

        while ((ss = oldest_open(s)))
                finish(s, ss, why);
        emit_done(s);
}
