/* SPDX-License-Identifier: MIT */
/* Output names to output tables, and the check of every configured output
 * before any is opened. */
#include "outputs/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* A problem with the output list itself: its config line, then the text. */
static void report_output(const struct shim_opts *o, struct diag *err)
{
        opts_where(o, "output", 0, err);
        diag_print(err);
}

int sink_parse_outputs(const char *list, const struct shim_opts *o, struct sink *ret,
                       unsigned max, unsigned *ret_n, struct diag *err)
{
        char spec[4096], *save = NULL, *tok;
        unsigned n = 0;

        snprintf(spec, sizeof(spec), "%s", list);
        for (tok = strtok_r(spec, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (n == max) {
                        diag_set(err, EINVAL, NULL, 0, NULL, "--output: at most %u outputs", max);
                        return -EINVAL;
                }
                if (sink_from_spec(&ret[n], tok, o, err) < 0)
                        return -EINVAL;
                n++;
        }
        if (!n) {
                diag_set(err, EINVAL, NULL, 0, NULL, "--output: no output given");
                return -EINVAL;
        }
        *ret_n = n;
        return 0;
}

int sink_check_outputs(const struct shim_opts *o)
{
        const struct sink_ops *done[SINKS_MAX];
        char spec[4096], *save = NULL, *tok;
        unsigned n = 0, ndone = 0;
        int bad = 0;

        snprintf(spec, sizeof(spec), "%s", o->output);
        for (tok = strtok_r(spec, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                struct diag err = { 0 };
                struct sink s;
                unsigned i;
                int r;

                if (n++ == SINKS_MAX) {
                        diag_set(&err, EINVAL, NULL, 0, NULL, "at most %d outputs", SINKS_MAX);
                        report_output(o, &err);
                        return -EINVAL;
                }
                if (sink_from_spec(&s, tok, o, &err) < 0) {
                        report_output(o, &err);
                        bad = 1;
                        continue;
                }
                /* outputs of one kind share their settings: check them once */
                for (i = 0; i < ndone && done[i] != s.ops; i++)
                        ;
                if (i < ndone || !s.ops->check)
                        continue;
                done[ndone++] = s.ops;
                r = s.ops->check(&s, &err);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        diag_print(&err);       /* the check named the line */
                        bad = 1;
                }
        }
        if (!n) {
                struct diag err = { 0 };

                diag_set(&err, EINVAL, NULL, 0, NULL, "no output given");
                report_output(o, &err);
                bad = 1;
        }
        return bad ? -EINVAL : 0;
}

int sink_check_file(const struct shim_opts *o, const char *key, unsigned item,
                    const char *path, struct diag *err)
{
        int fd, r;

        if (!path[0])
                return 0;
        /* LoadCredential= puts it there for the service alone: check-config
         * from a shell before a restart cannot see it */
        if (strncmp(path, "/run/credentials/", 17) == 0 && !getenv("CREDENTIALS_DIRECTORY") &&
            access(path, F_OK) < 0) {
                struct diag where = { 0 };

                opts_where(o, key, item, &where);
                log_msg(LOG_LVL_NOTICE, "%s: %s is a credential of the service; not checked here",
                        where.key, path);
                return 1;
        }
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                diag_set(err, -r, NULL, 0, NULL, "%s: %s", path, strerror(-r));
                opts_where(o, key, item, err);
                return r;
        }
        close(fd);
        return 0;
}
