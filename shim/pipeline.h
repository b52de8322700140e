/* SPDX-License-Identifier: MIT */
/* What parse and run share: the zone, the host name, the key registry and
 * the mappings, the normalizer and one reusable event, built from the
 * options. Loading twice (SIGHUP) builds a second pipeline and swaps. */
#ifndef SHIM_PIPELINE_H
#define SHIM_PIPELINE_H

#include "encode_json.h"
#include "event.h"
#include "mapping.h"
#include "normalize.h"
#include "options.h"
#include "stamp.h"

struct pipeline {
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
const char *pipeline_mappings_dir(const char *given, char *tmp, size_t n);

/* Build everything. Problems are printed. Returns 0, -EINVAL (bad zone or
 * mappings: exit 2) or -ENOMEM. */
int pipeline_init(struct pipeline *p, const struct shim_opts *o);
void pipeline_done(struct pipeline *p);

#endif
