/* SPDX-License-Identifier: MIT */
/* Every event to every output, with back-off for the ones that are down,
 * and the outputs' descriptors on the loop. */
#include "daemon/fanout.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"

uint32_t fanout_all(const struct fanout *fo)
{
        return (1u << fo->n) - 1;
}

static void on_output_fd(int fd, uint32_t events, void *data)
{
        struct fanout *fo = data;

        (void)fd;
        (void)events;
        /* the loop's turn flushes every output next; nothing to do here
         * but to have woken it */
        (void)fo;
}

/* Register the descriptor each output asks to be watched on now. An
 * output may close a descriptor and get the same number for a new one,
 * which epoll forgot: so each turn modifies (one system call per output),
 * and a failed modify registers it again. */
static void watch_fds(struct fanout *fo)
{
        fo->busy_unwatched = 0;
        for (unsigned i = 0; i < fo->n; i++) {
                struct sink *k = &fo->sinks[i];
                uint32_t ev = 0;
                int fd = k->ops->poll_fd ? k->ops->poll_fd(k, &ev) : -1;

                if (fd >= 0 && ev && fd == fo->fd[i] &&
                    loop_mod(fo->loop, fd, ev) == 0) {
                        fo->fd_events[i] = ev;
                        continue;
                }
                if (fo->fd[i] >= 0)
                        loop_del(fo->loop, fo->fd[i]);
                fo->fd[i] = -1;
                fo->fd_events[i] = 0;
                if (fd >= 0 && ev && loop_add(fo->loop, fd, ev, on_output_fd, fo) == 0) {
                        fo->fd[i] = fd;
                        fo->fd_events[i] = ev;
                }
        }
}

int fanout_init(struct fanout *fo, const struct shim_opts *o, struct loop *loop)
{
        struct diag err = { 0 };
        int rc;

        memset(fo, 0, sizeof(*fo));
        fo->loop = loop;
        fo->backoff_ms = FANOUT_BACKOFF_MIN_MS;
        for (unsigned i = 0; i < SINKS_MAX; i++)
                fo->fd[i] = -1;
        rc = sink_parse_outputs(o, fo->sinks, SINKS_MAX, &fo->n, &err);
        if (rc < 0) {
                diag_print(&err);
                return -EINVAL;
        }
        return 0;
}

int fanout_open(struct fanout *fo, enum encoding enc, struct inflight *window)
{
        struct diag err = { 0 };
        int rc;

        for (unsigned i = 0; i < fo->n; i++) {
                struct sink *k = &fo->sinks[i];

                k->enc = enc;
                k->ack = window;
                rc = k->ops->open(k, &err);
                if (rc < 0) {
                        diag_print(&err);
                        return rc == -EINVAL ? -EINVAL : -EIO;
                }
        }
        watch_fds(fo);
        return 0;
}

void fanout_close(struct fanout *fo)
{
        for (unsigned i = 0; i < fo->n; i++) {
                if (fo->fd[i] >= 0)
                        loop_del(fo->loop, fo->fd[i]);
                fo->fd[i] = -1;
                if (fo->sinks[i].ops)
                        fo->sinks[i].ops->close(&fo->sinks[i]);
        }
        fo->n = 0;
}

static void failed_for_good(struct fanout *fo, unsigned i, const char *why)
{
        log_msg(LOG_LVL_ERR, "output %s %s; stopping", fo->sinks[i].target, why);
        fo->fatal = 1;
}

int fanout_submit(struct fanout *fo, struct event *ev, uint32_t *mask, const char *what,
                  uint64_t offset)
{
        for (unsigned i = 0; i < fo->n; i++) {
                struct sink *k = &fo->sinks[i];
                int rc;

                if (!(*mask & (1u << i)))
                        continue;
                rc = k->ops->submit(k, ev);
                if (rc == 0) {
                        *mask &= ~(1u << i);
                        if (fo->down[i])
                                log_msg(LOG_LVL_NOTICE, "output %s: taking records again", k->target);
                        fo->down[i] = 0;
                } else if (rc == -ENOTRECOVERABLE) {
                        failed_for_good(fo, i, "failed for good");
                        return -EAGAIN;
                } else if (rc == -E2BIG) {
                        /* this event can never be encoded for this output:
                         * waiting would stop every record after it */
                        log_msg(LOG_LVL_ERR, "output %s: the event of %s at offset %llu is too "
                                "large to encode; skipped for this output", k->target, what,
                                (unsigned long long)offset);
                        inflight_done(k->ack, ev->seq, -E2BIG);
                        *mask &= ~(1u << i);
                } else if (rc != -EAGAIN) {
                        /* once per outage: the back-off retries say nothing new */
                        if (!fo->down[i])
                                log_msg(LOG_LVL_WARNING, "output %s: %s; retrying with back-off",
                                        k->target, strerror(-rc));
                        fo->down[i] = 1;
                        fo->retry_ms = loop_now_ms() + fo->backoff_ms;
                        fo->backoff_ms = fo->backoff_ms * 2 > FANOUT_BACKOFF_MAX_MS
                                                 ? FANOUT_BACKOFF_MAX_MS : fo->backoff_ms * 2;
                        return -EAGAIN;
                }
        }
        return *mask ? -EAGAIN : 0;
}

void fanout_delivered(struct fanout *fo)
{
        fo->backoff_ms = FANOUT_BACKOFF_MIN_MS;
        fo->retry_ms = 0;
}

void fanout_flush(struct fanout *fo, int64_t deadline_ms)
{
        fo->busy = 0;
        for (unsigned i = 0; i < fo->n; i++) {
                struct sink *k = &fo->sinks[i];
                int rc = k->ops->flush(k, deadline_ms);

                if (rc == -EAGAIN)
                        fo->busy = 1;
                else if (rc == -ENOTRECOVERABLE)
                        failed_for_good(fo, i, "failed for good");
                else if (rc == -EPIPE)
                        failed_for_good(fo, i, "was closed by the reader");
                else if (rc < 0)
                        log_msg(LOG_LVL_WARNING, "output %s: %s; retrying", k->target,
                                strerror(-rc));
        }
        watch_fds(fo);
        if (fo->busy)
                for (unsigned i = 0; i < fo->n; i++)
                        if (fo->fd[i] < 0)
                                fo->busy_unwatched = 1;
}

void fanout_reopen(struct fanout *fo)
{
        for (unsigned i = 0; i < fo->n; i++) {
                struct sink *k = &fo->sinks[i];
                struct diag err = { 0 };

                if (k->ops->flush(k, 0) < 0) {
                        log_msg(LOG_LVL_WARNING, "SIGHUP: output %s busy; not reopened", k->target);
                        continue;
                }
                /* the files it needs (TLS material, Kafka secrets) first:
                 * an output that would not open stays as it is */
                if (k->ops->check && k->ops->check(k, &err) < 0) {
                        diag_print(&err);
                        log_msg(LOG_LVL_ERR, "SIGHUP: output %s not reopened (above); it "
                                "goes on as it was", k->target);
                        continue;
                }
                if (fo->fd[i] >= 0)
                        loop_del(fo->loop, fo->fd[i]);
                fo->fd[i] = -1;
                fo->fd_events[i] = 0;
                k->ops->close(k);
                if (k->ops->open(k, &err) < 0) {
                        diag_print(&err);
                        log_msg(LOG_LVL_ERR, "SIGHUP: output %s could not be reopened (above); "
                                "reading pauses until a SIGHUP reopens it", k->target);
                }
        }
        watch_fds(fo);
}
