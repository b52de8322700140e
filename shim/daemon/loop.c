/* SPDX-License-Identifier: MIT */
/* epoll wrapper with one-shot timers. Registrations and timers live in
 * small fixed tables: the daemon watches a few descriptors, never one per
 * log file (files are read on inotify events or on the poll timer), and has
 * a handful of deadlines; a linear scan of 16 timers costs less than any
 * heap would. */
#include "daemon/loop.h"

#include "base/clock.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

struct reg {
        int fd;
        loop_fd_fn fn;
        void *data;
};

struct timer {
        loop_timer_fn fn;               /* NULL: free slot */
        void *data;
        int64_t at_ms;                  /* 0: not armed */
};

struct loop {
        int ep;
        struct reg reg[LOOP_FDS_MAX];
        struct timer timers[LOOP_TIMERS_MAX];
};

struct loop *loop_new(void)
{
        struct loop *l = calloc(1, sizeof(*l));

        if (!l)
                return NULL;
        for (int i = 0; i < LOOP_FDS_MAX; i++)
                l->reg[i].fd = -1;
        l->ep = epoll_create1(EPOLL_CLOEXEC);
        if (l->ep < 0) {
                free(l);
                return NULL;
        }
        return l;
}

void loop_free(struct loop *l)
{
        if (!l)
                return;
        close(l->ep);
        free(l);
}

int loop_add(struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *data)
{
        struct epoll_event ev = { .events = events };

        for (int i = 0; i < LOOP_FDS_MAX; i++) {
                if (l->reg[i].fd != -1)
                        continue;
                ev.data.u32 = (uint32_t)i;
                if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
                        return -errno;
                l->reg[i] = (struct reg){ fd, fn, data };
                return 0;
        }
        return -ENOSPC;
}

int loop_mod(struct loop *l, int fd, uint32_t events)
{
        for (int i = 0; i < LOOP_FDS_MAX; i++) {
                struct epoll_event ev = { .events = events, .data.u32 = (uint32_t)i };
                if (l->reg[i].fd == fd)
                        return epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
        }
        return -ENOENT;
}

void loop_del(struct loop *l, int fd)
{
        for (int i = 0; i < LOOP_FDS_MAX; i++)
                if (l->reg[i].fd == fd) {
                        /* the fd may be closed already: then epoll forgot it */
                        (void)epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
                        l->reg[i].fd = -1;
                }
}

int loop_timer_new(struct loop *l, loop_timer_fn fn, void *data)
{
        for (int i = 0; i < LOOP_TIMERS_MAX; i++)
                if (!l->timers[i].fn) {
                        l->timers[i] = (struct timer){ fn, data, 0 };
                        return i;
                }
        return -ENOSPC;
}

void loop_timer_arm(struct loop *l, int id, int64_t at_ms)
{
        if (id >= 0 && id < LOOP_TIMERS_MAX)
                l->timers[id].at_ms = at_ms;
}

int64_t loop_timer_when(const struct loop *l, int id)
{
        return id >= 0 && id < LOOP_TIMERS_MAX ? l->timers[id].at_ms : 0;
}

/* Milliseconds until the nearest timer, capped by max_ms (-1: none). */
static int timeout_for(const struct loop *l, int max_ms, int64_t now)
{
        int64_t t = max_ms < 0 ? INT64_MAX : max_ms;

        for (int i = 0; i < LOOP_TIMERS_MAX; i++) {
                int64_t at = l->timers[i].at_ms;
                if (at && at - now < t)
                        t = at <= now ? 0 : at - now;
        }
        if (t == INT64_MAX)
                return -1;
        return t > INT_MAX ? INT_MAX : (int)t;
}

static int fire_timers(struct loop *l, int64_t now)
{
        int n = 0;

        for (int i = 0; i < LOOP_TIMERS_MAX; i++) {
                struct timer *t = &l->timers[i];
                if (t->fn && t->at_ms && t->at_ms <= now) {
                        t->at_ms = 0;
                        t->fn(t->data);
                        n++;
                }
        }
        return n;
}

int loop_wait(struct loop *l, int max_ms)
{
        struct epoll_event evs[LOOP_FDS_MAX];
        int n = epoll_wait(l->ep, evs, LOOP_FDS_MAX, timeout_for(l, max_ms, loop_now_ms()));

        if (n < 0)
                return errno == EINTR ? 0 : -errno;
        for (int i = 0; i < n; i++) {
                struct reg *r = &l->reg[evs[i].data.u32];
                if (r->fd >= 0)
                        r->fn(r->fd, evs[i].events, r->data);
        }
        return n + fire_timers(l, loop_now_ms());
}

int64_t loop_now_ms(void)
{
        return clock_now_ms();
}
