/* SPDX-License-Identifier: MIT */
/* inotify or polling over the log directory, the safety rescan, and the
 * wait for a missing directory. */
#include "daemon/watch.h"

#include <errno.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "daemon/logfile.h"

static void dir_lost(struct watch *w, const char *why)
{
        if (w->dir_ok)
                log_msg(LOG_LVL_WARNING, "%s: %s; waiting for it", w->dir, why);
        w->dir_ok = 0;
        loop_timer_arm(w->loop, w->poll_timer, loop_now_ms() + w->poll_ms);
}

void watch_rescan(struct watch *w, int scan)
{
        int rc = scan ? w->ops->rescan(w->data) : 0;

        if (rc < 0) {
                dir_lost(w, strerror(-rc));
                return;
        }
        loop_timer_arm(w->loop, w->rescan_timer, loop_now_ms() + WATCH_RESCAN_MS);
}

static void on_inotify(int fd, uint32_t events, void *data)
{
        struct watch *w = data;
        char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n;

        (void)events;
        while ((n = read(fd, buf, sizeof(buf))) > 0) {
                for (char *p = buf; p < buf + n;) {
                        struct inotify_event *ie = (struct inotify_event *)p;

                        p += sizeof(*ie) + ie->len;
                        if (ie->mask & IN_Q_OVERFLOW)
                                loop_timer_arm(w->loop, w->rescan_timer, loop_now_ms());
                        else if (ie->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
                                dir_lost(w, "the log directory went away");
                        else if (!ie->len)
                                continue;
                        else if (ie->mask & (IN_DELETE | IN_MOVED_FROM))
                                w->ops->name_gone(ie->name, w->data);
                        else
                                w->ops->name_seen(ie->name, w->data);
                }
        }
}

static void close_inotify(struct watch *w)
{
        if (w->infd < 0)
                return;
        loop_del(w->loop, w->infd);
        close(w->infd);
        w->infd = -1;
}

static void watch_dir(struct watch *w)
{
        int remote = logfile_dir_is_remote(w->dir);

        close_inotify(w);
        w->polling = w->mode == WATCH_POLL || (w->mode == WATCH_AUTO && remote == 1);
        if (!w->polling) {
                int wd = -1;

                w->infd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
                if (w->infd >= 0)
                        wd = inotify_add_watch(w->infd, w->dir,
                                               IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_DELETE |
                                               IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF |
                                               IN_CLOSE_WRITE | IN_ATTRIB);
                if (w->infd < 0 || wd < 0 ||
                    loop_add(w->loop, w->infd, EPOLLIN, on_inotify, w) < 0) {
                        log_msg(LOG_LVL_WARNING, "%s: inotify unavailable (%s); polling every %lld ms",
                                w->dir, strerror(errno), (long long)w->poll_ms);
                        if (w->infd >= 0)
                                close(w->infd);
                        w->infd = -1;
                        w->polling = 1;
                }
        }
        if (w->polling) {
                log_msg(LOG_LVL_INFO, "%s: polling every %lld ms%s", w->dir, (long long)w->poll_ms,
                        remote == 1 ? " (network file system)" : "");
                loop_timer_arm(w->loop, w->poll_timer, loop_now_ms() + w->poll_ms);
        }
}

static int dir_exists(const char *dir)
{
        struct stat st;

        return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The poll timer: look for a missing directory, or (polling) rescan. */
static void on_poll(void *data)
{
        struct watch *w = data;

        if (!w->dir_ok) {
                if (!dir_exists(w->dir)) {
                        loop_timer_arm(w->loop, w->poll_timer, loop_now_ms() + w->poll_ms);
                        return;
                }
                log_msg(LOG_LVL_NOTICE, "%s: found the log directory", w->dir);
                w->dir_ok = 1;
                watch_dir(w);
                watch_rescan(w, 1);
                return;
        }
        if (w->polling) {
                watch_rescan(w, 1);
                if (w->dir_ok)
                        loop_timer_arm(w->loop, w->poll_timer, loop_now_ms() + w->poll_ms);
        }
}

static void on_rescan(void *data)
{
        struct watch *w = data;

        if (w->dir_ok)
                watch_rescan(w, 1);
}

int watch_start(struct watch *w, struct loop *loop, const struct shim_opts *o,
                const struct watch_ops *ops, void *data)
{
        *w = (struct watch){ .loop = loop, .dir = o->logs, .mode = o->watch,
                             .poll_ms = (int64_t)o->poll_interval_ms, .ops = ops, .data = data,
                             .infd = -1 };
        w->poll_timer = loop_timer_new(loop, on_poll, w);
        w->rescan_timer = loop_timer_new(loop, on_rescan, w);
        if (w->poll_timer < 0 || w->rescan_timer < 0)
                return -ENOSPC;
        w->dir_ok = dir_exists(w->dir);
        if (!w->dir_ok) {
                log_msg(LOG_LVL_WARNING, "%s: no such directory; waiting for it", w->dir);
                loop_timer_arm(loop, w->poll_timer, loop_now_ms() + w->poll_ms);
        } else {
                watch_dir(w);
        }
        return 0;
}

void watch_stop(struct watch *w)
{
        close_inotify(w);
}
