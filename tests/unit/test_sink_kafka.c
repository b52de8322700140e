/* SPDX-License-Identifier: MIT */
/* sink_kafka.c against librdkafka's mock cluster: the sink is driven through
 * its ops (sink_from_spec, open, submit, flush, close) with a real in-flight
 * window, Produce requests fail as each row says (and every injected error
 * must have been served), and a consumer on the mock cluster then reads back
 * what it holds. Every event must be acknowledged once, and delivered once or
 * written to the rejected file, as the row wants; with the broker down
 * nothing may be acknowledged until it is back. The rows share one cluster
 * (destroying one takes a second), each with a topic of its own. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "core/inflight.h"
#include "core/event.h"
#include "daemon/loop.h"
#include "base/options.h"
#include "outputs/registry.h"
#include "outputs/sink.h"
#include "testutil.h"

#define API_PRODUCE 0           /* ProduceRequest's ApiKey */
#define EVENTS_MAX 64
#define DEADLINE_MS 20000

/* ---- what the sink acknowledged ----------------------------------------- */

struct acks {
        unsigned n, errors;
        int status[EVENTS_MAX + 1];     /* by end_offset, which is the event's number */
};

static void on_commit(void *owner, uint64_t end_offset, uint64_t cookie, int status, void *data)
{
        struct acks *a = data;

        (void)owner;
        (void)cookie;
        assert_true(end_offset <= EVENTS_MAX);
        a->status[end_offset] = status ? status : 1;
        a->n++;
        a->errors += status < 0;
}

/* ---- one sink on one mock cluster ---------------------------------------- */

/* A mock cluster of one broker; host is the handle it needs. */
struct mock {
        rd_kafka_t *host;
        rd_kafka_mock_cluster_t *mc;
};

static void mock_new(struct mock *m)
{
        char errstr[512];

        m->host = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), errstr, sizeof(errstr));
        assert_non_null(m->host);
        m->mc = rd_kafka_mock_cluster_new(m->host, 1);
        assert_non_null(m->mc);
}

static void mock_free(struct mock *m)
{
        rd_kafka_mock_cluster_destroy(m->mc);
        rd_kafka_destroy(m->host);
}

struct rig {
        char dir[512], rejected[600];
        char topic[64];
        rd_kafka_mock_cluster_t *mc;
        struct shim_opts o;
        struct keys *keys;
        struct event *ev;
        int sid;
        struct inflight *ack;
        struct acks acks;
        struct sink s;
};

static void set_opt(struct rig *r, const char *name, const char *value)
{
        struct diag err = { 0 };

        if (opts_set(&r->o, opts_find(name, MODE_RUN), value, &err) < 0) {
                print_error("%s=%s: %s\n", name, value, err.text);
                fail();
        }
}

/* The sink opened on mc with topic template PREFIX.{type}, where the
 * topic PREFIX.smtp (one partition) is made for it, and the extra
 * librdkafka properties given. */
static void rig_open(struct rig *r, rd_kafka_mock_cluster_t *mc, const char *prefix,
                     const char *const *props)
{
        char tmpl[64];
        struct diag err = { 0 };

        memset(r, 0, sizeof(*r));
        r->mc = mc;
        tu_tmpdir(r->dir, sizeof(r->dir));
        snprintf(r->rejected, sizeof(r->rejected), "%s/rejected.json", r->dir);
        snprintf(r->topic, sizeof(r->topic), "%s.smtp", prefix);
        snprintf(tmpl, sizeof(tmpl), "%s.{type}", prefix);
        assert_int_equal(rd_kafka_mock_topic_create(mc, r->topic, 1, 1), 0);

        assert_int_equal(opts_defaults(&r->o), 0);
        set_opt(r, "kafka-brokers", rd_kafka_mock_cluster_bootstraps(mc));
        set_opt(r, "kafka-topic", tmpl);
        set_opt(r, "kafka-rejected", r->rejected);
        set_opt(r, "state", r->dir);
        /* come back quickly after the broker was down */
        set_opt(r, "kafka-property", "reconnect.backoff.max.ms=200");
        set_opt(r, "kafka-property", "retry.backoff.ms=20");
        for (; props && *props; props++)
                set_opt(r, "kafka-property", *props);

        r->keys = keys_new();
        assert_non_null(r->keys);
        r->sid = keys_intern(r->keys, "smartermail.session_id", strlen("smartermail.session_id"));
        assert_true(r->sid >= 0);
        assert_int_equal(keys_finish(r->keys, &err), 0);
        r->ev = event_new(r->keys);
        assert_non_null(r->ev);
        r->ack = inflight_new(EVENTS_MAX, 1u << 24, 1, on_commit, &r->acks);
        assert_non_null(r->ack);

        assert_int_equal(sink_from_spec(&r->s, "kafka", &r->o, &err), 0);
        r->s.ack = r->ack;
        r->s.enc = ENC_ECS;
        if (r->s.ops->open(&r->s, &err) < 0) {
                print_error("open: %s: %s\n", err.key, err.text);
                fail();
        }
}

static void rig_close(struct rig *r)
{
        r->s.ops->close(&r->s);
        inflight_free(r->ack);
        event_free(r->ev);
        keys_free(r->keys);
        opts_free(&r->o);
        tu_rmdir(r->dir);
}

/* Submit event number i (1-based): message "event i" padded to size bytes,
 * in session "s1". */
static void submit(struct rig *r, unsigned i, size_t size)
{
        char *msg = malloc(size + 32);
        int n;

        assert_non_null(msg);
        n = snprintf(msg, size + 32, "event %u ", i);
        memset(msg + n, 'x', size > (size_t)n ? size - (size_t)n : 0);
        msg[size > (size_t)n ? size : (size_t)n] = '\0';
        event_reset(r->ev);
        assert_int_equal(event_set_str(r->ev, K_SM_LOG_TYPE, "smtp", 4), 0);
        assert_int_equal(event_set_str(r->ev, K_HOST_NAME, "mail01", 6), 0);
        assert_int_equal(event_set_str(r->ev, (unsigned)r->sid, "s1", 2), 0);
        assert_int_equal(event_set_str(r->ev, K_MESSAGE, msg, strlen(msg)), 0);
        r->ev->seq = inflight_push(r->ack, r, i, strlen(msg), 0);
        assert_true(r->ev->seq > 0);
        assert_int_equal(r->s.ops->submit(&r->s, r->ev), 0);
        free(msg);
}

/* Flush until nothing is left, within DEADLINE_MS. */
static void drain(struct rig *r)
{
        int64_t deadline = loop_now_ms() + DEADLINE_MS;
        int rc;

        while ((rc = r->s.ops->flush(&r->s, loop_now_ms() + 100)) == -EAGAIN &&
               loop_now_ms() < deadline)
                ;
        assert_int_equal(rc, 0);
}

/* How often each event number is in the rig's topic, read back by a
 * consumer. */
static void consume(struct rig *r, unsigned *copies, unsigned n)
{
        char errstr[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_topic_partition_list_t *parts;
        rd_kafka_t *c;
        int64_t deadline = loop_now_ms() + DEADLINE_MS;

        memset(copies, 0, sizeof(*copies) * (n + 1));
        assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers",
                                           rd_kafka_mock_cluster_bootstraps(r->mc), errstr,
                                           sizeof(errstr)), RD_KAFKA_CONF_OK);
        assert_int_equal(rd_kafka_conf_set(conf, "group.id", "test", errstr, sizeof(errstr)),
                         RD_KAFKA_CONF_OK);
        assert_int_equal(rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", errstr,
                                           sizeof(errstr)), RD_KAFKA_CONF_OK);
        assert_int_equal(rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr,
                                           sizeof(errstr)), RD_KAFKA_CONF_OK);
        c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        assert_non_null(c);
        parts = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(parts, r->topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
        assert_int_equal(rd_kafka_assign(c, parts), 0);
        rd_kafka_topic_partition_list_destroy(parts);
        for (;;) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
                unsigned i;
                const char *at;

                assert_true(loop_now_ms() < deadline);
                if (!m)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        rd_kafka_message_destroy(m);
                        break;
                }
                assert_int_equal(m->err, 0);
                tu_bytes_equal("key", "mail01|smtp|s1", 14, m->key, m->key_len);
                at = memmem(m->payload, m->len, "\"message\":\"event ", 17);
                assert_non_null(at);
                assert_int_equal(sscanf(at + 17, "%u", &i), 1);
                assert_true(i >= 1 && i <= n);
                copies[i]++;
                rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(c);
        rd_kafka_destroy(c);
}

/* Lines in the rejected file; each must hold want (when not NULL). */
static unsigned rejected_lines(const struct rig *r, const char *want)
{
        FILE *f = fopen(r->rejected, "r");
        unsigned n = 0;
        char *line = NULL;
        size_t cap = 0;

        if (!f)
                return 0;
        while (getline(&line, &cap, f) > 0) {
                if (want && !strstr(line, want)) {
                        print_error("rejected line without %s: %.200s\n", want, line);
                        fail();
                }
                n++;
        }
        free(line);
        fclose(f);
        return n;
}

/* ---- the rows ------------------------------------------------------------ */

struct row {
        const char *name;
        const char *props[4];                   /* extra librdkafka properties */
        unsigned events;
        size_t size;                            /* bytes of each message text */
        unsigned nerrors;
        rd_kafka_resp_err_t errors[4];          /* for the next Produce requests */
        unsigned rejected;                      /* events given up on */
        const char *reason;                     /* in each rejected line */
};

static const struct row rows[] = {
        { .name = "no error", .events = 20, .size = 40 },
        /* batches of 5: four Produce requests, the third fails and is retried */
        { .name = "retriable error on the 3rd request", .props = { "batch.num.messages=5" },
          .events = 20, .size = 40,
          .nerrors = 3, .errors = { 0, 0, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS } },
        { .name = "request timed out on the 1st request", .props = { "batch.num.messages=5" },
          .events = 20, .size = 40,
          .nerrors = 1, .errors = { RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT } },
        { .name = "leader moved on the 2nd request", .props = { "batch.num.messages=5" },
          .events = 20, .size = 40,
          .nerrors = 2, .errors = { 0, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION } },
        /* a batch refused for its size: each of its records is sent alone
         * and arrives */
        { .name = "batch too large, records fit", .events = 10, .size = 40,
          .nerrors = 1, .errors = { RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE } },
        /* refused alone too: given up on, written to the rejected file */
        { .name = "record too large", .events = 1, .size = 40,
          .nerrors = 2, .errors = { RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,
                                    RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE },
          .rejected = 1,
          .reason = "{\"reason\":\"Broker: Message size too large\",\"topic\":\"row5.smtp\","
                    "\"event\":{" },
        /* larger than message.max.bytes: librdkafka refuses it at once */
        { .name = "larger than message.max.bytes", .props = { "message.max.bytes=1000" },
          .events = 1, .size = 3000, .rejected = 1,
          .reason = "{\"reason\":\"Broker: Message size too large\",\"topic\":\"row6.smtp\"," },
        /* larger than the encoder's ceiling (8 MiB): the rejected line says
         * where the record is */
        { .name = "too large to encode", .events = 1, .size = 9u << 20, .rejected = 1,
          .reason = "{\"reason\":\"Event too large to encode\",\"topic\":\"row7.smtp\","
                    "\"event\":{\"log\":" },
};

static void test_rows(void **state)
{
        struct mock m;

        (void)state;
        mock_new(&m);
        for (size_t k = 0; k < ARRAY_SIZE(rows); k++) {
                const struct row *w = &rows[k];
                struct rig r;
                unsigned copies[EVENTS_MAX + 1];
                char prefix[32];
                size_t left = 1;

                print_message("row: %s\n", w->name);
                snprintf(prefix, sizeof(prefix), "row%zu", k);
                rig_open(&r, m.mc, prefix, w->props);
                /* the cnt first (error, rtt) pairs are taken */
                assert_int_equal(rd_kafka_mock_broker_push_request_error_rtts(
                                         m.mc, 1, API_PRODUCE, w->nerrors, w->errors[0], 0,
                                         w->errors[1], 0, w->errors[2], 0, w->errors[3], 0), 0);
                for (unsigned i = 1; i <= w->events; i++)
                        submit(&r, i, w->size);
                drain(&r);
                assert_int_equal(rd_kafka_mock_broker_error_stack_cnt(m.mc, 1, API_PRODUCE,
                                                                      &left), 0);
                assert_int_equal(left, 0);      /* every injected error was met */
                assert_int_equal(r.acks.n, w->events);
                assert_int_equal(r.acks.errors, w->rejected);
                assert_int_equal(rejected_lines(&r, w->reason), w->rejected);
                consume(&r, copies, w->events);
                for (unsigned i = 1; i <= w->events; i++) {
                        /* a rejected event is acknowledged with an error and
                         * never delivered; every other exactly once */
                        unsigned want = r.acks.status[i] < 0 ? 0 : 1;
                        if (copies[i] != want) {
                                print_error("%s: event %u delivered %u times, want %u\n",
                                            w->name, i, copies[i], want);
                                fail();
                        }
                }
                rig_close(&r);
        }
        mock_free(&m);
}

/* The broker down: nothing is acknowledged, flush keeps saying -EAGAIN;
 * back up: everything arrives once. */
static void test_broker_down(void **state)
{
        struct mock m;
        struct rig r;
        unsigned copies[EVENTS_MAX + 1];
        int64_t until;

        (void)state;
        mock_new(&m);
        rig_open(&r, m.mc, "down", NULL);
        assert_int_equal(rd_kafka_mock_broker_set_down(r.mc, 1), 0);
        for (unsigned i = 1; i <= 5; i++)
                submit(&r, i, 40);
        until = loop_now_ms() + 1500;
        while (loop_now_ms() < until)
                assert_int_equal(r.s.ops->flush(&r.s, loop_now_ms() + 100), -EAGAIN);
        assert_int_equal(r.acks.n, 0);
        assert_int_equal(inflight_count(r.ack), 5);
        assert_int_equal(rd_kafka_mock_broker_set_up(r.mc, 1), 0);
        drain(&r);
        assert_int_equal(r.acks.n, 5);
        assert_int_equal(r.acks.errors, 0);
        consume(&r, copies, 5);
        for (unsigned i = 1; i <= 5; i++)
                assert_int_equal(copies[i], 1);
        rig_close(&r);
        mock_free(&m);
}

/* Closed while the broker is down: what was queued stays unacknowledged
 * (it is sent again at the next start), and no error is counted. */
static void test_close_while_down(void **state)
{
        struct mock m;
        struct rig r;

        (void)state;
        mock_new(&m);
        rig_open(&r, m.mc, "closed", NULL);
        assert_int_equal(rd_kafka_mock_broker_set_down(r.mc, 1), 0);
        for (unsigned i = 1; i <= 5; i++)
                submit(&r, i, 40);
        assert_int_equal(r.s.ops->flush(&r.s, loop_now_ms() + 200), -EAGAIN);
        r.s.ops->close(&r.s);
        assert_null(r.s.priv);
        assert_int_equal(r.acks.n, 0);
        assert_int_equal(rejected_lines(&r, NULL), 0);
        rig_close(&r);          /* closes the sink again: harmless */
        mock_free(&m);
}

/* The output hands the loop a descriptor that becomes readable when
 * delivery reports arrive, without any poll of ours; flush serves them and
 * empties it. */
static void test_poll_fd(void **state)
{
        struct mock m;
        struct rig r;
        uint32_t events = 0;
        int fd;

        (void)state;
        mock_new(&m);
        rig_open(&r, m.mc, "wakes", NULL);
        fd = r.s.ops->poll_fd(&r.s, &events);
        assert_true(fd >= 0);
        assert_int_equal(events, EPOLLIN);
        for (unsigned i = 1; i <= 5; i++)
                submit(&r, i, 40);
        {
                struct pollfd p = { .fd = fd, .events = POLLIN };

                assert_int_equal(poll(&p, 1, DEADLINE_MS), 1);
        }
        drain(&r);
        assert_int_equal(r.acks.n, 5);
        /* all delivered, no report comes any more: once served, quiet */
        assert_int_equal(r.s.ops->flush(&r.s, 0), 0);
        {
                struct pollfd p = { .fd = fd, .events = POLLIN };

                assert_int_equal(poll(&p, 1, 0), 0);
        }
        rig_close(&r);
        mock_free(&m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rows),
                cmocka_unit_test(test_broker_down),
                cmocka_unit_test(test_close_while_down),
                cmocka_unit_test(test_poll_fd),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
