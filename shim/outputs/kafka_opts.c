/* SPDX-License-Identifier: MIT */
/* The Kafka output's option rows, declared next to the output that reads
 * them, and its rule for secrets: which librdkafka properties may carry one
 * (hidden by check-config, and by the output's own messages). The option
 * engine (base/options.c) parses the rows into struct kafka_cfg; a config
 * line kafka.NAME = VALUE adds NAME=VALUE to kafka-property (its .prefix). */
#include "outputs/kafka_opts.h"

#include <string.h>
#include <strings.h>

#include "base/optspec.h"

/* Whether word occurs in the len bytes at p, whatever the case. */
static int has_word(const char *p, size_t len, const char *word)
{
        size_t wl = strlen(word);

        for (size_t i = 0; i + wl <= len; i++)
                if (strncasecmp(p + i, word, wl) == 0)
                        return 1;
        return 0;
}

/* librdkafka names its secrets sasl.password, ssl.key.password,
 * ssl.keystore.password, ssl.key.pem, sasl.oauthbearer.client.secret and
 * sasl.oauthbearer.config. The test is wider on purpose: a misspelt or
 * upper-cased name is refused only later, by librdkafka, and a property
 * hidden without need (ssl.key.location, a path) costs nothing. So every
 * sasl.* property is hidden but the two that name the account and the
 * mechanism, and any name with one of these words in any case. */
int kafka_secret_property(const char *name, size_t len)
{
        static const char *const words[] = { "pass", "word", "pwd", "secret", "key", "token",
                                             "cred", "auth", "private", "pem", "jaas" };
        static const char *const shown[] = { "sasl.username", "sasl.mechanism",
                                             "sasl.mechanisms" };

        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
                if (has_word(name, len, words[i]))
                        return 1;
        if (len < 5 || strncasecmp(name, "sasl.", 5) != 0)
                return 0;
        for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
                if (len == strlen(shown[i]) && memcmp(name, shown[i], len) == 0)
                        return 0;
        return 1;
}

const struct opt_spec kafka_options[] = {
        { .name = "kafka-brokers", .type = OPT_STR, .def = "127.0.0.1:9092",
          .off = OPT_IN(struct kafka_cfg, brokers), .arg = "LIST", .modes = MODE_RUN,
          .desc = "Kafka bootstrap brokers, comma-separated HOST:PORT." },
        { .name = "kafka-topic", .type = OPT_STR, .def = "smartermail.{type}",
          .off = OPT_IN(struct kafka_cfg, topic), .arg = "TEMPLATE", .modes = MODE_RUN,
          .desc = "Topic of each event; {type} becomes the log type (smtp, delivery, ...)." },
        { .name = "kafka-property", .type = OPT_LIST, .def = "", .off = OPT_IN(struct kafka_cfg, property),
          .arg = "NAME=VALUE", .modes = MODE_RUN, .prefix = "kafka.", .secret = kafka_secret_property,
          .desc = "Any librdkafka producer property (TLS, SASL, tuning); may be given many times, and as kafka.NAME = VALUE lines in the config file." },
        { .name = "kafka-property-file", .type = OPT_LIST, .def = "",
          .off = OPT_IN(struct kafka_cfg, property_file), .arg = "NAME=FILE", .modes = MODE_RUN,
          .desc = "A librdkafka property whose value is read from FILE (one trailing newline dropped) when the output opens, for secrets such as sasl.password kept out of the config file; may be given many times." },
        { .name = "kafka-rejected", .type = OPT_STR, .def = "", .off = OPT_IN(struct kafka_cfg, rejected),
          .arg = "FILE", .modes = MODE_RUN,
          .desc = "Where events the broker refuses for good (too large, invalid) are appended, with the reason; empty means kafka-rejected.json in the state directory." },
        { 0 }
};
