/* SPDX-License-Identifier: MIT */
/* Output names to output tables (--output parsed once, here), each handed
 * its own settings, and the check of every configured output before any
 * is opened. The one module that knows every output. */
#include "outputs/registry.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int sink_from_spec(struct sink *s, const char *spec, const struct shim_opts *o,
                   struct diag *err)
{
        memset(s, 0, sizeof(*s));
        s->origins = o;
        s->state_dir = o->state;
        s->max_record_bytes = o->max_record_bytes;
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
                s->cfg = &o->kafka;
                snprintf(s->target, sizeof(s->target), "kafka");
        } else if (strcmp(spec, "syslog") == 0) {
                s->ops = &sink_syslog_ops;
                s->cfg = &o->syslog;
                snprintf(s->target, sizeof(s->target), "syslog");
        } else {
                return diag_set(err, EINVAL, NULL, 0, "output",
                                "'%s' is not an output (stdout, file:PATH, journald, syslog, kafka)", spec);
        }
        return 0;
}

int sink_parse_outputs(const struct shim_opts *o, struct sink *ret, unsigned max,
                       unsigned *ret_n, struct diag *err)
{
        char list[4096], *save = NULL, *tok;
        unsigned n = 0, items = 0;
        int r = 0;

        snprintf(list, sizeof(list), "%s", o->output);
        for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (items++ == max) {
                        diag_set(err, EINVAL, NULL, 0, NULL, "at most %u outputs", max);
                        r = -E2BIG;
                        break;
                }
                /* the first bad item is the one said; the rest still count */
                if (sink_from_spec(&ret[n], tok, o, r < 0 ? NULL : err) < 0)
                        r = -EINVAL;
                else
                        n++;
        }
        if (!items)
                r = diag_set(err, EINVAL, NULL, 0, NULL, "no output given");
        *ret_n = n;
        if (r < 0)
                opts_where(o, "output", 0, err);
        return r;
}

int sink_check_outputs(const struct shim_opts *o)
{
        const struct sink_ops *done[SINKS_MAX];
        struct sink sinks[SINKS_MAX];
        struct diag err = { 0 };
        unsigned n, ndone = 0;
        int bad = 0, r;

        r = sink_parse_outputs(o, sinks, SINKS_MAX, &n, &err);
        if (r < 0) {
                diag_print(&err);
                if (r == -E2BIG)
                        return -EINVAL; /* too many: not worth checking */
                bad = 1;
        }
        for (unsigned k = 0; k < n; k++) {
                struct sink *s = &sinks[k];
                unsigned i;

                /* outputs of one kind share their settings: check them once */
                for (i = 0; i < ndone && done[i] != s->ops; i++)
                        ;
                if (i < ndone || !s->ops->check)
                        continue;
                done[ndone++] = s->ops;
                memset(&err, 0, sizeof(err));
                r = s->ops->check(s, &err);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        diag_print(&err);       /* the check named the line */
                        bad = 1;
                }
        }
        return bad ? -EINVAL : 0;
}

