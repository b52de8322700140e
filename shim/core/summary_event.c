/* SPDX-License-Identifier: MIT */
/* The summary event: the fields every summary has (times, file, counts,
 * why it ended, the message) around the ones its log type adds
 * (summary_smtp.c, summary_delivery.c). It builds into the table's one
 * reusable struct event and decides nothing about when a summary ends. */
#include "core/summary_int.h"

#include <stdio.h>
#include <string.h>

#include "core/stamp.h"

static const char *const end_names[] = {
        [SUMMARY_END_CLOSED] = "closed",
        [SUMMARY_END_IDLE] = "idle-timeout",
        [SUMMARY_END_INPUT] = "end-of-input",
        [SUMMARY_END_SHUTDOWN] = "shutdown",
        [SUMMARY_END_EVICTED] = "evicted",
};

static void set_date(struct event *ev, unsigned key, int64_t ms)
{
        char *ts = event_scratch(ev, 24);

        if (ts) {
                stamp_format_utc(ms, ts);
                event_set_safe(ev, key, ts, 24);
        }
}

static void set_message(struct event *ev, const struct sum_sess *ss, const char *status,
                        enum summary_end why)
{
        char *m = event_scratch(ev, SUMMARY_MSG_MAX);
        char from[256], to[256];
        size_t o;

        if (!m)
                return;
        sum_fmt_list(from, sizeof(from), ss, ss->l.from, ss->l.nfrom, ss->l.nfrom);
        sum_fmt_list(to, sizeof(to), ss, ss->l.to, ss->l.nto, ss->l.to_total);
        if (ss->key.kind == KIND_SMTP)
                o = sum_message_smtp(m, SUMMARY_MSG_MAX, ss, status, from, to);
        else
                o = sum_message_delivery(m, SUMMARY_MSG_MAX, ss, status, from, to);
        if (o < SUMMARY_MSG_MAX)
                o += (size_t)snprintf(m + o, SUMMARY_MSG_MAX - o, "; %u record%s%s%s",
                                      (unsigned)ss->c.records, ss->c.records == 1 ? "" : "s",
                                      why == SUMMARY_END_CLOSED ? "" : ", cut short: ",
                                      why == SUMMARY_END_CLOSED ? "" : end_names[why]);
        if (o >= SUMMARY_MSG_MAX)
                o = SUMMARY_MSG_MAX - 1;
        event_set_str(ev, K_MESSAGE, m, o);
}

/* Fields of either log type that come after the type's own. */
static void set_people(const struct summary *s, struct event *ev, const struct sum_sess *ss)
{
        for (unsigned i = 0; i < ss->l.nfrom; i++)
                sum_set_ref(ev, s->k[SK_FROM], ss, ss->l.from[i]);
        for (unsigned i = 0; i < ss->l.nto; i++)
                sum_set_ref(ev, s->k[SK_TO], ss, ss->l.to[i]);
        if (ss->l.to_total)
                event_set_num(ev, s->k[SK_RECIPIENT_COUNT], ss->l.to_total);
        if (ss->t.user[0]) {
                sum_set_cstr(ev, K_USER_NAME, ss->t.user);
                sum_set_cstr(ev, K_RELATED_USER, ss->t.user);
        }
}

void sum_build(struct summary *s, const struct sum_sess *ss)
{
        struct event *ev = s->ev;
        const char *status;
        enum summary_end why = (enum summary_end)ss->why;

        event_reset(ev);
        ev->ts_ms = ss->start_ms;
        ev->offset = ev->end_offset = 0;
        ev->seq = 0;
        set_date(ev, K_TIMESTAMP, ss->start_ms);
        event_set_safe(ev, K_EVENT_MODULE, "smartermail", 11);
        event_set_safe(ev, K_EVENT_KIND, "event", 5);
        event_set_safe(ev, K_EVENT_TYPE, "end", 3);
        sum_set_cstr(ev, K_EVENT_TIMEZONE, s->cfg.zone);
        sum_set_cstr(ev, K_HOST_NAME, s->cfg.host_name);
        sum_set_ref(ev, K_LOG_FILE_PATH, ss, ss->l.path);
        if (ss->key.kind == KIND_SMTP)
                status = sum_build_smtp(s, ev, ss);
        else
                status = sum_build_delivery(s, ev, ss);
        set_date(ev, s->k[SK_START], ss->start_ms);
        set_date(ev, s->k[SK_END], ss->end_ms);
        event_set_num(ev, s->k[SK_DURATION], (ss->end_ms - ss->start_ms) * 1000000);
        set_people(s, ev, ss);
        for (unsigned i = 0; i < ss->c.ncodes; i++)
                event_set_num(ev, s->k[SK_CODES], ss->c.codes[i]);
        event_set_num(ev, s->k[SK_RESPONSE_COUNT], ss->c.responses);
        sum_set_cstr(ev, s->k[SK_LAST_RESPONSE], ss->t.rsp);
        sum_set_cstr(ev, s->k[SK_STATUS], status);
        event_set_num(ev, s->k[SK_RECORDS], ss->c.records);
        event_set_bool(ev, s->k[SK_PARTIAL], why != SUMMARY_END_CLOSED);
        sum_set_cstr(ev, s->k[SK_END_REASON], end_names[why]);
        set_message(ev, ss, status, why);
        event_set_level(ev);
}
