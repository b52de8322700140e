/* SPDX-License-Identifier: MIT */
/* systemd service notifications (READY=1, STATUS=, WATCHDOG=1,
 * STOPPING=1) through libsystemd. Harmless outside systemd: every call then
 * does nothing. */
#ifndef SHIM_NOTIFY_H
#define SHIM_NOTIFY_H

#include <stdint.h>

void notify_ready(void);
void notify_stopping(void);
void notify_status(const char *text);
void notify_watchdog(void);
/* Half of WatchdogSec in ms when the watchdog is on, else 0. */
int64_t notify_watchdog_interval_ms(void);

#endif
