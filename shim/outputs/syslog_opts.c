/* SPDX-License-Identifier: MIT */
/* The syslog output's option rows, declared next to the output that reads
 * them: the option engine (base/options.c) parses them into struct
 * syslog_cfg, and renders them in --help, docs/options.md, the man pages
 * and the config template. Nothing here acts on a setting. */
#include "outputs/syslog_opts.h"

#include "base/optspec.h"

const struct opt_spec syslog_options[] = {
        { .name = "syslog-target", .type = OPT_STR, .def = "udp://127.0.0.1:514",
          .off = OPT_IN(struct syslog_cfg, target), .arg = "URL", .modes = MODE_RUN,
          .desc = "Receiver of the syslog output: udp://HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT, relp://HOST:PORT or unix:///dev/log." },
        { .name = "syslog-format", .type = OPT_ENUM, .def = "rfc5424", .off = OPT_IN(struct syslog_cfg, format),
          .arg = "FMT", .modes = MODE_RUN, .choices = "rfc5424|rfc3164",
          .desc = "Syslog header: RFC 5424, or the old BSD format of RFC 3164 for receivers that need it." },
        { .name = "syslog-framing", .type = OPT_ENUM, .def = "octet-counting",
          .off = OPT_IN(struct syslog_cfg, framing), .arg = "HOW", .modes = MODE_RUN,
          .choices = "octet-counting|newline",
          .desc = "Message framing on tcp and tls (RFC 6587): a length prefix, or a newline after each message." },
        { .name = "syslog-message", .type = OPT_ENUM, .def = "json", .off = OPT_IN(struct syslog_cfg, message),
          .arg = "HOW", .modes = MODE_RUN, .choices = "json|cee",
          .desc = "MSG part: the JSON event, or the JSON event after an @cee: cookie." },
        { .name = "syslog-structured-data", .type = OPT_BOOL, .def = "true",
          .off = OPT_IN(struct syslog_cfg, structured_data), .modes = MODE_RUN,
          .desc = "Add an RFC 5424 structured-data element with the main fields (log type, session, delivery id, client, action, outcome, user)." },
        { .name = "syslog-enterprise-number", .type = OPT_UINT, .def = "32473",
          .off = OPT_IN(struct syslog_cfg, enterprise_number), .arg = "PEN", .modes = MODE_RUN, .min = 1,
          .max = 4294967295UL,
          .desc = "Private enterprise number in the structured-data id smartermail@PEN (32473 is the one reserved for examples)." },
        { .name = "syslog-app-name", .type = OPT_STR, .def = "smartermail",
          .off = OPT_IN(struct syslog_cfg, app_name), .arg = "NAME", .modes = MODE_RUN,
          .desc = "APP-NAME (RFC 5424) or TAG (RFC 3164) of every message." },
        { .name = "syslog-tls-ca", .type = OPT_STR, .def = "", .off = OPT_IN(struct syslog_cfg, tls_ca),
          .arg = "FILE", .modes = MODE_RUN,
          .desc = "CA certificates (PEM) that sign the receiver's certificate; empty uses the system's." },
        { .name = "syslog-tls-cert", .type = OPT_STR, .def = "", .off = OPT_IN(struct syslog_cfg, tls_cert),
          .arg = "FILE", .modes = MODE_RUN,
          .desc = "Client certificate (PEM) for receivers that require one." },
        { .name = "syslog-tls-key", .type = OPT_STR, .def = "", .off = OPT_IN(struct syslog_cfg, tls_key),
          .arg = "FILE", .modes = MODE_RUN,
          .desc = "Private key (PEM) of the client certificate; read from the file, never logged." },
        { .name = "syslog-tls-verify", .type = OPT_BOOL, .def = "true", .off = OPT_IN(struct syslog_cfg, tls_verify),
          .modes = MODE_RUN,
          .desc = "Check the receiver's certificate and name (--no-syslog-tls-verify only for tests)." },
        { .name = "syslog-tls-server-name", .type = OPT_STR, .def = "",
          .off = OPT_IN(struct syslog_cfg, tls_server_name), .arg = "NAME", .modes = MODE_RUN,
          .desc = "Name the receiver's certificate must carry; empty uses the host of --syslog-target." },
        { .name = "syslog-relp-window", .type = OPT_UINT, .def = "128",
          .off = OPT_IN(struct syslog_cfg, relp_window), .arg = "N", .modes = MODE_RUN, .min = 1, .max = 65535,
          .desc = "RELP messages sent ahead of their acknowledgement." },
        { .name = "syslog-connect-timeout-ms", .type = OPT_UINT, .def = "2000",
          .off = OPT_IN(struct syslog_cfg, connect_timeout_ms), .arg = "MS", .modes = MODE_RUN, .min = 10,
          .max = 600000,
          .desc = "Give up one connection attempt to the syslog receiver after this long (then back off and retry)." },
        { 0 }
};
