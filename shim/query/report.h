/* SPDX-License-Identifier: MIT */
/* "smartermail-shim report": a pflogsumm-style summary of a day or a range
 * of logs. Every record is parsed and summarized as in parse; the report
 * counts messages received, deliveries by outcome, authentication failures
 * and IDS blocks, response codes, traffic per hour, top senders,
 * recipients and failing remote domains, and the slowest deliveries. Text
 * for the terminal, one JSON object (--json), and a self-contained HTML
 * page (--html, in report_html.c). */
#ifndef SHIM_REPORT_H
#define SHIM_REPORT_H

#include <stdio.h>

#include "base/options.h"

/* argv: files (else o->logs is read). Writes to out. Returns the exit
 * status: 0 done, 1 an input or output failed, 2 usage. */
int report_main(const struct shim_opts *o, int argc, char **argv, FILE *out);

#endif
