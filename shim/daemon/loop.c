/* SPDX-License-Identifier: MIT */
/* epoll wrapper. Registrations live in a small fixed table; the daemon
 * watches a few descriptors, never one per log file (files are read on
 * inotify events or on the poll timer). */
#include "daemon/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

struct reg {
        int fd;
        loop_fd_fn fn;
        void *data;
};

struct loop {
        int ep;
        struct reg reg[LOOP_FDS_MAX];
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

int loop_wait(struct loop *l, int timeout_ms)
{
        struct epoll_event evs[LOOP_FDS_MAX];
        int n = epoll_wait(l->ep, evs, LOOP_FDS_MAX, timeout_ms);

        if (n < 0)
                return errno == EINTR ? 0 : -errno;
        for (int i = 0; i < n; i++) {
                struct reg *r = &l->reg[evs[i].data.u32];
                if (r->fd >= 0)
                        r->fn(r->fd, evs[i].events, r->data);
        }
        return n;
}

int64_t loop_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
