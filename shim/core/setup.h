/* SPDX-License-Identifier: MIT */
/* What parse and run share: the zone, the host name, the key registry and
 * the mappings, the normalizer and one reusable event, built from the
 * options. Loading twice (SIGHUP) builds a second pipeline and swaps. */
#ifndef SHIM_SETUP_H
#define SHIM_SETUP_H

#include "core/encode_json.h"
#include "core/event.h"
#include "core/mapping.h"
#include "core/normalize.h"
#include "base/options.h"
#include "core/stamp.h"
#include "core/summary.h"

struct setup {
        struct tz_conv tz;
        char host[256];
        char mappings_dir[4096];
        struct keys *keys;
        struct mapping_set *maps;
        struct norm norm;
        struct event *ev;
        enum encoding enc;
};

/* The mappings directory: --mappings, else /etc/smartermail-shim/mappings,
 * else the installed copy, else mappings/ beside the binary. */
const char *setup_mappings_dir(const char *given, char *tmp, size_t n);

/* Build everything. Problems are printed. Returns 0, -EINVAL (bad zone or
 * mappings: exit 2) or -ENOMEM. */
int setup_init(struct setup *p, const struct shim_opts *o);
/* Select the zone of --timezone (tz_init). Returns 0, or -EINVAL after
 * printing, as a config error, where the value that is no zone was set. */
int setup_tz(struct tz_conv *tz, const struct shim_opts *o);
void setup_done(struct setup *p);

/* The summary table's settings for a built p: its host name and zone, and
 * the limits of o (--summary-max-open, --summary-idle-timeout). A command
 * with limits of its own (report, search --trace) sets them after. The
 * strings point into p: summary_new's table must not outlive it. */
struct summary_cfg setup_summary_cfg(const struct setup *p, const struct shim_opts *o);

#endif
