/* SPDX-License-Identifier: MIT */
/* What a delivery log record means to its delivery's summary, and how the
 * summary of a delivery reads: sender, recipients, direction, where it went
 * and the worst outcome of its attempts. The meaning comes from the fields
 * the mappings set, not from the record's text. The table lives in
 * summary.c. */
#include "core/summary_int.h"

#include <stdio.h>
#include <string.h>

#include "core/status.h"

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
                enum status_class k = status_classify(p, n);
                /* the words shown are those of the class the summary takes */
                if (k >= c->klass) {
                        sum_copy_latest(ss->t.status, sizeof(ss->t.status), p, n);
                        c->klass = (uint8_t)k;
                }
        }
        if (event_get_num(ev, s->k[SK_SPOOL_FAILED], &v) && v)
                c->spool_failed = 1;
        if ((p = event_get_str(ev, s->k[SK_REASON], &n)))
                sum_copy_latest(ss->t.reason, sizeof(ss->t.reason), p, n);
        if ((p = event_get_str(ev, s->k[SK_INTERNAL_ID], &n)))
                sum_set_once(&ss->l, &ss->l.internal_id, p, n);
}

/* The id an SMTP summary names this delivery by (smartermail.spool.id: the
 * last SUMMARY_JOIN_LEN characters of the spool file's name). New builds
 * put exactly that in the bracket. Old builds write a shorter bracket id
 * (5 digits) and the spool file's number only on the finish line,
 * "[id:NNNNNNNN]" (a sign before it is not part of the name). Sets *ret to
 * the key and returns its length. */
static size_t join_key(const struct sum_sess *ss, const char **ret)
{
        const char *p = sum_ref_str(ss, ss->l.internal_id);
        size_t n = ss->l.internal_id.len;

        *ret = ss->key.id;
        if (ss->key.len >= SUMMARY_JOIN_LEN || !n)
                return ss->key.len;
        if (p[0] == '-')
                p++, n--;
        if (n > SUMMARY_JOIN_LEN)
                p += n - SUMMARY_JOIN_LEN, n = SUMMARY_JOIN_LEN;
        if (!n)
                return ss->key.len;
        *ret = p;
        return n;
}

static enum status_class delivery_class(const struct sum_sess *ss)
{
        if (ss->c.klass == STATUS_NONE && ss->c.spool_failed)
                return STATUS_FAILED;
        return (enum status_class)ss->c.klass;
}

/* The summary's outcome and severity are those of its worst class, from
 * the same table as each record's. */
static void set_outcome(struct event *ev, enum status_class k)
{
        const char *o = status_outcome(k);

        if (o)
                event_set_safe(ev, K_EVENT_OUTCOME, o, strlen(o));
        if (status_severity(k))
                ev->severity = status_severity(k);
}

const char *sum_build_delivery(const struct summary *s, struct event *ev,
                               const struct sum_sess *ss)
{
        enum status_class k = delivery_class(ss);
        const char *join;
        size_t jn = join_key(ss, &join);

        event_set_safe(ev, K_EVENT_DATASET, "smartermail.delivery", 20);
        event_set_safe(ev, K_SM_LOG_TYPE, "delivery", 8);
        event_set_safe(ev, K_EVENT_ACTION, "delivery", 8);
        event_set_safe(ev, K_EVENT_CATEGORY, "email", 5);
        event_set_safe(ev, K_EVENT_CATEGORY, "session", 7);
        event_set_str(ev, s->k[SK_DELIVERY_ID], ss->key.id, ss->key.len);
        event_set_str(ev, s->k[SK_LOCAL_ID], ss->key.id, ss->key.len);
        event_set_str(ev, s->k[SK_SPOOL_ID], join, jn);
        sum_set_ref(ev, s->k[SK_INTERNAL_ID], ss, ss->l.internal_id);
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
        return status_class_name(k);
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
