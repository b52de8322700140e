/* SPDX-License-Identifier: MIT */
/* The outputs by name: --output parsed into output tables, each handed its
 * own settings, and the check of every configured output before any is
 * opened. The one module that knows every output; the outputs themselves
 * know only sink.h. */
#ifndef SHIM_REGISTRY_H
#define SHIM_REGISTRY_H

#include "base/options.h"
#include "outputs/sink.h"

/* Set s up for one --output item ("stdout", "file:PATH", "journald",
 * "syslog", "kafka"), with its settings from o. Returns 0 or -EINVAL (err
 * says why). Call s->ops->open next: it checks the settings (-EINVAL) and
 * may connect, but a receiver that is down is not an error there — submit
 * and flush retry. */
int sink_from_spec(struct sink *s, const char *spec, const struct shim_opts *o,
                   struct diag *err);

/* The outputs o->output names (a comma-separated --output list), each set
 * up by sink_from_spec into ret[0..*ret_n). Returns 0; -E2BIG for more
 * than max items, or -EINVAL for an item that is no output (the others are
 * still set up) or for none, err naming the first problem and where
 * --output was set. */
int sink_parse_outputs(const struct shim_opts *o, struct sink *ret, unsigned max,
                       unsigned *ret_n, struct diag *err);

/* Check every output of o->output (sink_from_spec, then its check op),
 * before anything is opened: each problem is printed as "file:line: key:
 * problem" (the config line of the setting), and every output is checked.
 * Returns 0, -EINVAL (a problem was printed) or -ENOMEM (nothing is printed
 * for it: the caller says so). */
int sink_check_outputs(const struct shim_opts *o);

#endif
