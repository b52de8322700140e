/* SPDX-License-Identifier: MIT */
/* Output to Apache Kafka through librdkafka. Each event is one message:
 * topic from a template (smartermail.{type}), key host|type|session-or-
 * delivery-id so that one SMTP session or delivery stays on one partition and
 * in order, value the encoded event, headers log_type and host.
 *
 * Delivery reports drive the acknowledgements: only a report without error
 * acknowledges a record. Producer defaults: idempotence on, acks=all, lz4
 * compression, no message timeout (an outage of any length is waited out,
 * nothing expires), and a queue bound far below librdkafka's 1 GiB: when
 * it is full, produce returns QUEUE_FULL and reading pauses. An event that
 * is refused for good (by the broker or already by the producer: too large,
 * invalid; or too large to encode) is written with the reason to the
 * rejected-events file and counted, then acknowledged: it can never be
 * delivered, and holding it would stop every later record. The broker
 * judges a batch, not a record, against the topic's max.message.bytes: the
 * records of a batch refused for its size are sent again one per batch
 * through a second producer (made when first needed), and only a refusal
 * there is final; those records then arrive after the ones that followed
 * them. A fatal producer error (idempotence broken) stops the daemon without
 * checkpointing what was not acknowledged; the next start sends it again. */
#include "outputs/kafka_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libfastjson/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"

#define KAFKA_MSG_MAX (8u << 20)

struct kafka_sink {
        rd_kafka_t *rk;
        rd_kafka_t *rk_single;          /* one record per batch: see resend_alone */
        rd_kafka_conf_t *single_conf;   /* its settings until it is made */
        /* librdkafka writes a byte to wake[1] when a report (delivery,
         * error, statistics) arrives on a producer's empty main queue:
         * wake[0] is what the loop watches (kafka_poll_fd) */
        int wake[2];
        rd_kafka_queue_t *mainq[2];     /* of rk and rk_single, while they exist */
        struct sink *s;
        struct buf val;
        char rejected_path[4096];
        int topic_has_type;
        uint64_t delivered, rejected, resent, fatal;
        /* from the statistics callback */
        long long queue_msgs, retries, rtt_avg_us;
        int down_warned;
};

static void kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
        (void)rk;
        log_msg(level <= 3 ? LOG_LVL_ERR : level == 4 ? LOG_LVL_WARNING
                : level == 5 ? LOG_LVL_NOTICE : level == 6 ? LOG_LVL_INFO : LOG_LVL_DEBUG,
                "kafka: %s: %s", fac, buf);
}

static void kafka_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
        struct kafka_sink *k = opaque;
        char fatal[512];

        if (err == RD_KAFKA_RESP_ERR__FATAL) {
                kafka_rdk.fatal_error(rk, fatal, sizeof(fatal));
                log_msg(LOG_LVL_ERR, "kafka: fatal producer error: %s", fatal);
                k->fatal = 1;
                return;
        }
        if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__TRANSPORT) {
                if (!k->down_warned)
                        log_msg(LOG_LVL_WARNING, "kafka: %s (%s); messages wait in the queue",
                                kafka_rdk.err2str((rd_kafka_resp_err_t)err), reason);
                k->down_warned = 1;
                return;
        }
        log_msg(LOG_LVL_WARNING, "kafka: %s: %s", kafka_rdk.err2str((rd_kafka_resp_err_t)err), reason);
}

static int kafka_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
        struct kafka_sink *k = opaque;
        fjson_object *root = fjson_tokener_parse(json), *v, *brokers;
        long long rtt = 0, n = 0;

        (void)rk;
        (void)len;
        if (!root)
                return 0;
        if (fjson_object_object_get_ex(root, "msg_cnt", &v))
                k->queue_msgs = fjson_object_get_int64(v);
        if (fjson_object_object_get_ex(root, "txretries", &v))
                k->retries = fjson_object_get_int64(v);
        if (fjson_object_object_get_ex(root, "brokers", &brokers) &&
            fjson_object_is_type(brokers, fjson_type_object)) {
                struct fjson_object_iterator it = fjson_object_iter_begin(brokers);
                struct fjson_object_iterator end = fjson_object_iter_end(brokers);
                for (; !fjson_object_iter_equal(&it, &end); fjson_object_iter_next(&it)) {
                        fjson_object *b = fjson_object_iter_peek_value(&it), *r, *avg;
                        if (fjson_object_object_get_ex(b, "rtt", &r) &&
                            fjson_object_object_get_ex(r, "avg", &avg) && fjson_object_get_int64(avg) > 0) {
                                rtt += fjson_object_get_int64(avg);
                                n++;
                        }
                }
        }
        k->rtt_avg_us = n ? rtt / n : 0;
        fjson_object_put(root);
        log_msg(LOG_LVL_INFO, "kafka: stats: queued=%lld retries=%lld rtt_avg_us=%lld delivered=%llu "
                "rejected=%llu resent_alone=%llu", k->queue_msgs, k->retries, k->rtt_avg_us,
                (unsigned long long)k->delivered, (unsigned long long)k->rejected,
                (unsigned long long)k->resent);
        return 0;       /* librdkafka frees json */
}

/* Errors that no retry can cure (a switch would have to list all of
 * librdkafka's codes to please -Wswitch-enum). */
static int permanent(rd_kafka_resp_err_t e)
{
        static const rd_kafka_resp_err_t codes[] = {
                RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_INVALID_MSG,
                RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE, RD_KAFKA_RESP_ERR_INVALID_RECORD,
                RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION, RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE,
                RD_KAFKA_RESP_ERR__BAD_MSG, RD_KAFKA_RESP_ERR__INVALID_ARG,
        };

        for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
                if (e == codes[i])
                        return 1;
        return 0;
}

/* Write the event (payload, JSON) to the rejected-events file with the
 * reason, count it and acknowledge it (with an error: it is given up on,
 * not delivered). */
static void reject(struct kafka_sink *k, uint64_t seq, const char *reason, const char *topic,
                  const void *payload, size_t len)
{
        struct buf b;
        int fd;

        k->rejected++;
        log_msg(LOG_LVL_ERR, "kafka: an event was refused for good (%s); written to %s",
                reason, k->rejected_path);
        buf_init(&b, KAFKA_MSG_MAX * 2);
        buf_lit(&b, "{\"reason\":\"");
        json_escape(&b, reason, strlen(reason));
        buf_lit(&b, "\",\"topic\":\"");
        json_escape(&b, topic, strlen(topic));
        buf_lit(&b, "\",\"event\":");
        buf_put(&b, payload, len);
        buf_lit(&b, "}\n");
        fd = open(k->rejected_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (fd < 0 || write(fd, b.p, b.len) != (ssize_t)b.len)
                log_msg(LOG_LVL_ERR, "kafka: cannot write %s: %s", k->rejected_path, strerror(errno));
        if (fd >= 0)
                close(fd);
        buf_done(&b);
        inflight_done(k->s->ack, seq, -EBADMSG);
}

/* Errors that a refused batch gets for its size, whichever record made it
 * too large. */
static int size_error(rd_kafka_resp_err_t e)
{
        return e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
               e == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE;
}

/* Have librdkafka write to k->wake[1] when producer i's main queue gets a
 * report (it writes on the change from empty only: kafka_flush serves the
 * whole queue). */
static void wake_on_reports(struct kafka_sink *k, int i, rd_kafka_t *rk)
{
        if (k->wake[1] < 0)
                return;
        k->mainq[i] = kafka_rdk.queue_get_main(rk);
        if (k->mainq[i])
                kafka_rdk.queue_io_event_enable(k->mainq[i], k->wake[1], "1", 1);
}

/* Send m again, alone in its batch, through the second producer. Returns 0
 * or why it could not be queued. */
static rd_kafka_resp_err_t resend_alone(struct kafka_sink *k, const rd_kafka_message_t *m)
{
        rd_kafka_headers_t *hdrs = NULL, *copy = NULL;
        rd_kafka_resp_err_t e;
        char errstr[512];

        if (!k->rk_single) {
                /* rd_kafka_new owns the conf only when it succeeds */
                k->rk_single = kafka_rdk.new(RD_KAFKA_PRODUCER, k->single_conf, errstr,
                                            sizeof(errstr));
                if (!k->rk_single) {
                        log_msg(LOG_LVL_ERR, "kafka: second producer: %s", errstr);
                        return RD_KAFKA_RESP_ERR__FAIL;
                }
                k->single_conf = NULL;
                wake_on_reports(k, 1, k->rk_single);
        }
        if (kafka_rdk.message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            !(copy = kafka_rdk.headers_copy(hdrs)))
                return RD_KAFKA_RESP_ERR__FAIL;
        e = kafka_rdk.producev(k->rk_single, RD_KAFKA_V_TOPIC(kafka_rdk.topic_name(m->rkt)),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_KEY(m->key, m->key_len),
                              RD_KAFKA_V_VALUE(m->payload, m->len),
                              RD_KAFKA_V_HEADERS(copy),
                              RD_KAFKA_V_OPAQUE(m->_private), RD_KAFKA_V_END);
        if (e && copy)
                kafka_rdk.headers_destroy(copy);        /* producev owns it only on success */
        if (!e)
                k->resent++;
        return e;
}

static void kafka_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
        struct kafka_sink *k = opaque;
        uint64_t seq = (uint64_t)(uintptr_t)m->_private;
        rd_kafka_resp_err_t e = m->err;

        if (!e) {
                k->delivered++;
                k->down_warned = 0;
                inflight_done(k->s->ack, seq, 0);
                return;
        }
        if (k->fatal)
                return;         /* stopping (a purge, a fatal error): unacknowledged, so sent
                                   again at the next start; one message said why */
        if (size_error(e) && rk != k->rk_single) {
                /* perhaps only a neighbour in its batch was too large */
                e = resend_alone(k, m);
                if (!e)
                        return;
        }
        if (permanent(e)) {
                reject(k, seq, kafka_rdk.err2str(e), kafka_rdk.topic_name(m->rkt), m->payload,
                       m->len);
                return;
        }
        /* with no message timeout only a fatal error or a failed re-send
         * gets here: leave it unacknowledged, so the checkpoint stays before
         * it, and stop */
        log_msg(LOG_LVL_ERR, "kafka: delivery failed: %s", kafka_rdk.err2str(e));
        k->fatal = 1;
}

/* Every property librdkafka would be given, set and thrown away, and the
 * files they name opened: no producer is made, nothing connects. What only
 * rd_kafka_new checks (the contents of those files, settings that
 * contradict each other) is found by open. */
static int kafka_check(struct sink *s, struct diag *err)
{
        rd_kafka_conf_t *conf;
        int r = kafka_conf_build(s, 1, &conf, err);

        if (r == 0)
                kafka_rdk.conf_destroy(conf);
        return r;
}

static int kafka_open(struct sink *s, struct diag *err)
{
        struct kafka_sink *k = calloc(1, sizeof(*k));
        const struct kafka_cfg *cfg = s->cfg;
        rd_kafka_conf_t *conf;
        char errstr[512];
        int r;

        if (!k)
                return -ENOMEM;
        s->priv = k;
        k->s = s;
        k->wake[0] = k->wake[1] = -1;
        buf_init(&k->val, KAFKA_MSG_MAX);
        snprintf(s->target, sizeof(s->target), "kafka %s", cfg->brokers);
        if (cfg->rejected[0])
                snprintf(k->rejected_path, sizeof(k->rejected_path), "%s", cfg->rejected);
        else
                snprintf(k->rejected_path, sizeof(k->rejected_path), "%s/kafka-rejected.json", s->state_dir);
        k->topic_has_type = strstr(cfg->topic, "{type}") != NULL;
        if ((r = kafka_conf_build(s, 0, &conf, err)) < 0)
                return r;
        kafka_rdk.conf_set_opaque(conf, k);
        kafka_rdk.conf_set_dr_msg_cb(conf, kafka_dr);
        kafka_rdk.conf_set_error_cb(conf, kafka_error);
        kafka_rdk.conf_set_log_cb(conf, kafka_log);
        k->single_conf = kafka_rdk.conf_dup(conf);
        if (kafka_rdk.conf_set(k->single_conf, "batch.num.messages", "1", errstr, sizeof(errstr)) ||
            kafka_rdk.conf_set(k->single_conf, "statistics.interval.ms", "0", errstr,
                              sizeof(errstr)))
                log_msg(LOG_LVL_WARNING, "kafka: second producer: %s", errstr);
        kafka_rdk.conf_set_stats_cb(conf, kafka_stats);
        k->rk = kafka_rdk.new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!k->rk) {
                kafka_rdk.conf_destroy(conf);
                return diag_set(err, EINVAL, NULL, 0, "kafka", "%s", errstr);
        }
        /* without it the loop polls: reports still come, only later */
        if (pipe2(k->wake, O_NONBLOCK | O_CLOEXEC) < 0)
                k->wake[0] = k->wake[1] = -1;
        wake_on_reports(k, 0, k->rk);
        return 0;
}

static const char *str_or(const struct event *ev, int key, size_t *len)
{
        const char *v = key >= 0 ? event_get_str(ev, (unsigned)key, len) : NULL;

        if (!v) {
                *len = 0;
                return "";
        }
        return v;
}

static int kafka_submit(struct sink *s, const struct event *ev)
{
        struct kafka_sink *k = s->priv;
        const struct kafka_cfg *cfg = s->cfg;
        char topic[512], key[512];
        size_t tl, hl, il, pl;
        const char *type = str_or(ev, K_SM_LOG_TYPE, &tl);
        const char *host = str_or(ev, K_HOST_NAME, &hl);
        const char *id;
        int sid = keys_find(ev->keys, "smartermail.session_id");
        int did = keys_find(ev->keys, "smartermail.delivery.id");
        rd_kafka_resp_err_t e;
        int kl;

        if (k->fatal)
                return -ENOTRECOVERABLE;
        if (!k->rk)
                return -ENOTCONN;       /* a reopen failed (SIGHUP): said then */
        id = str_or(ev, sid, &il);
        if (!il)
                id = str_or(ev, did, &il);
        if (k->topic_has_type) {
                const char *t = cfg->topic, *at = strstr(t, "{type}");
                snprintf(topic, sizeof(topic), "%.*s%.*s%s", (int)(at - t), t, (int)tl, type, at + 6);
        } else {
                snprintf(topic, sizeof(topic), "%s", cfg->topic);
        }
        kl = snprintf(key, sizeof(key), "%.*s|%.*s|%.*s", (int)hl, host, (int)tl, type, (int)il, id);
        k->val.len = 0;
        if (encode_json(ev, s->enc, &k->val) < 0) {
                /* over KAFKA_MSG_MAX encoded: no retry makes it fit, so the
                 * rejected file says where the record is instead */
                const char *path = str_or(ev, K_LOG_FILE_PATH, &pl);

                buf_lit(&k->val, "{\"log\":{\"file\":{\"path\":\"");
                json_escape(&k->val, path, pl);
                buf_lit(&k->val, "\"},\"offset\":");
                buf_int(&k->val, (long long)ev->offset);
                buf_lit(&k->val, "}}");
                reject(k, ev->seq, "Event too large to encode", topic, k->val.p, k->val.len);
                return 0;
        }
        if (k->val.len && k->val.p[k->val.len - 1] == '\n')
                k->val.len--;
        e = kafka_rdk.producev(k->rk, RD_KAFKA_V_TOPIC(topic),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_KEY(key, (size_t)kl),
                              RD_KAFKA_V_VALUE(k->val.p, k->val.len),
                              RD_KAFKA_V_HEADER("log_type", type, (ssize_t)tl),
                              RD_KAFKA_V_HEADER("host", host, (ssize_t)hl),
                              RD_KAFKA_V_OPAQUE((void *)(uintptr_t)ev->seq), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                kafka_rdk.poll(k->rk, 0);
                return -EAGAIN;
        }
        if (permanent(e)) {
                /* larger than message.max.bytes: no retry makes it fit */
                reject(k, ev->seq, kafka_rdk.err2str(e), topic, k->val.p, k->val.len);
                return 0;
        }
        if (e) {
                log_msg(LOG_LVL_WARNING, "kafka: produce: %s", kafka_rdk.err2str(e));
                return -EIO;
        }
        return 0;
}

static int kafka_flush(struct sink *s, int64_t deadline_ms)
{
        struct kafka_sink *k = s->priv;
        int queued = 0;

        /* emptied first: a report that arrives from here on writes again */
        if (k->wake[0] >= 0) {
                char drain[64];

                while (read(k->wake[0], drain, sizeof(drain)) > 0)
                        ;
        }
        /* the main producer first: its reports may hand records to the
         * second one, which they may also create */
        for (int i = 0; i < 2; i++) {
                rd_kafka_t *rk = i ? k->rk_single : k->rk;
                int64_t left = deadline_ms - clock_now_ms();

                if (!rk)
                        continue;
                if (deadline_ms)
                        kafka_rdk.flush(rk, left > 0 ? (int)left : 0);
                else
                        kafka_rdk.poll(rk, 0);
                queued += kafka_rdk.outq_len(rk);
        }
        if (k->fatal)
                return -ENOTRECOVERABLE;
        return queued > 0 ? -EAGAIN : 0;
}

/* The pipe librdkafka writes to when a report arrives: readable means
 * kafka_flush has reports to serve. */
static int kafka_poll_fd(struct sink *s, uint32_t *ret_events)
{
        struct kafka_sink *k = s->priv;

        if (!k || !k->rk || k->wake[0] < 0)
                return -1;
        *ret_events = EPOLLIN;
        return k->wake[0];
}

static void kafka_close(struct sink *s)
{
        struct kafka_sink *k = s->priv;
        rd_kafka_t *rks[2];

        if (!k)
                return;
        rks[0] = k->rk;
        rks[1] = k->rk_single;
        /* whatever is still queued stays unacknowledged and is sent again
         * at the next start: the reports of the purge come back as errors,
         * which kafka_dr passes over quietly from now on */
        k->fatal = 1;
        for (size_t i = 0; i < sizeof(rks) / sizeof(rks[0]); i++) {
                if (!rks[i])
                        continue;
                kafka_rdk.purge(rks[i], RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
                kafka_rdk.poll(rks[i], 0);
                /* a queue handle is let go before its producer */
                if (k->mainq[i]) {
                        kafka_rdk.queue_io_event_enable(k->mainq[i], -1, NULL, 0);
                        kafka_rdk.queue_destroy(k->mainq[i]);
                }
                kafka_rdk.destroy(rks[i]);
        }
        /* after the producers: their threads may write until destroyed */
        for (size_t i = 0; i < 2; i++)
                if (k->wake[i] >= 0)
                        close(k->wake[i]);
        if (k->single_conf)
                kafka_rdk.conf_destroy(k->single_conf);
        buf_done(&k->val);
        free(k);
        s->priv = NULL;
}

const struct sink_ops sink_kafka_ops = {
        .name = "kafka",
        .check = kafka_check,
        .open = kafka_open,
        .submit = kafka_submit,
        .flush = kafka_flush,
        .sync = NULL,
        .close = kafka_close,
        .poll_fd = kafka_poll_fd,
};
