/* SPDX-License-Identifier: MIT */
/* The Kafka output's producer settings: struct kafka_cfg (brokers,
 * kafka-property, kafka-property-file) over our defaults into one
 * rd_kafka_conf_t, each refusal named with the config line that made it,
 * secrets kept out of messages; and loading librdkafka, which this needs
 * first. It makes no producer and connects nowhere. */
#include "outputs/kafka_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/dlib.h"

struct kafka_rdk kafka_rdk;

static int kafka_load(struct diag *err)
{
#define RDKAFKA_SYM(f) { "rd_kafka_" #f, (void **)&kafka_rdk.f },
        static void *handle;
        const struct dlib_sym syms[] = { RDKAFKA_FUNCS(RDKAFKA_SYM) };

        return dlib_load(&handle, RDKAFKA_SONAME, syms, sizeof(syms) / sizeof(syms[0]), err);
}

static const struct { const char *name, *value; } kafka_defaults[] = {
        { "enable.idempotence", "true" },
        { "acks", "all" },
        { "compression.codec", "lz4" },
        { "message.timeout.ms", "0" },          /* never expire: outages are waited out */
        { "queue.buffering.max.messages", "100000" },
        { "queue.buffering.max.kbytes", "65536" },
        { "linger.ms", "5" },
        { "batch.num.messages", "10000" },
        { "statistics.interval.ms", "60000" },
        { "socket.keepalive.enable", "true" },
};

/* librdkafka's message about a refused property, unless the property may
 * hold a secret and the message quotes its value (for some properties it
 * does). */
static void refused(struct diag *err, const char *name, const char *value, const char *errstr)
{
        if (kafka_secret_property(name, strlen(name)) && strstr(errstr, value))
                diag_set(err, EINVAL, NULL, 0, NULL, "librdkafka refuses the value of %s (its "
                         "message is left out: it quotes the value)", name);
        else
                diag_set(err, EINVAL, NULL, 0, NULL, "%s", errstr);
}

/* Whether property name holds a file name that rd_kafka_new reads. */
static int file_property(const char *name, const char *value)
{
        size_t n = strlen(name);

        if (strcmp(name, "ssl.ca.location") == 0 && strcmp(value, "probe") == 0)
                return 0;       /* the system's CA store, wherever it is */
        return (n > 9 && strcmp(name + n - 9, ".location") == 0) ||
               strcmp(name, "sasl.kerberos.keytab") == 0;
}

#define KAFKA_SECRET_MAX 65536

/* The value of a property from a file (--kafka-property-file): read whole,
 * one trailing newline (LF or CRLF) dropped, handed to librdkafka, then
 * wiped. Never printed: errors name the file, not its contents. */
static int set_from_file(rd_kafka_conf_t *conf, const struct sink *s, unsigned item,
                         const char *name, const char *path, struct diag *err)
{
        char *v = malloc(KAFKA_SECRET_MAX + 1), errstr[512];
        size_t n = 0;
        ssize_t got;
        int fd, r = 0;

        if (!v)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                diag_set(err, -r, NULL, 0, NULL, "%s: %s", path, strerror(-r));
                goto out;
        }
        while (n <= KAFKA_SECRET_MAX &&
               (got = read(fd, v + n, KAFKA_SECRET_MAX + 1 - n)) != 0) {
                if (got < 0 && errno == EINTR)
                        continue;
                if (got < 0) {
                        r = -errno;
                        diag_set(err, -r, NULL, 0, NULL, "%s: %s", path, strerror(-r));
                        break;
                }
                n += (size_t)got;
        }
        close(fd);
        if (r == 0 && n > KAFKA_SECRET_MAX)
                r = diag_set(err, EINVAL, NULL, 0, NULL, "%s: longer than %d bytes", path,
                             KAFKA_SECRET_MAX);
        if (r < 0)
                goto out;
        if (n && v[n - 1] == '\n')
                n--;
        if (n && v[n - 1] == '\r')
                n--;
        v[n] = '\0';
        if (kafka_rdk.conf_set(conf, name, v, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                if (strstr(errstr, v) && n)
                        diag_set(err, EINVAL, NULL, 0, NULL, "librdkafka refuses the value of %s "
                                 "from %s (its message is left out: it quotes the value)", name,
                                 path);
                else
                        diag_set(err, EINVAL, NULL, 0, NULL, "%s (from %s)", errstr, path);
                r = -EINVAL;
        }
out:
        explicit_bzero(v, KAFKA_SECRET_MAX + 1);
        free(v);
        if (r < 0 && r != -ENOMEM)
                sink_where(s, "kafka-property-file", item, err);
        return r;
}

struct conf_build {
        rd_kafka_conf_t *conf;
        const struct sink *s;
        int check_files;
        struct diag *err;
};

/* One kafka-property item. */
static int set_property(struct conf_build *c, char *name, char *value, unsigned item)
{
        char errstr[512];

        if (kafka_rdk.conf_set(c->conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                refused(c->err, name, value, errstr);
                sink_where(c->s, "kafka-property", item, c->err);
                return -EINVAL;
        }
        if (c->check_files && file_property(name, value))
                return sink_check_file(c->s, "kafka-property", item, value, c->err);
        return 0;
}

/* One kafka-property-file item. */
static int set_property_file(struct conf_build *c, char *name, char *path, unsigned item)
{
        int r = c->check_files ? sink_check_file(c->s, "kafka-property-file", item, path, c->err) : 0;

        return r == 0 ? set_from_file(c->conf, c->s, item, name, path, c->err) : r;
}

/* fn for each NAME=VALUE item of an OPT_LIST, in order; stops at the first
 * error and returns it. */
static int each_pair(struct conf_build *c, const char *list,
                     int (*fn)(struct conf_build *c, char *name, char *value, unsigned item))
{
        unsigned item = 0;

        for (const char *p = list; p && *p; item++) {
                size_t len = strcspn(p, "\n");
                char *kv = strndup(p, len), *eq;
                int r;

                if (!kv)
                        return -ENOMEM;
                eq = strchr(kv, '=');   /* opts_set let in only NAME=VALUE */
                *eq = '\0';
                r = fn(c, kv, eq + 1, item);
                free(kv);
                if (r < 0)
                        return r;
                p += len;
                if (*p == '\n')
                        p++;
        }
        return 0;
}

int kafka_conf_build(const struct sink *s, int check_files, rd_kafka_conf_t **ret_conf,
                     struct diag *err)
{
        rd_kafka_conf_t *conf;
        const struct kafka_cfg *cfg = s->cfg;
        struct conf_build c = { .s = s, .check_files = check_files, .err = err };
        char errstr[512];
        int r;

        if ((r = kafka_load(err)) < 0)
                return r;
        c.conf = conf = kafka_rdk.conf_new();

        for (size_t i = 0; i < sizeof(kafka_defaults) / sizeof(kafka_defaults[0]); i++)
                if (kafka_rdk.conf_set(conf, kafka_defaults[i].name, kafka_defaults[i].value, errstr,
                                      sizeof(errstr)) != RD_KAFKA_CONF_OK)
                        log_msg(LOG_LVL_WARNING, "kafka: default %s: %s", kafka_defaults[i].name, errstr);
        if (kafka_rdk.conf_set(conf, "bootstrap.servers", cfg->brokers, errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK) {
                kafka_rdk.conf_destroy(conf);
                diag_set(err, EINVAL, NULL, 0, NULL, "%s", errstr);
                sink_where(s, "kafka-brokers", 0, err);
                return -EINVAL;
        }
        r = each_pair(&c, cfg->property, set_property);
        if (r == 0)
                r = each_pair(&c, cfg->property_file, set_property_file);
        if (r < 0) {
                kafka_rdk.conf_destroy(conf);
                return r;
        }
        *ret_conf = conf;
        return 0;
}
