/* SPDX-License-Identifier: MIT */
/* The report's numbers, as report.c hands them to its renderers
 * (report_text.c, report_html.c). */
#ifndef SHIM_REPORT_INT_H
#define SHIM_REPORT_INT_H

#include <stdint.h>
#include <stdio.h>

#include "base/log.h"
#include "query/tally.h"

#define REPORT_TOP_MAX 1000     /* --top ceiling */
#define REPORT_DAYS_MAX 400     /* days shown in the per-day table */

enum report_class { RC_DELIVERED, RC_DEFERRED, RC_BOUNCED, RC_FAILED, RC_UNKNOWN, RC__COUNT };

enum report_list_id {
        RL_SENDERS, RL_RECIPIENTS, RL_FAIL_DOMAINS, RL_AUTH_IP, RL_AUTH_USER, RL_IDS_IP,
        RL_BLOCKS, RL_CODES_IN, RL_CODES_OUT, RL__COUNT
};

struct report_list {
        const char *name;               /* JSON key */
        const char *title;
        const char *what;               /* the key column */
        struct tally_row *rows;
        size_t n;
        uint64_t total;
        size_t distinct;
};

struct report_slow {
        char id[72];
        char when[24];                  /* local "YYYY.MM.DD HH:MM:SS" */
        int64_t ms;
        char from[128], to[128], status[32];
};

struct report_totals {
        uint64_t files, records, smtp_sessions, received, deliveries;
        uint64_t klass[RC__COUNT];
        uint64_t auth_failures, ids_blocks, blocked_sessions, auth_failed_sessions,
                 rejected_sessions;
};

struct report_data {
        char range[96];                 /* "2026.03.08 00:00 .. 2026.03.09 23:59" */
        char zone[128];
        struct report_totals tot;
        uint64_t hour_recv[24], hour_dlv[24];
        struct report_list lists[RL__COUNT];
        struct tally_row *days;         /* "YYYY.MM.DD" -> messages received */
        size_t ndays;
        struct report_slow *slow;
        size_t nslow;
};

extern const char *const report_class_names[RC__COUNT];

/* The report as text to o (report_text.c); write errors show in ferror(o). */
void report_text_write(FILE *o, const struct report_data *d);

/* The report as one JSON object and a newline to o (report_text.c).
 * Returns 0 or -EIO. */
int report_json_write(FILE *o, const struct report_data *d);

struct buf;

/* Write the JSON text in b to o and free b; also for report --unparsed.
 * Returns 0 or -EIO (b was cut short, or the write failed). */
int report_json_flush(FILE *o, struct buf *b);

/* Write the page to path. Returns 0 or -errno (reported). */
int report_html_write(const struct report_data *d, const char *path);

#endif
