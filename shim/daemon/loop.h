/* SPDX-License-Identifier: MIT */
/* The event loop: epoll over a handful of descriptors (signalfd, inotify,
 * outputs) and a few timers, in the manner of Redis' ae: a descriptor or a
 * timer that is due calls its function. The only place that blocks. No
 * threads; timers are one-shot and re-armed by their owner. */
#ifndef SHIM_LOOP_H
#define SHIM_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>        /* EPOLLIN, EPOLLOUT for callers */

#define LOOP_FDS_MAX 32
#define LOOP_TIMERS_MAX 16

struct loop;
typedef void (*loop_fd_fn)(int fd, uint32_t events, void *data);
typedef void (*loop_timer_fn)(void *data);

/* Returns NULL when out of memory or epoll is unavailable (errno set). */
struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Watch fd for events (EPOLLIN, EPOLLOUT); fn(fd, events, data) is called
 * from loop_wait. Returns 0 or a negative errno. */
int loop_add(struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *data);
int loop_mod(struct loop *l, int fd, uint32_t events);
void loop_del(struct loop *l, int fd);

/* A timer, not armed yet. Returns its id (>= 0) or -ENOSPC. */
int loop_timer_new(struct loop *l, loop_timer_fn fn, void *data);

/* Fire timer id once at at_ms (loop_now_ms clock; at or before now: at
 * the next loop_wait, without waiting). 0 disarms. Arming again moves it. */
void loop_timer_arm(struct loop *l, int id, int64_t at_ms);

/* When timer id fires next, 0 when it is not armed. */
int64_t loop_timer_when(const struct loop *l, int id);

/* Wait until a descriptor is ready, the nearest timer is due or max_ms
 * passed (-1 = no limit, 0 = do not wait), then dispatch the ready
 * descriptors and the due timers (each is disarmed before its function
 * runs). Returns how many were dispatched, or a negative errno (-EINTR is
 * returned as 0). */
int loop_wait(struct loop *l, int max_ms);

/* Monotonic clock in milliseconds. */
int64_t loop_now_ms(void);

#endif
