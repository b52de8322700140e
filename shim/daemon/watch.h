/* SPDX-License-Identifier: MIT */
/* Watching the log directory: inotify on a local file system, a poll timer
 * on a network one (or when asked), a safety rescan every 30 s either way,
 * and waiting for the directory while it is missing. It tells its owner
 * names that appeared or changed, names that left, and when to rescan; it
 * does not open or read log files. */
#ifndef SHIM_WATCH_H
#define SHIM_WATCH_H

#include <stdint.h>

#include "base/options.h"
#include "daemon/loop.h"

#define WATCH_RESCAN_MS 30000

struct watch_ops {
        /* a name appeared or was written to */
        void (*name_seen)(const char *name, void *data);
        /* a name was removed or moved away */
        void (*name_gone)(const char *name, void *data);
        /* read the whole directory again: 0, or a negative errno when it
         * cannot be read (then the directory counts as missing) */
        int (*rescan)(void *data);
};

struct watch {
        struct loop *loop;
        const char *dir;
        int mode;                       /* enum watch_choice */
        int64_t poll_ms;
        const struct watch_ops *ops;
        void *data;
        int infd;                       /* inotify, -1 when polling or missing */
        int polling;
        int dir_ok;
        int poll_timer, rescan_timer;
};

/* Start watching o->logs on loop: when the directory exists, inotify (or
 * polling) is set up and the first rescan is left to the caller; when it
 * is missing, a timer looks for it every poll interval. Returns 0 or a
 * negative errno (no room for the loop's timers). */
int watch_start(struct watch *w, struct loop *loop, const struct shim_opts *o,
                const struct watch_ops *ops, void *data);
void watch_stop(struct watch *w);

/* Rescan now and re-arm the periodic rescan (after the caller's own scan
 * at start, pass scan 0 to arm only). */
void watch_rescan(struct watch *w, int scan);

#endif
