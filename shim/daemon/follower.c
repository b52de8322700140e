/* SPDX-License-Identifier: MIT */
/* One followed file: open, read in chunks, frame, hand records out, notice
 * truncation, replacement and removal, and move the commit offset over
 * what was acknowledged. Which files exist and where a first start begins
 * is fileset.c's business; what happens to a record is run.c's. */
#include "daemon/follower.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "daemon/loop.h"

struct follower *follower_new(const char *name, const char *type, int y, int mo, int d)
{
        struct follower *f = calloc(1, sizeof(*f));

        if (!f)
                return NULL;
        f->lf.fd = -1;
        snprintf(f->lf.name, sizeof(f->lf.name), "%s", name);
        snprintf(f->lf.type, sizeof(f->lf.type), "%s", type);
        f->lf.y = y;
        f->lf.mo = mo;
        f->lf.d = d;
        f->state = FOLLOW_UNOPENED;
        f->commit_tod = -1;
        f->want_read = 1;
        f->last_data_ms = loop_now_ms();
        return f;
}

void follower_free(struct follower *f)
{
        if (!f)
                return;
        logfile_close(&f->lf);
        reader_free(f->rd);
        free(f->lf.path);
        free(f);
}

/* The reader and date state of a file just opened. */
static int prepare(struct follower *f, struct follow_env *env)
{
        if (!f->rd && !(f->rd = reader_new(env->max_record_bytes, 0))) {
                logfile_close(&f->lf);
                return -ENOMEM;
        }
        norm_file_init(&f->nf, env->norm, f->lf.path, f->lf.type, 1, f->lf.y, f->lf.mo, f->lf.d);
        return 0;
}

int follower_open(struct follower *f, struct follow_env *env)
{
        int e = logfile_open(&f->lf, env->dir, f->lf.name);

        if (e < 0) {
                /* once per entry; it is tried again when the name changes
                 * (inotify) and at each rescan, at no cost in between */
                if (!f->warned && e == -EINVAL)
                        log_msg(LOG_LVL_WARNING, "%s/%s: not a regular file; not followed "
                                "(tried again if it becomes one)", env->dir, f->lf.name);
                else if (!f->warned)
                        log_msg(LOG_LVL_WARNING, "%s/%s: cannot open: %s (retrying)", env->dir,
                                f->lf.name, strerror(-e));
                f->warned = 1;
                f->want_read = 0;
                return e;
        }
        if (f->warned)
                log_msg(LOG_LVL_NOTICE, "%s: readable now", f->lf.path);
        f->warned = 0;
        return prepare(f, env);
}

int follower_open_zipped(struct follower *f, struct follow_env *env, const struct ckpt_entry *e)
{
        int r = logfile_open_zipped(&f->lf, env->dir, f->lf.name, e->offset);

        if (r == -ENOENT || r == -ENODATA)
                return r;
        if (r < 0) {
                log_msg(LOG_LVL_WARNING, "%s/%s.zip: cannot read the archive: %s; what was "
                        "written to %s after the checkpoint is not read", env->dir,
                        f->lf.name, strerror(-r), f->lf.name);
                return r;
        }
        if (!logfile_same_start(&f->lf, e)) {
                log_msg(LOG_LVL_NOTICE, "%s.zip: holds another file than the checkpoint "
                        "knew; not read", f->lf.path);
                logfile_close(&f->lf);
                return -ESTALE;
        }
        if ((r = prepare(f, env)) < 0)
                return r;
        log_msg(LOG_LVL_NOTICE, "%s: compressed into %s.zip while stopped: reading the %llu "
                "bytes after the checkpoint from the archive", f->lf.path, f->lf.name,
                (unsigned long long)(f->lf.size - e->offset));
        follower_start(f, e->offset, e->day, e->last_tod);
        f->state = FOLLOW_DRAINING;
        return 0;
}

void follower_start(struct follower *f, uint64_t off, int64_t day, int32_t tod)
{
        f->state = FOLLOW_OPEN;
        f->commit_day = day;
        f->commit_tod = day ? tod : -1;
        f->read_off = f->commit_off = off;
        reader_start(f->rd, off);
        if (day) {
                f->nf.day = day;
                f->nf.last_tod = tod;
        }
}

uint64_t follower_line_start_at_end(struct follower *f, struct follow_env *env)
{
        uint64_t size = f->lf.size;
        uint64_t from = size > FOLLOW_CHUNK ? size - FOLLOW_CHUNK : 0;
        ssize_t got = logfile_read(&f->lf, from, env->chunk, (size_t)(size - from));

        for (ssize_t i = got - 1; i >= 0; i--)
                if (env->chunk[i] == '\n')
                        return from + (uint64_t)i + 1;
        return from;
}

/* The content under the name is new: the old one is gone, so nothing of it
 * can be read again after a crash, and its checkpoint starts at 0. */
void follower_renew(struct follower *f, struct follow_env *env)
{
        f->state = FOLLOW_RENEWING;
        f->want_read = 1;
        f->last_data_ms = loop_now_ms();
        f->old_inflight = f->inflight;
        f->commit_off = 0;
        f->commit_day = 0;
        f->commit_tod = -1;
        env->ckpt_dirty = 1;
        if (follower_open(f, env) < 0)
                return;         /* follower_seen retries the open */
        follower_start(f, 0, 0, -1);
}

void follower_seen(struct follower *f, struct follow_env *env)
{
        switch (f->state) {
        case FOLLOW_OPEN:
        case FOLLOW_DRAINING:
                /* when draining too: follower_pump tells a new file under
                 * the name once the old one is read to its end */
                f->want_read = 1;
                break;
        case FOLLOW_RENEWING:
                if (follower_open(f, env) == 0)
                        follower_start(f, 0, 0, -1);
                f->want_read = 1;
                break;
        case FOLLOW_UNOPENED:
                /* fileset places it (follower_start) after a successful open */
                break;
        case FOLLOW_VANISHED:
                follower_renew(f, env);
                break;
        case FOLLOW_RELEASED:
                break;  /* stays done until its name goes away */
        }
}

int follower_name_gone(struct follower *f, int may_free)
{
        switch (f->state) {
        case FOLLOW_OPEN:
        case FOLLOW_DRAINING:
                f->state = FOLLOW_DRAINING;
                f->want_read = 1;
                return 0;
        case FOLLOW_UNOPENED:
        case FOLLOW_RENEWING:
        case FOLLOW_RELEASED:
        case FOLLOW_VANISHED:
                /* records still in the window commit to f: kept until then */
                if (may_free && !f->inflight)
                        return 1;
                f->state = FOLLOW_VANISHED;
                f->want_read = 1;
                return 0;
        }
        return 0;
}

int follower_is_open(const struct follower *f)
{
        return f->state == FOLLOW_OPEN || f->state == FOLLOW_DRAINING;
}

int follower_drain(struct follower *f, struct follow_env *env, int flush, int with_partial)
{
        struct frame_record rec;

        if (flush)
                reader_flush(f->rd, with_partial);
        while (reader_next(f->rd, &rec))
                if (env->take(f, &rec, env->data) < 0)
                        return -EAGAIN;
        if (!flush && env->chunk_owner == f)
                env->chunk_owner = NULL;        /* the reader let go of the chunk */
        return 0;
}

/* At the end of what was read: is it still the same file? */
static void check_change(struct follower *f, struct follow_env *env)
{
        enum logfile_change c = logfile_check(&f->lf, f->read_off);

        switch (c) {
        case LOGFILE_SAME:
                break;
        case LOGFILE_TRUNCATED:
        case LOGFILE_REPLACED:
                /* what is still in the reader belongs to the old content:
                 * all of it must be in the window before follower_renew
                 * counts the window's records as old; when reading is
                 * paused, the change is found again on a later turn */
                do {
                        if (follower_drain(f, env, 1, 1) < 0)
                                return;
                } while (reader_pending_offset(f->rd) < f->read_off);
                log_msg(LOG_LVL_WARNING, "%s: %s; reading it again from the start", f->lf.path,
                        c == LOGFILE_TRUNCATED ? "truncated" : "replaced by another file");
                logfile_close(&f->lf);
                follower_renew(f, env);
                break;
        case LOGFILE_GONE:
                f->state = FOLLOW_DRAINING;
                break;
        }
}

int follower_pump(struct follower *f, struct follow_env *env)
{
        if (!follower_is_open(f)) {
                /* nothing to read until an open succeeds: asking again at
                 * every turn would spin a core */
                f->want_read = 0;
                return 0;
        }
        if (f->at_eof) {
                /* truncated or replaced, and already grown past read_off
                 * again: only the first bytes tell, and reading on first
                 * would emit the new file from the middle */
                check_change(f, env);
                if (!follower_is_open(f))
                        return 0;
        }
        for (int budget = FOLLOW_CHUNKS_PER_TURN; budget > 0; budget--) {
                ssize_t got;

                if (follower_drain(f, env, 0, 0) < 0)
                        return -EAGAIN;
                if (env->chunk_owner && env->chunk_owner != f)
                        return -EAGAIN;
                got = logfile_read(&f->lf, f->read_off, env->chunk, FOLLOW_CHUNK);
                if (got < 0) {
                        if (!f->warned)
                                log_msg(LOG_LVL_WARNING, "%s: read: %s (retrying)", f->lf.path,
                                        strerror((int)-got));
                        f->warned = 1;
                        f->want_read = 0;
                        return 0;
                }
                if (got == 0) {
                        f->at_eof = 1;
                        f->want_read = 0;
                        check_change(f, env);
                        return 0;
                }
                f->warned = 0;
                f->at_eof = 0;
                f->read_off += (uint64_t)got;
                f->last_data_ms = loop_now_ms();
                env->chunk_owner = f;
                reader_feed(f->rd, env->chunk, (size_t)got);
        }
        return 0;
}

void follower_release(struct follower *f)
{
        logfile_close(&f->lf);
        reader_free(f->rd);
        f->rd = NULL;
        f->state = f->state == FOLLOW_DRAINING ? FOLLOW_VANISHED : FOLLOW_RELEASED;
        f->want_read = 0;
}

int follower_flush_quiet(struct follower *f, struct follow_env *env, int64_t now_ms,
                         int64_t quiet_ms, int64_t partial_ms)
{
        int64_t idle = now_ms - f->last_data_ms;
        int gone = f->state == FOLLOW_DRAINING;

        if (!follower_is_open(f) || !f->at_eof)
                return 0;
        if (reader_pending_offset(f->rd) < f->read_off && idle >= quiet_ms &&
            follower_drain(f, env, 1, gone || idle >= partial_ms) < 0)
                return -EAGAIN;
        if (gone && reader_pending_offset(f->rd) >= f->read_off) {
                log_msg(LOG_LVL_INFO, "%s: removed; released after reading it to the end",
                        f->lf.path);
                follower_release(f);
        }
        return 0;
}

static int64_t min_deadline(int64_t a, int64_t b)
{
        return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

int64_t follower_deadline(const struct follower *f, int64_t now_ms, int64_t quiet_ms,
                          int64_t partial_ms)
{
        int64_t d = 0;

        if (!follower_is_open(f))
                return 0;
        if (reader_pending_offset(f->rd) < f->read_off) {
                int64_t q = f->last_data_ms + quiet_ms;
                int64_t p = f->last_data_ms + partial_ms;
                d = now_ms < q ? q : p;
        }
        if (f->state == FOLLOW_DRAINING)
                d = min_deadline(d, now_ms + 100);
        return d;
}

int follower_caught_up(const struct follower *f)
{
        return !f->want_read && !(f->rd && reader_pending_offset(f->rd) < f->read_off);
}

/* The date state rides along with each record: day in the high bits, the
 * second of the day (+1, so that -1 fits) in the low 17. */
uint64_t follower_cookie(const struct follower *f)
{
        return (uint64_t)f->nf.day << 17 | (uint64_t)(f->nf.last_tod + 1);
}

int follower_commit(struct follower *f, uint64_t end_offset, uint64_t cookie)
{
        f->inflight--;
        if (f->old_inflight) {
                /* the old content's offsets mean nothing in the new one
                 * (commits come in order: the old records come first) */
                f->old_inflight--;
                return 0;
        }
        f->commit_off = end_offset;
        f->commit_day = (int64_t)(cookie >> 17);
        f->commit_tod = (int32_t)(cookie & 0x1FFFF) - 1;
        return 1;
}

void follower_ckpt_entry(const struct follower *f, struct ckpt_entry *e)
{
        logfile_entry(&f->lf, f->commit_off, e);
        e->day = f->commit_day;
        e->last_tod = f->commit_tod;
}

uint64_t follower_lag(const struct follower *f)
{
        if (f->state == FOLLOW_RELEASED || f->state == FOLLOW_VANISHED)
                return 0;
        return f->lf.size > f->commit_off ? f->lf.size - f->commit_off : 0;
}
