/* SPDX-License-Identifier: MIT */
/* One followed log file: its descriptor and identity, how far it was read
 * and acknowledged, its reader and date state, and the one state it is in.
 * It reads in chunks, frames records and hands each to the caller's take
 * function; it notices truncation, replacement and removal of its own file.
 * It does not list directories, watch for changes, decide where a first
 * start begins, talk to outputs or write checkpoints (fileset.c, watch.c,
 * fanout.c, run.c). */
#ifndef SHIM_FOLLOWER_H
#define SHIM_FOLLOWER_H

#include <stdint.h>
#include <sys/queue.h>

#include "core/reader.h"
#include "core/normalize.h"
#include "daemon/checkpoint.h"
#include "daemon/logfile.h"

#define FOLLOW_CHUNK (256u * 1024u)     /* bytes per read() */
#define FOLLOW_CHUNKS_PER_TURN 64       /* so that one file cannot starve the others */

enum follow_state {
        FOLLOW_UNOPENED,        /* known, not openable yet: each discover retries */
        FOLLOW_RENEWING,        /* another file under the name, not openable yet:
                                 * read from 0 once it opens */
        FOLLOW_OPEN,            /* open and followed */
        FOLLOW_DRAINING,        /* open, its name removed: read to the end, then let go */
        FOLLOW_RELEASED,        /* read to its end and let go (no descriptor, no
                                 * reader); kept while the name exists */
        FOLLOW_VANISHED,        /* let go and its name removed: kept until its
                                 * records in flight are acknowledged */
};

struct follower;

/* What every follower shares: the directory, the read buffer and the
 * function records go to. */
struct follow_env {
        const char *dir;
        size_t max_record_bytes;
        const struct norm *norm;
        char *chunk;                    /* FOLLOW_CHUNK bytes */
        struct follower *chunk_owner;   /* whose reader still points into chunk */
        /* A complete record of f, handed over for good (the reader has
         * moved past it): 0 when it went on, -EAGAIN when the taker holds
         * it and reading must pause. Offer one only when the taker can
         * keep it (nothing held). rec's bytes stay valid until the next
         * call on the reader. */
        int (*take)(struct follower *f, const struct frame_record *rec, void *data);
        void *data;
        int ckpt_dirty;                 /* set when a commit offset moved or reset */
};

struct follower {
        LIST_ENTRY(follower) link;
        struct logfile lf;
        struct reader *rd;            /* NULL unless OPEN or DRAINING (or a
                                         * RENEWING that was open before) */
        struct norm_file nf;
        enum follow_state state;
        uint64_t read_off;              /* next byte to read */
        uint64_t commit_off;            /* every record before it acknowledged */
        int64_t commit_day;             /* reader date state at commit_off */
        int32_t commit_tod;
        unsigned inflight;              /* records of this file in the window */
        unsigned old_inflight;          /* of them, records of the content
                                         * before a truncation or replacement */
        int64_t last_data_ms;           /* when bytes last arrived */
        int at_eof;                     /* OPEN/DRAINING: read to the end */
        int want_read;                  /* scheduling: read it at the next turn */
        int warned;                     /* an open or read failure was logged */
};

/* A follower for a log name (type and date from the name), UNOPENED.
 * NULL when out of memory. */
struct follower *follower_new(const char *name, const char *type, int y, int mo, int d);
/* Closes and frees (NULL is fine). */
void follower_free(struct follower *f);

/* Open the file (UNOPENED or RENEWING). Returns 0 or a negative errno; the
 * first failure in a row is logged. The caller places the read position
 * next (follower_start, or follower_renew's read from 0). */
int follower_open(struct follower *f, struct follow_env *env);

/* At start, for checkpoint entry e whose file is gone: what its day's
 * archive (NAME.zip, SmarterMail's maintenance) holds after e's offset,
 * read as a removed file (DRAINING from e's offset, then let go). Returns
 * 0, -ENOENT (no archive or member), -ENODATA (nothing after the offset),
 * -ESTALE (the archive holds another file) or another negative errno
 * (said). */
int follower_open_zipped(struct follower *f, struct follow_env *env, const struct ckpt_entry *e);

/* Begin at offset off, with the date state of a checkpoint (day 0: none).
 * State becomes OPEN. */
void follower_start(struct follower *f, uint64_t off, int64_t day, int32_t tod);

/* Offset just past the last newline at or before the file's size: where
 * --from end starts without cutting a line. */
uint64_t follower_line_start_at_end(struct follower *f, struct follow_env *env);

/* Another file is under the name (truncated, replaced, or deleted and
 * created again): read it from 0. Records of the old content still in
 * flight leave the window without moving the new content's checkpoint. */
void follower_renew(struct follower *f, struct follow_env *env);

/* discover found the name (again) in the directory. */
void follower_seen(struct follower *f, struct follow_env *env);

/* The name is gone from the directory (inotify or a rescan). Returns 1 when
 * the follower can be freed now (nothing open, nothing in flight). */
int follower_name_gone(struct follower *f, int may_free);

/* Read and frame until the end, a pause or the per-turn budget. Returns
 * -EAGAIN when paused (take refused, or another file's reader holds the
 * buffer), else 0. */
int follower_pump(struct follower *f, struct follow_env *env);

/* Hand out what the reader holds: complete records, and with flush the last
 * one too (with_partial: even without its newline). -EAGAIN when paused. */
int follower_drain(struct follower *f, struct follow_env *env, int flush, int with_partial);

/* A quiet file's last record after quiet_ms, its partial last line after
 * partial_ms (or at once when its name is gone); a drained DRAINING file
 * is let go. -EAGAIN when paused. */
int follower_flush_quiet(struct follower *f, struct follow_env *env, int64_t now_ms,
                         int64_t quiet_ms, int64_t partial_ms);

/* Let go of descriptor and reader (read to its end). */
void follower_release(struct follower *f);

/* When follower_flush_quiet has work next (0: none). */
int64_t follower_deadline(const struct follower *f, int64_t now_ms, int64_t quiet_ms,
                          int64_t partial_ms);

/* Whether everything read was handed out. */
int follower_caught_up(const struct follower *f);

/* Open (OPEN or DRAINING). */
int follower_is_open(const struct follower *f);

/* Its records up to end_offset were acknowledged by every output; cookie
 * is what follower_cookie gave for that record. Returns 1 when the commit
 * offset moved. */
int follower_commit(struct follower *f, uint64_t end_offset, uint64_t cookie);

/* The date state after the record just normalized, for follower_commit. */
uint64_t follower_cookie(const struct follower *f);

/* Its checkpoint entry. */
void follower_ckpt_entry(const struct follower *f, struct ckpt_entry *e);

/* Bytes written but not yet acknowledged (0 once let go). */
uint64_t follower_lag(const struct follower *f);

#endif
