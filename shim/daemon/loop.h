/* SPDX-License-Identifier: MIT */
/* The event loop: epoll over a handful of descriptors (signalfd, inotify,
 * outputs), with one timeout the caller computes from its own deadlines.
 * The only place that blocks. No timers of its own, no threads. */
#ifndef SHIM_LOOP_H
#define SHIM_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>        /* EPOLLIN, EPOLLOUT for callers */

#define LOOP_FDS_MAX 32

struct loop;
typedef void (*loop_fd_fn)(int fd, uint32_t events, void *data);

/* Returns NULL when out of memory or epoll is unavailable (errno set). */
struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Watch fd for events (EPOLLIN, EPOLLOUT); fn(fd, events, data) is called
 * from loop_wait. Returns 0 or a negative errno. */
int loop_add(struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *data);
int loop_mod(struct loop *l, int fd, uint32_t events);
void loop_del(struct loop *l, int fd);

/* Wait up to timeout_ms (-1 = no limit) and dispatch what is ready.
 * Returns the number of descriptors dispatched, or a negative errno
 * (-EINTR is returned as 0). */
int loop_wait(struct loop *l, int timeout_ms);

/* Monotonic clock in milliseconds. */
int64_t loop_now_ms(void);

#endif
