/* SPDX-License-Identifier: MIT */
/* The files of the log directory that are followed: which names are taken,
 * where each begins (the checkpoint read at start, --from), which ones are
 * read this turn, and when an idle one is let go. It does not watch the
 * directory (watch.c tells it names) or handle records (the follow_env's
 * take function does). */
#ifndef SHIM_FILESET_H
#define SHIM_FILESET_H

#include <stdint.h>
#include <sys/queue.h>

#include "base/options.h"
#include "daemon/checkpoint.h"
#include "daemon/follower.h"

#define FILESET_MAX 4096                /* files followed at once */

LIST_HEAD(follower_list, follower);

struct fileset {
        struct follower_list files;
        unsigned n;
        struct follow_env env;
        const char *types;              /* --types filter */
        int from;                       /* enum from_choice */
        int64_t quiet_ms, partial_ms, release_idle_ms;
        const struct ckpt_entry *saved; /* the checkpoint read at start */
        int nsaved;
        int first_start;                /* no checkpoint existed */
        int initial_scan;               /* the scan at start is under way */
};

/* Set up from the options; env.norm, env.take and env.data are the
 * caller's to set. Returns 0 or -ENOMEM. */
int fileset_init(struct fileset *fs, const struct shim_opts *o);
void fileset_done(struct fileset *fs);

/* A name in the directory (a log of the chosen types, or ignored). */
void fileset_discover(struct fileset *fs, const char *name);

/* A name left the directory (inotify): its file drains, then is let go. */
void fileset_name_gone(struct fileset *fs, const char *name);

/* Read the directory: discover every name, and forget or drain the files
 * whose name is gone. Returns 0 or a negative errno (the directory cannot
 * be read). */
int fileset_rescan(struct fileset *fs);

/* Ask every file that is not let go to be read at the next turn. */
void fileset_want_all(struct fileset *fs);

/* One turn of reading, starting with the file whose framer holds the
 * shared buffer. Returns 1 when there is more to read right away, 0 when
 * not, -EAGAIN when paused. */
int fileset_pump(struct fileset *fs);

/* Quiet files' last records (only with may_take: the take function must
 * not be offered a record it cannot keep), drained removed files let go,
 * idle files with a newer day's file let go. */
void fileset_tick(struct fileset *fs, int64_t now_ms, int may_take);

/* When fileset_tick has work next (0: none; now_ms: at once). */
int64_t fileset_deadline(struct fileset *fs, int64_t now_ms);

/* Every file read to its end and every record handed out. */
int fileset_caught_up(const struct fileset *fs);

/* Every record still in the framers handed out (shutdown). -EAGAIN when
 * paused. */
int fileset_drain_all(struct fileset *fs);

/* A checkpoint entry per file: *ret is malloc'ed, *ret_n its count.
 * Returns 0 or -ENOMEM. */
int fileset_entries(const struct fileset *fs, struct ckpt_entry **ret, unsigned *ret_n);

/* Bytes written but not acknowledged, over all files. */
uint64_t fileset_lag(const struct fileset *fs);

#endif
