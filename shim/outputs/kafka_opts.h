/* SPDX-License-Identifier: MIT */
/* The settings of the Kafka output: its config struct and the option rows
 * that fill it (kafka_opts.c), with the rule that says which librdkafka
 * properties may carry a secret. Only the Kafka output reads them. */
#ifndef SHIM_KAFKA_OPTS_H
#define SHIM_KAFKA_OPTS_H

#include "base/optspec.h"

#include <stddef.h>

struct kafka_cfg {
        char *brokers;
        char *topic;
        char *property;                 /* OPT_LIST of "name=value" */
        char *property_file;            /* OPT_LIST of "name=path" */
        char *rejected;
};

/* Whether a librdkafka property of this name (len bytes) may carry a
 * secret: matched without regard to case against words such as password,
 * secret, key, token and credential, so that a misspelt or upper-cased
 * name is hidden too. 1 when it may, else 0. */
int kafka_secret_property(const char *name, size_t len);

/* Its rows, into struct kafka_cfg, ending with an empty row. */
extern const struct opt_spec kafka_options[];

#endif
