/* SPDX-License-Identifier: MIT */
/* "smartermail-shim parse": read log files (or standard input) once and
 * write one JSON event per record, and the summaries, to standard output. */
#ifndef SHIM_PARSE_H
#define SHIM_PARSE_H

#include "base/options.h"

/* argv: the files ("-" is standard input), after the options (o, already
 * parsed). Problems go to standard error. Returns the exit status: 0 done,
 * 1 an input or output failed or memory ran out, 2 usage. */
int parse_main(const struct shim_opts *o, int argc, char **argv);

#endif
