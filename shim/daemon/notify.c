/* SPDX-License-Identifier: MIT */
/* sd_notify wrappers. The return values are ignored on purpose: a failed
 * notification must not stop log shipping, and systemd reports a missing
 * READY or WATCHDOG itself. */
#include "daemon/notify.h"

#include <stdio.h>
#include <systemd/sd-daemon.h>

void notify_ready(void)
{
        (void)sd_notify(0, "READY=1");
}

void notify_stopping(void)
{
        (void)sd_notify(0, "STOPPING=1");
}

void notify_status(const char *text)
{
        (void)sd_notifyf(0, "STATUS=%s", text);
}

void notify_watchdog(void)
{
        (void)sd_notify(0, "WATCHDOG=1");
}

int64_t notify_watchdog_interval_ms(void)
{
        uint64_t usec = 0;

        if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
                return 0;
        return (int64_t)(usec / 2000);
}
