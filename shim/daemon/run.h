/* SPDX-License-Identifier: MIT */
/* The daemon: follow a log directory, hand every record to the outputs,
 * advance the checkpoint over what they acknowledged. */
#ifndef SHIM_RUN_H
#define SHIM_RUN_H

#include "base/options.h"

/* Run until SIGTERM/SIGINT. o is the parsed options (config file applied);
 * argv0 locates the mappings of a build tree. Returns the exit status:
 * 0 after a clean stop, 1 when an output failed for good, 2 when start-up
 * failed on configuration. */
int run_main(struct shim_opts *o, const char *argv0);

#endif
