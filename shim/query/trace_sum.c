/* SPDX-License-Identifier: MIT */
/* Reading a summary event into the fixed-size struct trace_sum that the
 * trace's text output prints. Field names are looked up by name: this runs
 * once per summary of a traced message, not per record. */
#include "query/trace_sum.h"

#include <stdio.h>
#include <string.h>

#include "core/stamp.h"

const char *trace_sum_text(const struct event *ev, const char *name, char *out, size_t cap)
{
        int k = keys_find(ev->keys, name);
        const char *p;
        size_t n;

        out[0] = '\0';
        if (k >= 0 && (p = event_get_str(ev, (unsigned)k, &n)))
                snprintf(out, cap, "%.*s", (int)n, p);
        return out;
}

/* The values of an array field joined with ", ". */
static void get_list(const struct event *ev, const char *name, char *out, size_t cap)
{
        const struct field *v[16];
        int k = keys_find(ev->keys, name);
        unsigned n = k < 0 ? 0 : event_get_all(ev, (unsigned)k, v, 16);
        size_t o = 0;

        out[0] = '\0';
        for (unsigned i = 0; i < n && i < 16 && o + 1 < cap; i++)
                if (v[i]->kind == VAL_STR || v[i]->kind == VAL_SAFE)
                        o += (size_t)snprintf(out + o, cap - o, "%s%.*s", o ? ", " : "",
                                              (int)v[i]->len, v[i]->v.str);
}

static int64_t get_num(const struct event *ev, const char *name)
{
        int k = keys_find(ev->keys, name);
        int64_t v = 0;

        if (k >= 0)
                event_get_num(ev, (unsigned)k, &v);
        return v;
}

static int64_t get_date(const struct event *ev, const char *name)
{
        char t[32];
        int y, mo, d, h, mi, sec, ms;

        trace_sum_text(ev, name, t, sizeof(t));
        if (sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &y, &mo, &d, &h, &mi, &sec, &ms) != 7)
                return 0;
        return (stamp_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) * 1000 + ms;
}

void trace_sum_from(struct trace_sum *sm, const struct event *ev, int smtp)
{
        const struct field *v[SUMMARY_SPOOL_MAX];

        memset(sm, 0, sizeof(*sm));
        sm->start_ms = get_date(ev, "event.start");
        sm->end_ms = get_date(ev, "event.end");
        sm->records = (long)get_num(ev, "smartermail.summary.records");
        sm->partial = get_num(ev, "smartermail.summary.partial") != 0;
        trace_sum_text(ev, "smartermail.summary.status", sm->status, sizeof(sm->status));
        trace_sum_text(ev, "smartermail.summary.end_reason", sm->end_reason, sizeof(sm->end_reason));
        trace_sum_text(ev, "source.ip", sm->ip, sizeof(sm->ip));
        trace_sum_text(ev, "user.name", sm->user, sizeof(sm->user));
        trace_sum_text(ev, "smartermail.summary.auth_outcome", sm->auth, sizeof(sm->auth));
        get_list(ev, "email.from.address", sm->from, sizeof(sm->from));
        get_list(ev, "email.to.address", sm->to, sizeof(sm->to));
        trace_sum_text(ev, "email.message_id", sm->message_id, sizeof(sm->message_id));
        trace_sum_text(ev, "smartermail.summary.last_response", sm->last, sizeof(sm->last));
        trace_sum_text(ev, "smartermail.delivery.status", sm->dlv_status, sizeof(sm->dlv_status));
        trace_sum_text(ev, "destination.ip", sm->dest_ip, sizeof(sm->dest_ip));
        trace_sum_text(ev, "event.reason", sm->reason, sizeof(sm->reason));
        trace_sum_text(ev, "network.direction", sm->direction, sizeof(sm->direction));
        trace_sum_text(ev, "smartermail.block.reason", sm->block, sizeof(sm->block));
        if (smtp) {
                int k = keys_find(ev->keys, "smartermail.summary.spool_ids");
                unsigned n = k < 0 ? 0 : event_get_all(ev, (unsigned)k, v, SUMMARY_SPOOL_MAX);

                for (unsigned i = 0; i < n && i < SUMMARY_SPOOL_MAX; i++)
                        if (v[i]->len <= SUMMARY_ID_MAX)
                                snprintf(sm->spool[sm->nspool++], SUMMARY_ID_MAX + 1, "%.*s",
                                         (int)v[i]->len, v[i]->v.str);
        }
}
