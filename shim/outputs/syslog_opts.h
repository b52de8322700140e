/* SPDX-License-Identifier: MIT */
/* The settings of the syslog output: its config struct and the option rows
 * that fill it (syslog_opts.c), which the option engine walks after the
 * core's. Only the syslog output and its check read them. */
#ifndef SHIM_SYSLOG_OPTS_H
#define SHIM_SYSLOG_OPTS_H

#include "base/optspec.h"

enum syslog_format_choice { SYSLOG_RFC5424, SYSLOG_RFC3164 };
enum syslog_framing_choice { FRAMING_OCTET, FRAMING_NEWLINE };
enum syslog_message_choice { SYSLOG_MSG_JSON, SYSLOG_MSG_CEE };

struct syslog_cfg {
        char *target;
        int format;                     /* enum syslog_format_choice */
        int framing;                    /* enum syslog_framing_choice */
        int message;                    /* enum syslog_message_choice */
        int structured_data;
        unsigned long enterprise_number;
        char *app_name;
        char *tls_ca;
        char *tls_cert;
        char *tls_key;
        int tls_verify;
        char *tls_server_name;
        unsigned long relp_window;
        unsigned long connect_timeout_ms;
};

/* Its rows, into struct syslog_cfg, ending with an empty row. */
extern const struct opt_spec syslog_options[];

#endif
