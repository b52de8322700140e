/* SPDX-License-Identifier: MIT */
/* Output names to output tables. */
#include "sink.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int sink_from_spec(struct sink *s, const char *spec, const struct shim_opts *o,
                   struct diag *err)
{
        memset(s, 0, sizeof(*s));
        s->opts = o;
        while (*spec == ' ')
                spec++;
        if (strcmp(spec, "stdout") == 0) {
                s->ops = &sink_file_ops;
                snprintf(s->target, sizeof(s->target), "stdout");
        } else if (strncmp(spec, "file:", 5) == 0 && spec[5]) {
                s->ops = &sink_file_ops;
                snprintf(s->target, sizeof(s->target), "%s", spec + 5);
        } else if (strcmp(spec, "journald") == 0) {
                s->ops = &sink_journal_ops;
                snprintf(s->target, sizeof(s->target), "journald");
        } else if (strcmp(spec, "kafka") == 0) {
                s->ops = &sink_kafka_ops;
                snprintf(s->target, sizeof(s->target), "kafka");
        } else if (strcmp(spec, "syslog") == 0) {
                s->ops = &sink_syslog_ops;
                snprintf(s->target, sizeof(s->target), "syslog");
        } else {
                return diag_set(err, EINVAL, NULL, 0, "output",
                                "'%s' is not an output (stdout, file:PATH, journald, syslog, kafka)", spec);
        }
        return 0;
}
