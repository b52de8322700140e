/* SPDX-License-Identifier: MIT */
/* "smartermail-shim search": the log viewer's search on the command line.
 * Matching records (plain text or PCRE2), every record of the sessions and
 * deliveries they belong to (--related), or each message followed from its
 * SMTP session through its spool id to its delivery and final status
 * (--trace, in trace.c); as text or as JSON events. */
#ifndef SHIM_SEARCH_H
#define SHIM_SEARCH_H

#include <stdio.h>

#include "base/options.h"

/* argv[0] is the search string, the rest are files (else o->logs is read).
 * Writes to out; problems go to standard error. Returns the exit status: 0
 * done (with or without matches), 1 an input or output failed, 2 usage. */
int search_main(const struct shim_opts *o, int argc, char **argv, FILE *out);

#endif
