/* SPDX-License-Identifier: MIT */
/* What search --trace shows of one summary event (a session or a
 * delivery): its times, counts and texts copied out of the event, cut to
 * fixed sizes, so that the event itself need not be kept. */
#ifndef SHIM_TRACE_SUM_H
#define SHIM_TRACE_SUM_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "core/summary.h"

#define TRACE_TEXT 256

/* What the text output shows of one summary. */
struct trace_sum {
        int64_t start_ms, end_ms;
        int partial;
        long records;
        char status[32], end_reason[32], ip[64], user[TRACE_TEXT], auth[16];
        char from[TRACE_TEXT], to[TRACE_TEXT], message_id[TRACE_TEXT], last[TRACE_TEXT];
        char dlv_status[64], dest_ip[64], reason[TRACE_TEXT], direction[16], block[64];
        char spool[SUMMARY_SPOOL_MAX][SUMMARY_ID_MAX + 1];
        unsigned nspool;
};

/* Fill *ret from the summary event ev; smtp: ev summarizes an SMTP
 * session (it has spool ids). */
void trace_sum_from(struct trace_sum *ret, const struct event *ev, int smtp);

/* The text of field name in ev, cut to cap bytes, in out ("" when ev has
 * none). Returns out. */
const char *trace_sum_text(const struct event *ev, const char *name, char *out, size_t cap);

#endif
