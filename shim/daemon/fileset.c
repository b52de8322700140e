/* SPDX-License-Identifier: MIT */
/* The followed files as a set: discovery by name, start positions,
 * rescans, the round of reads of one turn, and letting idle files go. */
#include "daemon/fileset.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "core/stamp.h"

int fileset_init(struct fileset *fs, const struct shim_opts *o)
{
        memset(fs, 0, sizeof(*fs));
        LIST_INIT(&fs->files);
        fs->env.dir = o->logs;
        fs->env.max_record_bytes = o->max_record_bytes;
        fs->env.chunk = malloc(FOLLOW_CHUNK);
        fs->types = o->types;
        fs->from = o->from;
        fs->quiet_ms = (int64_t)o->quiet_ms;
        fs->partial_ms = (int64_t)o->partial_line_timeout_ms;
        fs->release_idle_ms = (int64_t)o->release_idle_s * 1000;
        return fs->env.chunk ? 0 : -ENOMEM;
}

static void drop(struct fileset *fs, struct follower *f)
{
        LIST_REMOVE(f, link);
        fs->n--;
        if (fs->env.chunk_owner == f)
                fs->env.chunk_owner = NULL;
        follower_free(f);
}

void fileset_done(struct fileset *fs)
{
        struct follower *f;

        while ((f = LIST_FIRST(&fs->files)))
                drop(fs, f);
        free(fs->env.chunk);
        fs->env.chunk = NULL;
}

static struct follower *find(const struct fileset *fs, const char *name)
{
        struct follower *f;

        LIST_FOREACH(f, &fs->files, link)
                if (strcmp(f->lf.name, name) == 0)
                        return f;
        return NULL;
}

static const struct ckpt_entry *saved_for(const struct fileset *fs, const char *name)
{
        for (int i = 0; i < fs->nsaved; i++)
                if (strcmp(fs->saved[i].name, name) == 0)
                        return &fs->saved[i];
        return NULL;
}

/* Where a file seen for the first time in this process begins: its
 * checkpoint entry when it is the same file, else --from. */
static void place(struct fileset *fs, struct follower *f)
{
        const struct ckpt_entry *e = saved_for(fs, f->lf.name);

        if (e && logfile_matches(&f->lf, e)) {
                if (e->offset <= f->lf.size) {
                        follower_start(f, e->offset, e->day, e->last_tod);
                        return;
                }
                log_msg(LOG_LVL_WARNING, "%s: shorter than its checkpoint (%llu < %llu): "
                        "reading it again from the start", f->lf.path,
                        (unsigned long long)f->lf.size, (unsigned long long)e->offset);
        } else if (e) {
                log_msg(LOG_LVL_NOTICE, "%s: a different file than the checkpoint knew: "
                        "reading it from the start", f->lf.path);
        } else if (fs->from == FROM_END ||
                   (fs->from == FROM_AUTO && fs->first_start && fs->initial_scan)) {
                follower_start(f, follower_line_start_at_end(f, &fs->env), 0, -1);
                return;
        }
        follower_start(f, 0, 0, -1);
}

void fileset_discover(struct fileset *fs, const char *name)
{
        char type[64];
        int y, mo, d;
        struct follower *f;

        if (!logfile_is_log(name, fs->types, type, sizeof(type), &y, &mo, &d))
                return;
        f = find(fs, name);
        if (f && f->state == FOLLOW_UNOPENED) {
                /* known but not yet openable: try again */
                if (follower_open(f, &fs->env) == 0) {
                        place(fs, f);
                        f->want_read = 1;
                }
                return;
        }
        if (f) {
                follower_seen(f, &fs->env);
                return;
        }
        if (fs->n >= FILESET_MAX) {
                log_msg(LOG_LVL_WARNING, "%s: more than %d files; not followed", name, FILESET_MAX);
                return;
        }
        f = follower_new(name, type, y, mo, d);
        if (!f)
                return;
        LIST_INSERT_HEAD(&fs->files, f, link);
        fs->n++;
        if (follower_open(f, &fs->env) == 0)
                place(fs, f);
}

/* At start: a checkpointed file whose name is gone, compressed into
 * NAME.zip by SmarterMail's maintenance while the daemon was down. What
 * was written to it after the checkpoint is read from the archive, then
 * the file is let go (the checkpoint forgets it). */
static void catch_up_zipped(struct fileset *fs)
{
        for (int i = 0; i < fs->nsaved; i++) {
                const struct ckpt_entry *e = &fs->saved[i];
                char type[64];
                int y, mo, d;
                struct follower *f;

                if (fs->n >= FILESET_MAX || find(fs, e->name) ||
                    !logfile_is_log(e->name, fs->types, type, sizeof(type), &y, &mo, &d))
                        continue;
                f = follower_new(e->name, type, y, mo, d);
                if (!f)
                        return;
                if (follower_open_zipped(f, &fs->env, e) < 0) {
                        follower_free(f);
                        continue;
                }
                LIST_INSERT_HEAD(&fs->files, f, link);
                fs->n++;
        }
}

void fileset_name_gone(struct fileset *fs, const char *name)
{
        struct follower *f = find(fs, name);

        if (f)
                (void)follower_name_gone(f, 0);  /* freed by the next rescan */
}

int fileset_rescan(struct fileset *fs)
{
        DIR *d = opendir(fs->env.dir);
        struct dirent *de;
        struct follower *f, *tmp;

        if (!d)
                return -errno;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        fileset_discover(fs, de->d_name);
        closedir(d);
        if (fs->initial_scan)
                catch_up_zipped(fs);
        /* forget let-go files whose name is gone; drain vanished open ones */
        for (f = LIST_FIRST(&fs->files); f && (tmp = LIST_NEXT(f, link), 1); f = tmp) {
                struct stat st;
                char path[PATH_MAX];

                snprintf(path, sizeof(path), "%s/%s", fs->env.dir, f->lf.name);
                /* lstat: a name still in the directory is not gone, even
                 * when it cannot be opened (a dangling link, no access) */
                if (lstat(path, &st) == 0)
                        continue;
                if (follower_name_gone(f, 1)) {
                        drop(fs, f);
                        fs->env.ckpt_dirty = 1;
                }
        }
        return 0;
}

void fileset_want_all(struct fileset *fs)
{
        struct follower *f;

        LIST_FOREACH(f, &fs->files, link)
                if (f->state != FOLLOW_RELEASED && f->state != FOLLOW_VANISHED)
                        f->want_read = 1;
}

int fileset_pump(struct fileset *fs)
{
        struct follower *f;
        int more = 0;

        if (fs->env.chunk_owner && follower_pump(fs->env.chunk_owner, &fs->env) < 0)
                return -EAGAIN;
        LIST_FOREACH(f, &fs->files, link) {
                if (!f->want_read)
                        continue;
                if (follower_pump(f, &fs->env) < 0)
                        return -EAGAIN;
                more |= f->want_read;
        }
        return more;
}

static int newer_exists(const struct fileset *fs, const struct follower *f)
{
        const struct follower *o;
        int64_t day = stamp_days_from_civil(f->lf.y, f->lf.mo, f->lf.d);

        LIST_FOREACH(o, &fs->files, link)
                if (o != f && strcmp(o->lf.type, f->lf.type) == 0 &&
                    stamp_days_from_civil(o->lf.y, o->lf.mo, o->lf.d) > day)
                        return 1;
        return 0;
}

void fileset_tick(struct fileset *fs, int64_t now_ms, int may_take)
{
        struct follower *f;

        LIST_FOREACH(f, &fs->files, link)
                if (may_take &&
                    follower_flush_quiet(f, &fs->env, now_ms, fs->quiet_ms, fs->partial_ms) < 0)
                        may_take = 0;
        LIST_FOREACH(f, &fs->files, link)
                if (f->state == FOLLOW_OPEN && f->at_eof &&
                    now_ms - f->last_data_ms >= fs->release_idle_ms &&
                    reader_pending_offset(f->rd) >= f->read_off && newer_exists(fs, f)) {
                        log_msg(LOG_LVL_INFO, "%s: read to its end and a newer day's file "
                                "exists; released", f->lf.path);
                        follower_release(f);
                }
}

int64_t fileset_deadline(struct fileset *fs, int64_t now_ms)
{
        struct follower *f;
        int64_t d = 0;

        LIST_FOREACH(f, &fs->files, link) {
                int64_t fd;

                if (!follower_is_open(f))
                        continue;
                /* a rescan, a poll or a directory found asked for a read */
                if (f->want_read)
                        return now_ms;
                fd = follower_deadline(f, now_ms, fs->quiet_ms, fs->partial_ms);
                if (fd && (!d || fd < d))
                        d = fd;
        }
        return d;
}

int fileset_caught_up(const struct fileset *fs)
{
        const struct follower *f;

        LIST_FOREACH(f, &fs->files, link)
                if (!follower_caught_up(f))
                        return 0;
        return 1;
}

int fileset_drain_all(struct fileset *fs)
{
        struct follower *f;

        LIST_FOREACH(f, &fs->files, link) {
                if (!follower_is_open(f))
                        continue;
                /* a line without its newline yet is read whole at the next
                 * start, unless its file is gone */
                if (follower_drain(f, &fs->env, 0, 0) < 0 ||
                    follower_drain(f, &fs->env, 1, f->state == FOLLOW_DRAINING) < 0)
                        return -EAGAIN;
        }
        return 0;
}

int fileset_entries(const struct fileset *fs, struct ckpt_entry **ret, unsigned *ret_n)
{
        struct ckpt_entry *e = calloc(fs->n ? fs->n : 1, sizeof(*e));
        const struct follower *f;
        unsigned n = 0;

        if (!e)
                return -ENOMEM;
        LIST_FOREACH(f, &fs->files, link)
                follower_ckpt_entry(f, &e[n++]);
        *ret = e;
        *ret_n = n;
        return 0;
}

uint64_t fileset_lag(const struct fileset *fs)
{
        const struct follower *f;
        uint64_t lag = 0;

        LIST_FOREACH(f, &fs->files, link)
                lag += follower_lag(f);
        return lag;
}
