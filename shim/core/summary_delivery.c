/* SPDX-License-Identifier: MIT */
/* What a delivery log record means to its delivery's summary, and how the
 * summary of a delivery reads: sender, recipients, direction, where it went
 * and the worst outcome of its attempts. The meaning comes from the fields
 * the mappings set, not from the record's text. The table lives in
 * summary.c. */
#include "core/summary_int.h"

#include <stdio.h>
#include <string.h>

static const char *const class_names[] = {
        [CLASS_NONE] = "unknown", [CLASS_DELIVERED] = "delivered", [CLASS_DEFERRED] = "deferred",
        [CLASS_BOUNCED] = "bounced", [CLASS_FAILED] = "failed",
};

/* The word of "has completed (...)" as an outcome class. */
static enum sum_class classify(const char *w, size_t n)
{
        if (n == 9 && sum_has_ci(w, n, "delivered"))
                return CLASS_DELIVERED;
        if (sum_has_ci(w, n, "defer") || sum_has_ci(w, n, "delay") || sum_has_ci(w, n, "retry") ||
            sum_has_ci(w, n, "queued") || sum_has_ci(w, n, "greylist"))
                return CLASS_DEFERRED;
        if (sum_has_ci(w, n, "bounce"))
                return CLASS_BOUNCED;
        return CLASS_FAILED;
}

static void take_direction(struct sum_counts *c, const char *p, size_t n)
{
        if (sum_str_is(p, n, "outbound"))
                c->dir = DIR_OUTBOUND;
        else if (sum_str_is(p, n, "internal") && c->dir == DIR_NONE)
                c->dir = DIR_INTERNAL;
}

void sum_take_delivery(const struct summary *s, struct sum_sess *ss, const struct event *ev)
{
        struct sum_counts *c = &ss->c;
        const char *p;
        size_t n;
        int64_t v;

        sum_take_addresses(s, ss, ev);
        if ((p = event_get_str(ev, s->k[SK_DIRECTION], &n)))
                take_direction(c, p, n);
        if ((p = event_get_str(ev, s->k[SK_DEST_IP], &n)))
                sum_copy_latest(ss->t.dest_ip, sizeof(ss->t.dest_ip), p, n);
        if (event_get_num(ev, s->k[SK_RSP_CODE], &v))
                sum_take_response(ss, ev, v);
        if ((p = event_get_str(ev, s->k[SK_DLV_STATUS], &n)) && n) {
                enum sum_class k = classify(p, n);
                sum_copy_latest(ss->t.status, sizeof(ss->t.status), p, n);
                if (k > c->klass)
                        c->klass = (uint8_t)k;
        }
        if (event_get_num(ev, s->k[SK_SPOOL_FAILED], &v) && v)
                c->spool_failed = 1;
        if ((p = event_get_str(ev, s->k[SK_REASON], &n)))
                sum_copy_latest(ss->t.reason, sizeof(ss->t.reason), p, n);
}

static enum sum_class delivery_class(const struct sum_sess *ss)
{
        if (ss->c.klass == CLASS_NONE && ss->c.spool_failed)
                return CLASS_FAILED;
        return (enum sum_class)ss->c.klass;
}

static void set_outcome(struct event *ev, enum sum_class k)
{
        switch (k) {
        case CLASS_DELIVERED:
                event_set_safe(ev, K_EVENT_OUTCOME, "success", 7);
                break;
        case CLASS_DEFERRED:
                event_set_safe(ev, K_EVENT_OUTCOME, "unknown", 7);
                ev->severity = SEV_NOTICE;
                break;
        case CLASS_BOUNCED:
        case CLASS_FAILED:
                event_set_safe(ev, K_EVENT_OUTCOME, "failure", 7);
                ev->severity = SEV_ERR;
                break;
        case CLASS_NONE:
                break;
        }
}

const char *sum_build_delivery(const struct summary *s, struct event *ev,
                               const struct sum_sess *ss)
{
        enum sum_class k = delivery_class(ss);

        event_set_safe(ev, K_EVENT_DATASET, "smartermail.delivery", 20);
        event_set_safe(ev, K_SM_LOG_TYPE, "delivery", 8);
        event_set_safe(ev, K_EVENT_ACTION, "delivery", 8);
        event_set_safe(ev, K_EVENT_CATEGORY, "email", 5);
        event_set_safe(ev, K_EVENT_CATEGORY, "session", 7);
        event_set_str(ev, s->k[SK_DELIVERY_ID], ss->key.id, ss->key.len);
        event_set_str(ev, s->k[SK_LOCAL_ID], ss->key.id, ss->key.len);
        event_set_str(ev, s->k[SK_SPOOL_ID], ss->key.id, ss->key.len);
        if (ss->c.dir == DIR_OUTBOUND) {
                event_set_safe(ev, s->k[SK_DIRECTION], "outbound", 8);
                event_set_safe(ev, s->k[SK_PROTOCOL], "smtp", 4);
        } else if (ss->c.dir == DIR_INTERNAL) {
                event_set_safe(ev, s->k[SK_DIRECTION], "internal", 8);
        }
        sum_set_cstr(ev, s->k[SK_DEST_IP], ss->t.dest_ip);
        sum_set_cstr(ev, K_RELATED_IP, ss->t.dest_ip);
        sum_set_cstr(ev, s->k[SK_DLV_STATUS], ss->t.status);
        sum_set_cstr(ev, s->k[SK_REASON], ss->t.reason);
        set_outcome(ev, k);
        return class_names[k];
}

size_t sum_message_delivery(char *m, size_t cap, const struct sum_sess *ss, const char *status,
                            const char *from, const char *to)
{
        size_t o = (size_t)snprintf(m, cap, "Delivery %s from %s to %s: %s", ss->key.id,
                                    from[0] ? from : "-", to[0] ? to : "-",
                                    ss->t.status[0] ? ss->t.status : status);

        if (ss->t.rsp[0] && o < cap)
                o += (size_t)snprintf(m + o, cap - o, ", last answer %s", ss->t.rsp);
        return o;
}
