/* SPDX-License-Identifier: MIT */
/* What an SMTP log record means to its session's summary, and how the
 * summary of an SMTP session reads: its peer, senders, recipients, the
 * messages accepted (spool ids), authentication and the answers given. The
 * meaning comes from the fields the mappings set (event.action,
 * smartermail.*), not from the record's text. The table lives in summary.c. */
#include "core/summary_int.h"

#include <stdio.h>
#include <string.h>

static void auth_failed(struct sum_counts *c)
{
        c->auth_failures++;
        if (c->auth != AUTH_OK)
                c->auth = AUTH_FAILED;
}

static void take_code(struct sum_sess *ss, const struct event *ev, int64_t code)
{
        struct sum_counts *c = &ss->c;

        sum_take_response(ss, ev, code);
        if (code == 235)
                c->auth = AUTH_OK;
        else if (code == 535 || code == 534)
                auth_failed(c);
        else if (code >= 400)
                c->rejected = 1;
}

void sum_take_smtp(const struct summary *s, struct sum_sess *ss, const struct event *ev,
                   const char *act, size_t alen)
{
        struct sum_counts *c = &ss->c;
        struct sum_lists *l = &ss->l;
        const char *p;
        size_t n;
        int64_t code;

        if ((p = event_get_str(ev, s->k[SK_SOURCE_IP], &n)))
                sum_set_once(l, &l->ip, p, n);
        if (event_get_num(ev, s->k[SK_RSP_CODE], &code))
                take_code(ss, ev, code);
        if (sum_str_is(act, alen, "authentication-attempt") ||
            sum_str_is(act, alen, "authentication-success")) {
                if ((p = event_get_str(ev, K_USER_NAME, &n)))
                        sum_copy_latest(ss->t.user, sizeof(ss->t.user), p, n);
                if (sum_str_is(act, alen, "authentication-success"))
                        c->auth = AUTH_OK;
        } else if (sum_str_is(act, alen, "authentication-failure")) {
                auth_failed(c);
        }
        sum_take_addresses(s, ss, ev);
        if ((p = event_get_str(ev, s->k[SK_SPOOL_ID], &n)) &&
            sum_list_add(l, l->spool, &l->nspool, SUMMARY_SPOOL_MAX, p, n))
                l->spool_total++;
        if ((p = event_get_str(ev, s->k[SK_MESSAGE_ID], &n)))
                sum_set_once(l, &l->message_id, p, n);
        if ((p = event_get_str(ev, s->k[SK_BLOCK_REASON], &n)))
                sum_set_once(l, &l->block, p, n);
}

static const char *smtp_status(const struct sum_sess *ss)
{
        if (ss->l.spool_total)
                return "accepted";
        if (ss->l.block.len)
                return "blocked";
        if (ss->c.auth == AUTH_FAILED)
                return "auth-failed";
        if (ss->c.rejected)
                return "rejected";
        return "no-mail";
}

const char *sum_build_smtp(const struct summary *s, struct event *ev, const struct sum_sess *ss)
{
        const char *st = smtp_status(ss);

        event_set_safe(ev, K_EVENT_DATASET, "smartermail.smtp", 16);
        event_set_safe(ev, K_SM_LOG_TYPE, "smtp", 4);
        event_set_safe(ev, K_EVENT_ACTION, "smtp-session", 12);
        event_set_safe(ev, K_EVENT_CATEGORY, "email", 5);
        event_set_safe(ev, K_EVENT_CATEGORY, "network", 7);
        if (ss->c.auth != AUTH_NONE)
                event_set_safe(ev, K_EVENT_CATEGORY, "authentication", 14);
        event_set_safe(ev, K_EVENT_CATEGORY, "session", 7);
        event_set_safe(ev, s->k[SK_PROTOCOL], "smtp", 4);
        event_set_safe(ev, s->k[SK_DIRECTION], "inbound", 7);
        event_set_str(ev, s->k[SK_SESSION_ID], ss->key.id, ss->key.len);
        sum_set_ref(ev, s->k[SK_SOURCE_IP], ss, ss->l.ip);
        sum_set_ref(ev, K_RELATED_IP, ss, ss->l.ip);
        if (ss->l.nspool) {
                sum_set_ref(ev, s->k[SK_SPOOL_ID], ss, ss->l.spool[0]);
                for (unsigned i = 0; i < ss->l.nspool; i++)
                        sum_set_ref(ev, s->k[SK_SPOOL_IDS], ss, ss->l.spool[i]);
        }
        event_set_num(ev, s->k[SK_MESSAGES], ss->l.spool_total);
        sum_set_ref(ev, s->k[SK_MESSAGE_ID], ss, ss->l.message_id);
        sum_set_ref(ev, s->k[SK_BLOCK_REASON], ss, ss->l.block);
        if (ss->c.auth != AUTH_NONE)
                sum_set_cstr(ev, s->k[SK_AUTH_OUTCOME], ss->c.auth == AUTH_OK ? "success" : "failure");
        if (ss->c.auth_failures)
                event_set_num(ev, s->k[SK_AUTH_FAILURES], ss->c.auth_failures);
        if (!strcmp(st, "accepted")) {
                event_set_safe(ev, K_EVENT_OUTCOME, "success", 7);
        } else if (strcmp(st, "no-mail")) {
                event_set_safe(ev, K_EVENT_OUTCOME, "failure", 7);
                ev->severity = SEV_WARNING;
        } else {
                event_set_safe(ev, K_EVENT_OUTCOME, "unknown", 7);
        }
        return st;
}

size_t sum_message_smtp(char *m, size_t cap, const struct sum_sess *ss, const char *status,
                        const char *from, const char *to)
{
        char ids[128];
        size_t o;

        sum_fmt_list(ids, sizeof(ids), ss, ss->l.spool, ss->l.nspool, ss->l.spool_total);
        o = (size_t)snprintf(m, cap, "SMTP session %s from %.*s: ", ss->key.id,
                             (int)ss->l.ip.len, sum_ref_str(ss, ss->l.ip));
        if (ss->l.spool_total)
                o += (size_t)snprintf(m + o, cap - o, "%u message%s accepted (%s) from %s to %s",
                                      (unsigned)ss->l.spool_total,
                                      ss->l.spool_total == 1 ? "" : "s", ids,
                                      from[0] ? from : "-", to[0] ? to : "-");
        else if (!strcmp(status, "auth-failed"))
                o += (size_t)snprintf(m + o, cap - o, "authentication failed for %s (%s)",
                                      ss->t.user[0] ? ss->t.user : "-", ss->t.rsp);
        else
                o += (size_t)snprintf(m + o, cap - o, "%s%s%s", status,
                                      ss->t.rsp[0] ? ", last answer " : "", ss->t.rsp);
        return o;
}
