/* SPDX-License-Identifier: MIT */
/* search --trace: each message that matches, followed from its SMTP
 * session through its spool id to its delivery and final status. */
#ifndef SHIM_TRACE_H
#define SHIM_TRACE_H

#include "query/scan.h"

/* Over the files s selected, with s->p built and s->m the pattern: print
 * one block per message to s->out. Returns 0 or a negative errno (already
 * reported). */
int trace_run(struct scan *s);

#endif
