/* SPDX-License-Identifier: MIT */
/* Inside the Kafka output: librdkafka's functions, loaded when the output
 * is first checked or opened (dlib.h), and the producer's settings built
 * from struct kafka_cfg (kafka_conf.c). sink_kafka.c produces with them.
 * The two files of the Kafka output are the only ones that include
 * rdkafka.h. Nothing outside the Kafka output includes this. */
#ifndef SHIM_KAFKA_INT_H
#define SHIM_KAFKA_INT_H

#include <librdkafka/rdkafka.h>

#include "outputs/kafka_opts.h"
#include "outputs/sink.h"

/* Every librdkafka function called, each named once here. */
#define RDKAFKA_FUNCS(X) X(conf_destroy) X(conf_dup) X(conf_new) X(conf_set) \
        X(conf_set_dr_msg_cb) X(conf_set_error_cb) X(conf_set_log_cb) X(conf_set_opaque) \
        X(conf_set_stats_cb) X(destroy) X(err2str) X(fatal_error) X(flush) X(headers_copy) \
        X(headers_destroy) X(message_headers) X(new) X(outq_len) X(poll) X(producev) \
        X(purge) X(queue_destroy) X(queue_get_main) X(queue_io_event_enable) X(topic_name)

#define RDKAFKA_MEMBER(f) __typeof__(rd_kafka_##f) *f;
struct kafka_rdk {
        RDKAFKA_FUNCS(RDKAFKA_MEMBER)
};

/* Filled by kafka_conf_build (the first thing the output does). */
extern struct kafka_rdk kafka_rdk;

/* The producer's settings: our defaults, the brokers, then every property
 * as given, in order (a later one wins), then those read from files; with
 * check_files, each file a property names must be readable too. Loads
 * librdkafka first. Returns 0 with *ret_conf the caller's (to destroy, or
 * to hand to rd_kafka_new), -EINVAL with err naming the setting and its
 * config line, or -ENOMEM. */
int kafka_conf_build(const struct sink *s, int check_files, rd_kafka_conf_t **ret_conf,
                     struct diag *err);

#endif
