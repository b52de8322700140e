/* SPDX-License-Identifier: MIT */
/* "smartermail-shim report --unparsed": the lines no mapping rule knows,
 * for a user to see how much of each log type is read and to send the
 * shapes that are not. Every record of the chosen files is normalized as
 * in parse; the unparsed ones are grouped by log type and by their shape
 * (shape.c), counted, and shown with one masked example each. Text, or one
 * JSON object with --json. It holds no line as written. */
#ifndef SHIM_UNPARSED_H
#define SHIM_UNPARSED_H

#include <stdio.h>

#include "base/options.h"

/* argv: files (else o->logs is read). Writes to out. Returns the exit
 * status: 0 done, 1 an input or output failed, 2 usage. */
int unparsed_main(const struct shim_opts *o, int argc, char **argv, FILE *out);

#endif
