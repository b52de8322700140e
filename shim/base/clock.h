/* SPDX-License-Identifier: MIT */
/* The monotonic clock every deadline is measured on, in milliseconds. The
 * wall clock is never used for a deadline: a step of it (an administrator,
 * NTP, a resumed VM) must not fire or hold back a timer. */
#ifndef SHIM_CLOCK_H
#define SHIM_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds. */
int64_t clock_now_ms(void);

#endif
