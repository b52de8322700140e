/* SPDX-License-Identifier: MIT */
/* The daemon. One thread, one loop: inotify (or a poll timer) says which
 * files grew; each is read in chunks, framed, normalized and handed to the
 * outputs; records wait in the in-flight window until every output
 * acknowledged them, and only then does the file's checkpoint offset move.
 * When the window is full or an output is full or down, reading pauses: the
 * log file itself is the buffer. */
#include "daemon/run.h"

#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/queue.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/inflight.h"
#include "daemon/checkpoint.h"
#include "core/frame.h"
#include "daemon/loop.h"
#include "daemon/notify.h"
#include "core/setup.h"
#include "outputs/sink.h"
#include "core/summary.h"
#include "daemon/logfile.h"

#define READ_CHUNK (256u * 1024u)       /* bytes per read() */
#define RESCAN_MS 30000                 /* safety rescan even with inotify */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 30000
#define SRCS_MAX 4096                   /* files followed at once */

struct src {
        LIST_ENTRY(src) link;
        struct logfile t;
        struct frame *frame;            /* NULL once released */
        struct norm_file nf;
        uint64_t read_off;              /* next byte to read */
        uint64_t commit_off;            /* every record before it acknowledged */
        int64_t commit_day;             /* reader date state at commit_off */
        int32_t commit_tod;
        unsigned inflight;              /* records of this file in the window */
        unsigned old_inflight;          /* of them, records of the content
                                         * before a truncation or replacement */
        int renewing;                   /* renewed, but the open failed: read
                                         * from 0 once it opens */
        int64_t last_data_ms;           /* when bytes last arrived */
        int want_read;
        int at_eof;
        int gone;                       /* name removed: drain, then release */
        int released;                   /* fd and frame dropped; entry kept */
        int warned;
};

LIST_HEAD(src_list, src);

struct stats {
        uint64_t records, bytes, unparsed, truncated, bad_time;
        int64_t paused_ms;
};

struct run {
        struct shim_opts *o;
        struct setup p;
        struct loop *loop;
        struct sink sinks[SINKS_MAX];
        unsigned nsinks;
        int sink_down[SINKS_MAX];       /* refused a record: said once */
        struct inflight *ack;
        struct src_list srcs;
        unsigned nsrcs;
        struct ckpt_entry *saved;       /* the checkpoint read at start */
        int nsaved;
        int first_start;                /* no checkpoint existed */
        int initial_scan;
        char state_path[PATH_MAX];
        char *chunk;
        struct src *chunk_owner;        /* whose frame still holds chunk bytes */
        int sigfd, infd, wd;
        int polling, dir_ok;
        int64_t next_poll_ms, next_rescan_ms, next_ckpt_ms, next_stats_ms, next_wd_ms;
        int64_t wd_interval_ms, retry_ms, backoff_ms, paused_since_ms;
        int ckpt_dirty, ckpt_warned;
        int stop, reload, reopen, print_stats;
        int sinks_busy;                 /* an output holds undelivered events */
        int fatal;
        /* a record the window or an output could not take yet */
        struct src *held;
        struct frame_record held_rec;
        int held_normalized;
        uint32_t held_mask;             /* outputs that still need it */
        /* summaries (NULL with --no-summaries); the one being handed out */
        struct summary *sum;
        uint64_t sum_seq;               /* its place in the window, 0 = none */
        uint32_t sum_mask;              /* outputs that still need it */
        int sum_flushed;                /* shutdown: every open session emitted */
        int64_t log_offset_ms;          /* log time - monotonic time: log_now_ms */
        int log_offset_set;
        struct stats st;
};

/* ---- checkpoint -------------------------------------------------------- */

static void on_commit(void *owner, uint64_t end_offset, uint64_t cookie, int status, void *data)
{
        struct run *r = data;
        struct src *s = owner;

        (void)status;   /* outputs never give up on a record: see sink.h */
        if (!s)
                return; /* a summary: no file offset to move */
        s->inflight--;
        if (s->old_inflight) {
                /* the old content's offsets mean nothing in the new one
                 * (commits come in order: the old records come first) */
                s->old_inflight--;
                return;
        }
        s->commit_off = end_offset;
        s->commit_day = (int64_t)(cookie >> 17);
        s->commit_tod = (int32_t)(cookie & 0x1FFFF) - 1;
        r->ckpt_dirty = 1;
}

static int write_checkpoint(struct run *r)
{
        struct ckpt_entry *e;
        struct diag err = { 0 };
        struct src *s;
        unsigned n = 0;
        int rc;

        for (unsigned i = 0; i < r->nsinks; i++)
                if (r->sinks[i].ops->sync && (rc = r->sinks[i].ops->sync(&r->sinks[i])) < 0) {
                        log_msg(LOG_LVL_WARNING, "output %s: sync failed: %s; checkpoint postponed",
                                r->sinks[i].target, strerror(-rc));
                        return rc;
                }
        e = calloc(r->nsrcs ? r->nsrcs : 1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        LIST_FOREACH(s, &r->srcs, link) {
                logfile_entry(&s->t, s->commit_off, &e[n]);
                e[n].day = s->commit_day;
                e[n].last_tod = s->commit_tod;
                n++;
        }
        rc = ckpt_commit(r->state_path, e, n, &err);
        free(e);
        if (rc < 0) {
                if (!r->ckpt_warned)
                        diag_print(&err);
                r->ckpt_warned = 1;
                return rc;
        }
        if (r->ckpt_warned)
                log_msg(LOG_LVL_NOTICE, "checkpoint written again to %s", r->state_path);
        r->ckpt_warned = 0;
        r->ckpt_dirty = 0;
        return 0;
}

/* ---- files ------------------------------------------------------------- */

static struct src *find_src(struct run *r, const char *name)
{
        struct src *s;

        LIST_FOREACH(s, &r->srcs, link)
                if (strcmp(s->t.name, name) == 0)
                        return s;
        return NULL;
}

static const struct ckpt_entry *saved_for(struct run *r, const char *name)
{
        for (int i = 0; i < r->nsaved; i++)
                if (strcmp(r->saved[i].name, name) == 0)
                        return &r->saved[i];
        return NULL;
}

/* Offset just past the last newline at or before size (start at the end
 * without cutting a line). */
static uint64_t line_start_before(struct run *r, struct src *s, uint64_t size)
{
        uint64_t from = size > READ_CHUNK ? size - READ_CHUNK : 0;
        ssize_t got = logfile_read(&s->t, from, r->chunk, (size_t)(size - from));

        for (ssize_t i = got - 1; i >= 0; i--)
                if (r->chunk[i] == '\n')
                        return from + (uint64_t)i + 1;
        return from;
}

/* Where to start a file seen for the first time in this process. */
static void start_position(struct run *r, struct src *s)
{
        const struct ckpt_entry *e = saved_for(r, s->t.name);
        uint64_t off = 0;

        s->commit_day = 0;
        s->commit_tod = -1;
        if (e && logfile_matches(&s->t, e)) {
                off = e->offset;
                if (off > s->t.size) {
                        log_msg(LOG_LVL_WARNING, "%s: shorter than its checkpoint (%llu < %llu): "
                                "reading it again from the start", s->t.path,
                                (unsigned long long)s->t.size, (unsigned long long)off);
                        off = 0;
                } else {
                        s->commit_day = e->day;
                        s->commit_tod = e->last_tod;
                }
        } else if (e) {
                log_msg(LOG_LVL_NOTICE, "%s: a different file than the checkpoint knew: "
                        "reading it from the start", s->t.path);
        } else if (r->o->from == FROM_END ||
                   (r->o->from == FROM_AUTO && r->first_start && r->initial_scan)) {
                off = line_start_before(r, s, s->t.size);
        }
        s->read_off = s->commit_off = off;
        frame_reset(s->frame, off);
        if (s->commit_day) {
                s->nf.day = s->commit_day;
                s->nf.last_tod = s->commit_tod;
        }
}

static int src_open(struct run *r, struct src *s)
{
        int e = logfile_open(&s->t, r->o->logs, s->t.name);

        if (e < 0) {
                if (!s->warned)
                        log_msg(LOG_LVL_WARNING, "%s/%s: cannot open: %s (retrying)", r->o->logs,
                                s->t.name, strerror(-e));
                s->warned = 1;
                return e;
        }
        if (s->warned)
                log_msg(LOG_LVL_NOTICE, "%s: readable now", s->t.path);
        s->warned = 0;
        if (!s->frame && !(s->frame = frame_new(r->o->max_record_bytes)))
                return -ENOMEM;
        norm_file_init(&s->nf, &r->p.norm, s->t.path, s->t.type, 1, s->t.y, s->t.mo, s->t.d);
        return 0;
}

/* Another file under the name of s (truncated, replaced, or deleted and
 * created again): read it from its start. Records of the old content still
 * in flight leave the window without moving the new content's checkpoint,
 * which starts at 0: the old content is gone, nothing of it can be read
 * again after a crash. */
static void src_renew(struct run *r, struct src *s)
{
        s->gone = 0;
        s->released = 0;
        s->want_read = 1;
        s->last_data_ms = loop_now_ms();
        s->old_inflight = s->inflight;
        s->commit_off = 0;
        s->commit_day = 0;
        s->commit_tod = -1;
        r->ckpt_dirty = 1;
        s->renewing = 1;
        if (src_open(r, s) < 0)
                return;         /* discover retries the open */
        s->renewing = 0;
        s->read_off = 0;
        frame_reset(s->frame, 0);
}

static void discover(struct run *r, const char *name)
{
        char type[64];
        int y, mo, d;
        struct src *s;

        if (!logfile_is_log(name, r->o->types, type, sizeof(type), &y, &mo, &d))
                return;
        s = find_src(r, name);
        if (s && !s->released && s->t.fd >= 0) {
                /* when gone too: handle_change tells a new file under the
                 * name once the old one is read to its end */
                s->want_read = 1;
                return;
        }
        if (s && s->t.fd < 0 && !s->released) {
                /* known but not yet openable: try again */
                if (src_open(r, s) == 0) {
                        if (!s->renewing) {
                                start_position(r, s);
                        } else {
                                s->renewing = 0;
                                s->read_off = 0;
                                frame_reset(s->frame, 0);
                        }
                }
                s->want_read = 1;
                return;
        }
        if (s && s->gone) {
                /* released after its name went away, and the name is back */
                src_renew(r, s);
                return;
        }
        if (s)
                return;         /* released: stays done until it goes away */
        if (r->nsrcs >= SRCS_MAX) {
                log_msg(LOG_LVL_WARNING, "%s: more than %d files; not followed", name, SRCS_MAX);
                return;
        }
        s = calloc(1, sizeof(*s));
        if (!s)
                return;
        s->t.fd = -1;
        snprintf(s->t.name, sizeof(s->t.name), "%s", name);
        snprintf(s->t.type, sizeof(s->t.type), "%s", type);
        s->t.y = y;
        s->t.mo = mo;
        s->t.d = d;
        LIST_INSERT_HEAD(&r->srcs, s, link);
        r->nsrcs++;
        s->want_read = 1;
        s->last_data_ms = loop_now_ms();
        if (src_open(r, s) == 0)
                start_position(r, s);
}

static void src_free(struct run *r, struct src *s)
{
        LIST_REMOVE(s, link);
        r->nsrcs--;
        logfile_close(&s->t);
        frame_free(s->frame);
        free(s->t.path);
        free(s);
}

/* Drop the descriptor and buffers of a file read to its end; its
 * checkpoint entry stays while the name exists. */
static void src_release(struct src *s)
{
        logfile_close(&s->t);
        frame_free(s->frame);
        s->frame = NULL;
        s->released = 1;
        s->want_read = 0;
}

static void rescan(struct run *r)
{
        DIR *d = opendir(r->o->logs);
        struct dirent *de;
        struct src *s, *tmp;

        if (!d) {
                if (r->dir_ok)
                        log_msg(LOG_LVL_WARNING, "%s: %s; waiting for it", r->o->logs, strerror(errno));
                r->dir_ok = 0;
                return;
        }
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        discover(r, de->d_name);
        closedir(d);
        /* forget released files whose name is gone; mark vanished ones */
        for (s = LIST_FIRST(&r->srcs); s && (tmp = LIST_NEXT(s, link), 1); s = tmp) {
                struct stat st;
                char path[PATH_MAX];

                snprintf(path, sizeof(path), "%s/%s", r->o->logs, s->t.name);
                /* lstat: a name still in the directory is not gone, even
                 * when it cannot be opened (a dangling link, no access) */
                if (lstat(path, &st) == 0)
                        continue;
                /* records still in the window commit to s: kept until
                 * they have */
                if ((s->released || s->t.fd < 0) && !s->inflight) {
                        src_free(r, s);
                        r->ckpt_dirty = 1;
                } else {
                        s->gone = 1;
                        s->want_read = 1;
                }
        }
}

/* ---- records ----------------------------------------------------------- */

static uint64_t date_cookie(const struct src *s)
{
        return (uint64_t)s->nf.day << 17 | (uint64_t)(s->nf.last_tod + 1);
}

/* Offer ev to every output whose bit is set in *mask; clears the bits of
 * those that took it. Returns 0 when none is left, -EAGAIN to wait (an
 * output is full or down: retried with back-off; or one failed for good:
 * the daemon stops). what and offset name the event in messages. */
static int submit_all(struct run *r, struct event *ev, uint32_t *mask, const char *what,
                      uint64_t offset)
{
        for (unsigned i = 0; i < r->nsinks; i++) {
                int rc;

                if (!(*mask & (1u << i)))
                        continue;
                rc = r->sinks[i].ops->submit(&r->sinks[i], ev);
                if (rc == 0) {
                        *mask &= ~(1u << i);
                        if (r->sink_down[i])
                                log_msg(LOG_LVL_NOTICE, "output %s: taking records again",
                                        r->sinks[i].target);
                        r->sink_down[i] = 0;
                } else if (rc == -ENOTRECOVERABLE) {
                        log_msg(LOG_LVL_ERR, "output %s failed for good; stopping",
                                r->sinks[i].target);
                        r->fatal = 1;
                        r->stop = 1;
                        return -EAGAIN;
                } else if (rc == -E2BIG) {
                        /* this event can never be encoded for this output:
                         * waiting would stop every record after it */
                        log_msg(LOG_LVL_ERR, "output %s: the event of %s at offset %llu is too "
                                "large to encode; skipped for this output", r->sinks[i].target,
                                what, (unsigned long long)offset);
                        inflight_done(r->ack, ev->seq, -E2BIG);
                        *mask &= ~(1u << i);
                } else if (rc != -EAGAIN) {
                        /* once per outage: the back-off retries say nothing new */
                        if (!r->sink_down[i])
                                log_msg(LOG_LVL_WARNING, "output %s: %s; retrying with back-off",
                                        r->sinks[i].target, strerror(-rc));
                        r->sink_down[i] = 1;
                        r->retry_ms = loop_now_ms() + r->backoff_ms;
                        r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                                         : r->backoff_ms * 2;
                        return -EAGAIN;
                }
        }
        return *mask ? -EAGAIN : 0;
}

/* A finished summary (summary.c calls this): it takes a place in the window
 * (with no file, so it moves no checkpoint) and goes to every output, like
 * a record. Returns -EAGAIN to be offered the same summary again. */
static int on_summary(struct event *ev, void *data)
{
        struct run *r = data;

        if (!r->sum_seq) {
                if (!inflight_has_room(r->ack, 0))
                        return -EAGAIN;
                r->sum_seq = inflight_push(r->ack, NULL, 0, 0, 0);
                r->sum_mask = (1u << r->nsinks) - 1;
        }
        ev->seq = r->sum_seq;
        if (submit_all(r, ev, &r->sum_mask, "a summary", 0) < 0)
                return -EAGAIN;
        r->sum_seq = 0;
        return 0;
}

/* Summaries refused earlier go out before any later record. */
static int summaries_ready(struct run *r)
{
        return !r->sum || summary_waiting_count(r->sum) == 0 || summary_retry(r->sum) == 0;
}

/* Try to hand the held record to the window and every output that still
 * needs it. Returns 0 when done, -EAGAIN when it must wait. */
static int deliver_held(struct run *r)
{
        struct src *s = r->held;
        struct event *ev = r->p.ev;

        if (!r->held_normalized) {
                unsigned res;

                if (!summaries_ready(r))
                        return -EAGAIN;
                if (!inflight_has_room(r->ack, r->held_rec.len))
                        return -EAGAIN;
                res = norm_record(&r->p.norm, &s->nf, &r->held_rec, ev);
                ev->seq = inflight_push(r->ack, s, r->held_rec.end_offset, r->held_rec.len,
                                   date_cookie(s));
                s->inflight++;
                r->held_normalized = 1;
                r->held_mask = (1u << r->nsinks) - 1;
                r->st.records++;
                r->st.bytes += r->held_rec.len;
                r->st.unparsed += (res & NORM_UNPARSED) != 0;
                r->st.bad_time += (res & NORM_BAD_TIME) != 0;
                r->st.truncated += (r->held_rec.flags & FRAME_TRUNCATED) != 0;
        }
        if (submit_all(r, ev, &r->held_mask, s->t.path, r->held_rec.offset) < 0)
                return -EAGAIN;
        r->held = NULL;
        r->backoff_ms = BACKOFF_MIN_MS;
        if (r->sum) {
                /* after the record: the summary follows the record that ends
                 * it; a refused one waits in r->sum (summaries_ready) */
                summary_add(r->sum, ev);
        }
        return 0;
}

static int take_record(struct run *r, struct src *s, const struct frame_record *rec)
{
        r->held = s;
        r->held_rec = *rec;
        r->held_normalized = 0;
        return deliver_held(r);
}

/* Emit what the frame of s has complete (or, when flushing, everything). */
static int drain_frame(struct run *r, struct src *s, int flush, int with_partial)
{
        struct frame_record rec;

        while (flush ? frame_flush(s->frame, with_partial, &rec) : frame_next(s->frame, &rec))
                if (take_record(r, s, &rec) < 0)
                        return -EAGAIN;
        if (!flush && r->chunk_owner == s)
                r->chunk_owner = NULL;  /* the frame let go of the chunk */
        return 0;
}

static void handle_change(struct run *r, struct src *s)
{
        enum logfile_change c = logfile_check(&s->t, s->read_off);

        switch (c) {
        case LOGFILE_SAME:
                break;
        case LOGFILE_TRUNCATED:
        case LOGFILE_REPLACED:
                /* what is still in the frame belongs to the old content:
                 * all of it must be in the window before src_renew counts
                 * the window's records as old; when reading is paused,
                 * the change is found again on a later turn */
                do {
                        if (drain_frame(r, s, 1, 1) < 0)
                                return;
                } while (frame_pending_offset(s->frame) < s->read_off);
                log_msg(LOG_LVL_WARNING, "%s: %s; reading it again from the start", s->t.path,
                        c == LOGFILE_TRUNCATED ? "truncated" : "replaced by another file");
                logfile_close(&s->t);
                src_renew(r, s);
                break;
        case LOGFILE_GONE:
                s->gone = 1;
                break;
        }
}

/* Read and emit from s until its end, a pause, or a budget. Returns
 * -EAGAIN when paused. */
static int pump_src(struct run *r, struct src *s)
{
        int budget = 64;        /* chunks per turn, so that one file cannot starve others */

        if (s->t.fd < 0 || !s->frame)
                return 0;
        if (s->at_eof) {
                /* truncated or replaced, and already grown past read_off
                 * again: only the first bytes tell, and reading on first
                 * would emit the new file from the middle */
                handle_change(r, s);
                if (s->t.fd < 0 || !s->frame)
                        return 0;
        }
        while (budget--) {
                ssize_t got;

                if (drain_frame(r, s, 0, 0) < 0)
                        return -EAGAIN;
                if (r->chunk_owner && r->chunk_owner != s)
                        return -EAGAIN;
                got = logfile_read(&s->t, s->read_off, r->chunk, READ_CHUNK);
                if (got < 0) {
                        if (!s->warned)
                                log_msg(LOG_LVL_WARNING, "%s: read: %s (retrying)", s->t.path,
                                        strerror((int)-got));
                        s->warned = 1;
                        s->want_read = 0;
                        return 0;
                }
                if (got == 0) {
                        s->at_eof = 1;
                        s->want_read = 0;
                        handle_change(r, s);
                        return 0;
                }
                s->warned = 0;
                s->at_eof = 0;
                s->read_off += (uint64_t)got;
                s->last_data_ms = loop_now_ms();
                r->chunk_owner = s;
                frame_feed(s->frame, r->chunk, (size_t)got);
        }
        return 0;
}

/* Quiet files: emit their last record; gone or superseded files: release. */
static void flush_quiet(struct run *r, int64_t now)
{
        struct src *s, *tmp;

        for (s = LIST_FIRST(&r->srcs); s && (tmp = LIST_NEXT(s, link), 1); s = tmp) {
                int64_t idle = now - s->last_data_ms;

                if (!s->frame || s->t.fd < 0 || !s->at_eof || r->held)
                        continue;
                if (frame_pending_offset(s->frame) < s->read_off &&
                    idle >= (int64_t)r->o->quiet_ms)
                        drain_frame(r, s, 1, s->gone || idle >= (int64_t)r->o->partial_line_timeout_ms);
                if (r->held)
                        return;
                if (s->gone && frame_pending_offset(s->frame) >= s->read_off) {
                        log_msg(LOG_LVL_INFO, "%s: removed; released after reading it to the end",
                                s->t.path);
                        src_release(s);
                }
        }
}

static int newer_exists(struct run *r, const struct src *s)
{
        const struct src *o;

        LIST_FOREACH(o, &r->srcs, link)
                if (o != s && strcmp(o->t.type, s->t.type) == 0 &&
                    stamp_days_from_civil(o->t.y, o->t.mo, o->t.d) >
                            stamp_days_from_civil(s->t.y, s->t.mo, s->t.d))
                        return 1;
        return 0;
}

static void release_idle(struct run *r, int64_t now)
{
        struct src *s;

        LIST_FOREACH(s, &r->srcs, link)
                if (s->frame && s->at_eof && !s->released &&
                    now - s->last_data_ms >= (int64_t)r->o->release_idle_s * 1000 &&
                    frame_pending_offset(s->frame) >= s->read_off && newer_exists(r, s)) {
                        log_msg(LOG_LVL_INFO, "%s: read to its end and a newer day's file exists; "
                                "released", s->t.path);
                        src_release(s);
                }
}

/* ---- watching ---------------------------------------------------------- */

static void on_inotify(int fd, uint32_t events, void *data)
{
        struct run *r = data;
        char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n;

        (void)events;
        while ((n = read(fd, buf, sizeof(buf))) > 0) {
                for (char *p = buf; p < buf + n;) {
                        struct inotify_event *ie = (struct inotify_event *)p;
                        p += sizeof(*ie) + ie->len;
                        if (ie->mask & IN_Q_OVERFLOW) {
                                r->next_rescan_ms = 0;
                                continue;
                        }
                        if (ie->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
                                log_msg(LOG_LVL_WARNING, "%s: the log directory went away; "
                                        "waiting for it", r->o->logs);
                                r->dir_ok = 0;
                                continue;
                        }
                        if (!ie->len)
                                continue;
                        if (ie->mask & (IN_DELETE | IN_MOVED_FROM)) {
                                struct src *s = find_src(r, ie->name);
                                if (s) {
                                        s->gone = 1;
                                        s->want_read = 1;
                                }
                        } else {
                                discover(r, ie->name);
                        }
                }
        }
}

static void watch_dir(struct run *r)
{
        int remote;

        if (r->infd >= 0) {
                loop_del(r->loop, r->infd);
                close(r->infd);
                r->infd = -1;
        }
        remote = logfile_dir_is_remote(r->o->logs);
        r->polling = r->o->watch == WATCH_POLL || (r->o->watch == WATCH_AUTO && remote == 1);
        if (!r->polling) {
                r->infd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
                if (r->infd >= 0)
                        r->wd = inotify_add_watch(r->infd, r->o->logs,
                                                  IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_DELETE |
                                                  IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF |
                                                  IN_CLOSE_WRITE | IN_ATTRIB);
                if (r->infd < 0 || r->wd < 0 ||
                    loop_add(r->loop, r->infd, EPOLLIN, on_inotify, r) < 0) {
                        log_msg(LOG_LVL_WARNING, "%s: inotify unavailable (%s); polling every %lu ms",
                                r->o->logs, strerror(errno), r->o->poll_interval_ms);
                        if (r->infd >= 0)
                                close(r->infd);
                        r->infd = -1;
                        r->polling = 1;
                }
        }
        if (r->polling)
                log_msg(LOG_LVL_INFO, "%s: polling every %lu ms%s", r->o->logs,
                        r->o->poll_interval_ms, remote == 1 ? " (network file system)" : "");
}

static void on_signal(int fd, uint32_t events, void *data)
{
        struct run *r = data;
        struct signalfd_siginfo si;

        (void)events;
        while (read(fd, &si, sizeof(si)) == sizeof(si)) {
                switch (si.ssi_signo) {
                case SIGTERM:
                case SIGINT:
                        r->stop = 1;
                        break;
                case SIGHUP:
                        r->reload = 1;
                        break;
                case SIGUSR1:
                        r->print_stats = 1;
                        break;
                default:
                        break;
                }
        }
}

/* ---- statistics -------------------------------------------------------- */

static void print_stats(struct run *r, int64_t now)
{
        char status[256];
        struct src *s;
        uint64_t lag = 0;

        LIST_FOREACH(s, &r->srcs, link)
                if (!s->released && s->t.size > s->commit_off)
                        lag += s->t.size - s->commit_off;
        log_msg(LOG_LVL_NOTICE, "stats: records=%llu bytes=%llu unparsed=%llu truncated=%llu "
                "bad_time=%llu inflight=%zu files=%u lag_bytes=%llu paused_ms=%lld",
                (unsigned long long)r->st.records, (unsigned long long)r->st.bytes,
                (unsigned long long)r->st.unparsed, (unsigned long long)r->st.truncated,
                (unsigned long long)r->st.bad_time, inflight_count(r->ack), r->nsrcs,
                (unsigned long long)lag,
                (long long)(r->st.paused_ms + (r->paused_since_ms ? now - r->paused_since_ms : 0)));
        LIST_FOREACH(s, &r->srcs, link)
                if (!s->released)
                        log_msg(LOG_LVL_INFO, "stats: %s read=%llu committed=%llu size=%llu lag=%llu",
                                s->t.name, (unsigned long long)s->read_off,
                                (unsigned long long)s->commit_off, (unsigned long long)s->t.size,
                                (unsigned long long)(s->t.size > s->commit_off
                                                     ? s->t.size - s->commit_off : 0));
        snprintf(status, sizeof(status), "%llu records, %zu in flight, %u files, %llu bytes behind",
                 (unsigned long long)r->st.records, inflight_count(r->ack), r->nsrcs,
                 (unsigned long long)lag);
        notify_status(status);
}

/* ---- set-up and main loop ---------------------------------------------- */

/* --output is a comma-separated list; every record goes to each output and
 * counts as delivered once all of them acknowledged it. */
static int open_sinks(struct run *r)
{
        struct diag err = { 0 };

        if (sink_parse_outputs(r->o, r->sinks, SINKS_MAX, &r->nsinks, &err) < 0) {
                diag_print(&err);
                return -EINVAL;
        }
        for (unsigned i = 0; i < r->nsinks; i++)
                r->sinks[i].enc = r->p.enc;
        r->ack = inflight_new(r->o->max_inflight_records, r->o->max_inflight_bytes, r->nsinks,
                         on_commit, r);
        if (!r->ack)
                return -ENOMEM;
        for (unsigned i = 0; i < r->nsinks; i++) {
                struct sink *k = &r->sinks[i];
                int rc;

                k->ack = r->ack;
                rc = k->ops->open(k, &err);
                if (rc < 0) {
                        diag_print(&err);
                        return rc == -EINVAL ? -EINVAL : -EIO;
                }
        }
        return 0;
}

static int setup_signals(struct run *r)
{
        sigset_t set;

        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        sigaddset(&set, SIGUSR1);
        if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
                return -errno;
        signal(SIGPIPE, SIG_IGN);       /* a closed output is an EPIPE, not a death */
        r->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (r->sigfd < 0)
                return -errno;
        return loop_add(r->loop, r->sigfd, EPOLLIN, on_signal, r);
}

static int load_state(struct run *r)
{
        struct diag err = { 0 };
        struct stat st;
        int n;

        if (stat(r->o->state, &st) < 0 || !S_ISDIR(st.st_mode))
                log_msg(LOG_LVL_WARNING, "%s: state directory missing or not a directory; "
                        "checkpoints fail until it exists", r->o->state);
        snprintf(r->state_path, sizeof(r->state_path), "%s/checkpoint.json", r->o->state);
        n = ckpt_load(r->state_path, &r->saved, &err);
        if (n < 0) {
                diag_print(&err);
                log_msg(LOG_LVL_ERR, "refusing to start: move the damaged checkpoint away to "
                        "start over (files are then read per --from)");
                return n;
        }
        r->nsaved = n;
        r->first_start = r->saved == NULL;
        return 0;
}

static void do_reload(struct run *r)
{
        struct setup np;
        struct src *s;

        r->reload = 0;
        for (unsigned i = 0; i < r->nsinks; i++) {
                struct sink *k = &r->sinks[i];
                struct diag err = { 0 };

                if (k->ops->flush(k, 0) < 0) {
                        log_msg(LOG_LVL_WARNING, "SIGHUP: output %s busy; not reopened", k->target);
                        continue;
                }
                /* the files it needs (TLS material, Kafka secrets) first:
                 * an output that would not open stays as it is */
                if (k->ops->check && k->ops->check(k, &err) < 0) {
                        diag_print(&err);
                        log_msg(LOG_LVL_ERR, "SIGHUP: output %s not reopened (above); it "
                                "goes on as it was", k->target);
                        continue;
                }
                k->ops->close(k);
                if (k->ops->open(k, &err) < 0) {
                        diag_print(&err);
                        log_msg(LOG_LVL_ERR, "SIGHUP: output %s could not be reopened (above); "
                                "reading pauses until a SIGHUP reopens it", k->target);
                }
        }
        if (setup_init(&np, r->o) < 0) {
                log_msg(LOG_LVL_ERR, "SIGHUP: mappings not reloaded; keeping the old ones");
                setup_done(&np);
                return;
        }
        setup_done(&r->p);
        r->p = np;
        if (r->sum && summary_set_keys(r->sum, r->p.keys) < 0)
                log_msg(LOG_LVL_ERR, "SIGHUP: summaries stopped: out of memory");
        /* np pointed into itself, on this stack: point into the copy */
        r->p.norm.ctx.tz = &r->p.tz;
        r->p.norm.host_name = r->p.host;
        LIST_FOREACH(s, &r->srcs, link) {
                /* nf holds texts of the old mappings (log_type): build it
                 * again, and carry the date state over */
                struct norm_file old = s->nf;

                norm_file_init(&s->nf, &r->p.norm, s->t.path, s->t.type, 1, s->t.y, s->t.mo,
                               s->t.d);
                s->nf.day = old.day;
                s->nf.has_day = old.has_day;
                s->nf.last_tod = old.last_tod;
                s->nf.last_ms = old.last_ms;
        }
        log_msg(LOG_LVL_NOTICE, "SIGHUP: outputs reopened, mappings reloaded from %s",
                r->p.mappings_dir);
}

static int64_t min_deadline(int64_t a, int64_t b)
{
        return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

/* One turn of reading; returns 1 when there is more to do right away. */
static int pump(struct run *r)
{
        struct src *s;
        int more = 0;

        if (!r->held && r->sum && summary_waiting_count(r->sum)) {
                if (r->retry_ms && loop_now_ms() < r->retry_ms)
                        return 0;
                r->retry_ms = 0;
                if (!summaries_ready(r))
                        return 0;
        }
        if (r->held) {
                if (r->retry_ms && loop_now_ms() < r->retry_ms)
                        return 0;
                r->retry_ms = 0;
                if (deliver_held(r) < 0)
                        return 0;
        }
        if (r->chunk_owner && pump_src(r, r->chunk_owner) < 0)
                return 0;
        LIST_FOREACH(s, &r->srcs, link) {
                if (!s->want_read)
                        continue;
                if (pump_src(r, s) < 0)
                        return 0;
                more |= s->want_read;
        }
        return more;
}

/* deadline_ms 0: deliver what can go now; else we are stopping and the
 * outputs may wait until then. Sets r->sinks_busy when something is left. */
static void flush_sinks(struct run *r, int64_t deadline_ms)
{
        r->sinks_busy = 0;
        for (unsigned i = 0; i < r->nsinks; i++) {
                int rc = r->sinks[i].ops->flush(&r->sinks[i], deadline_ms);
                if (rc == -EAGAIN)
                        r->sinks_busy = 1;
                if (rc < 0 && rc != -EAGAIN) {
                        if (rc == -ENOTRECOVERABLE) {
                                log_msg(LOG_LVL_ERR, "output %s failed for good; stopping",
                                        r->sinks[i].target);
                                r->fatal = 1;
                                r->stop = 1;
                        } else if (rc == -EPIPE) {
                                log_msg(LOG_LVL_ERR, "output %s: closed by the reader", r->sinks[i].target);
                                r->fatal = 1;
                                r->stop = 1;
                        } else {
                                log_msg(LOG_LVL_WARNING, "output %s: %s; retrying",
                                        r->sinks[i].target, strerror(-rc));
                        }
                }
        }
}

/* Every followed file read to its end: no record of an open session can
 * still be waiting, so the idle timeout may judge them (log_now_ms). */
static int caught_up(struct run *r)
{
        struct src *s;

        LIST_FOREACH(s, &r->srcs, link)
                if (s->want_read || (s->frame && frame_pending_offset(s->frame) < s->read_off))
                        return 0;
        return 1;
}

/* Now in log time (UTC ms) for the summaries' idle timeout, or INT64_MIN
 * before the first smtp or delivery record. Not the wall clock: a step of it
 * (an administrator, NTP fixing a clock far off, a resumed VM) would close
 * every open session at once as partial, or keep them open until the clock
 * caught up, hours later. A record taken by now had its time written before
 * now, so log time is at least that time plus the monotonic time since; the
 * largest such bound is kept as an offset from the monotonic clock, moved by
 * every turn of the loop that saw a later record time. It never goes back.
 * The price: a session left open in old logs read at start is emitted the
 * idle timeout after it was read, not at once. */
static int64_t log_now_ms(struct run *r, int64_t now)
{
        int64_t seen = summary_clock_ms(r->sum);

        if (seen == INT64_MIN)
                return INT64_MIN;
        if (!r->log_offset_set || seen - now > r->log_offset_ms) {
                r->log_offset_ms = seen - now;
                r->log_offset_set = 1;
        }
        return now + r->log_offset_ms;
}

static void timers(struct run *r, int64_t now)
{
        if (!r->dir_ok && now >= r->next_poll_ms) {
                struct stat st;
                if (stat(r->o->logs, &st) == 0 && S_ISDIR(st.st_mode)) {
                        log_msg(LOG_LVL_NOTICE, "%s: found the log directory", r->o->logs);
                        r->dir_ok = 1;
                        watch_dir(r);
                        r->next_rescan_ms = 0;
                }
        }
        if (r->dir_ok && (now >= r->next_rescan_ms || (r->polling && now >= r->next_poll_ms))) {
                struct src *s;
                rescan(r);
                LIST_FOREACH(s, &r->srcs, link)
                        if (!s->released)
                                s->want_read = 1;
                r->next_rescan_ms = now + RESCAN_MS;
        }
        if (now >= r->next_poll_ms)
                r->next_poll_ms = now + (int64_t)r->o->poll_interval_ms;
        flush_quiet(r, now);
        release_idle(r, now);
        if (r->sum) {
                /* every turn, so that the bound is taken close to the read */
                int64_t log_now = log_now_ms(r, now);

                if (!r->held && caught_up(r))
                        summary_expire(r->sum, log_now);
        }
        if (r->ckpt_dirty && now >= r->next_ckpt_ms) {
                write_checkpoint(r);
                r->next_ckpt_ms = now + (int64_t)r->o->checkpoint_interval_ms;
        }
        if (r->wd_interval_ms && now >= r->next_wd_ms) {
                notify_watchdog();
                r->next_wd_ms = now + r->wd_interval_ms;
        }
        if (r->print_stats || (r->o->stats_interval_s && now >= r->next_stats_ms)) {
                print_stats(r, now);
                r->print_stats = 0;
                r->next_stats_ms = now + (int64_t)r->o->stats_interval_s * 1000;
        }
}

static int64_t next_timeout(struct run *r, int64_t now)
{
        int64_t d = 0;
        struct src *s;

        if (!r->dir_ok || r->polling)
                d = min_deadline(d, r->next_poll_ms);
        d = min_deadline(d, r->next_rescan_ms);
        if (r->ckpt_dirty)
                d = min_deadline(d, r->next_ckpt_ms);
        if (r->wd_interval_ms)
                d = min_deadline(d, r->next_wd_ms);
        if (r->o->stats_interval_s)
                d = min_deadline(d, r->next_stats_ms);
        if (r->held && r->retry_ms)
                d = min_deadline(d, r->retry_ms);
        LIST_FOREACH(s, &r->srcs, link) {
                if (!s->frame || s->t.fd < 0)
                        continue;
                /* the timers (a rescan, a poll, a directory found) asked
                 * for a read: pump must see it now, not after the wait */
                if (s->want_read && !r->held)
                        return 0;
                if (frame_pending_offset(s->frame) < s->read_off) {
                        int64_t q = s->last_data_ms + (int64_t)r->o->quiet_ms;
                        int64_t p = s->last_data_ms + (int64_t)r->o->partial_line_timeout_ms;
                        d = min_deadline(d, now < q ? q : p);
                }
                if (s->gone)
                        d = min_deadline(d, now + 100);
        }
        if (r->sum && !r->held && caught_up(r)) {
                /* the idle timeout of the oldest open session, in log time */
                int64_t at = summary_idle_at_ms(r->sum), log_now = log_now_ms(r, now);

                if (at != INT64_MAX && log_now != INT64_MIN)
                        d = min_deadline(d, at < log_now ? now : now + (at - log_now) + 1);
        }
        if (d == 0)
                return -1;
        return d <= now ? 0 : d - now;
}

static void shutdown_run(struct run *r)
{
        int64_t deadline = loop_now_ms() + (int64_t)r->o->shutdown_timeout_ms;
        struct src *s;

        notify_stopping();
        log_msg(LOG_LVL_INFO, "stopping: emitting pending records, waiting for outputs");
        for (;;) {
                int pending = 0;

                if (r->held && deliver_held(r) < 0)
                        pending = 1;
                LIST_FOREACH(s, &r->srcs, link) {
                        if (pending || !s->frame || s->t.fd < 0)
                                continue;
                        /* a line without its newline yet is read whole at
                         * the next start, unless its file is gone */
                        if (drain_frame(r, s, 0, 0) < 0 || drain_frame(r, s, 1, s->gone) < 0)
                                pending = 1;
                }
                if (!pending && r->sum) {
                        /* sessions still open are emitted as partial */
                        if (!r->sum_flushed) {
                                r->sum_flushed = 1;
                                summary_flush_all(r->sum, SUMMARY_END_SHUTDOWN);
                        }
                        if (summary_retry(r->sum) < 0)
                                pending = 1;
                }
                flush_sinks(r, deadline);
                if ((!pending && inflight_count(r->ack) == 0) || r->fatal || loop_now_ms() >= deadline)
                        break;
                loop_wait(r->loop, 50);
        }
        if (inflight_count(r->ack))
                log_msg(LOG_LVL_WARNING, "stopping with %zu records unacknowledged; they are "
                        "sent again at the next start", inflight_count(r->ack));
        if (write_checkpoint(r) < 0)
                log_msg(LOG_LVL_ERR, "the last checkpoint could not be written: records since "
                        "the one before are sent again at the next start");
        print_stats(r, loop_now_ms());
}

int run_main(struct shim_opts *o, const char *argv0)
{
        struct run *r = calloc(1, sizeof(*r));
        int status = 0, rc;
        struct src *s;

        (void)argv0;
        if (!r)
                return 1;
        r->o = o;
        r->sigfd = r->infd = r->wd = -1;
        r->backoff_ms = BACKOFF_MIN_MS;
        LIST_INIT(&r->srcs);
        rc = setup_init(&r->p, o);
        if (rc < 0) {
                status = rc == -ENOMEM ? 1 : 2;
                goto out;
        }
        if (o->summaries) {
                struct summary_cfg cfg = {
                        .max_open = o->summary_max_open,
                        .idle_ms = (int64_t)o->summary_idle_timeout_s * 1000,
                        .host_name = r->p.host,
                        .zone = r->p.tz.zone,
                };
                if (summary_new(&r->sum, r->p.keys, &cfg, on_summary, r) < 0) {
                        status = 1;
                        goto out;
                }
        }
        r->chunk = malloc(READ_CHUNK);
        r->loop = loop_new();
        if (!r->chunk || !r->loop || setup_signals(r) < 0) {
                log_msg(LOG_LVL_ERR, "start-up failed: %s", strerror(errno));
                status = 1;
                goto out;
        }
        if ((rc = open_sinks(r)) < 0) {
                status = rc == -EINVAL ? 2 : 1;
                goto out;
        }
        if (load_state(r) < 0) {
                status = 2;
                goto out;
        }
        r->wd_interval_ms = notify_watchdog_interval_ms();
        {
                struct stat st;
                r->dir_ok = stat(o->logs, &st) == 0 && S_ISDIR(st.st_mode);
                if (!r->dir_ok)
                        log_msg(LOG_LVL_WARNING, "%s: no such directory; waiting for it", o->logs);
                else
                        watch_dir(r);
        }
        r->initial_scan = 1;
        if (r->dir_ok)
                rescan(r);
        r->initial_scan = 0;
        /* Record the start positions at once: without a checkpoint, a start
         * after a crash would be a first start again and skip to the end
         * of what was written meanwhile. */
        if (r->first_start)
                write_checkpoint(r);
        r->next_rescan_ms = loop_now_ms() + RESCAN_MS;
        r->next_stats_ms = loop_now_ms() + (int64_t)o->stats_interval_s * 1000;
        notify_ready();
        log_msg(LOG_LVL_INFO, "following %s (%u files), checkpoint %s", o->logs, r->nsrcs,
                r->state_path);
        while (!r->stop) {
                int64_t now, timeout;
                int more = pump(r);

                now = loop_now_ms();
                if (r->held && !r->paused_since_ms)
                        r->paused_since_ms = now;
                if (!r->held && r->paused_since_ms) {
                        r->st.paused_ms += now - r->paused_since_ms;
                        r->paused_since_ms = 0;
                }
                timers(r, now);
                if (r->reload && !r->held)
                        do_reload(r);
                /* before waiting: what pump and the timers emitted goes out */
                flush_sinks(r, 0);
                timeout = more ? 0 : next_timeout(r, now);
                if (r->held && (timeout < 0 || timeout > 100))
                        timeout = 100;  /* an output may drain without an event */
                if (r->sinks_busy && (timeout < 0 || timeout > 10))
                        timeout = 10;   /* acknowledgements arrive without an event */
                loop_wait(r->loop, (int)(timeout > INT_MAX ? INT_MAX : timeout));
        }
        shutdown_run(r);
        status = r->fatal ? 1 : 0;
out:
        for (unsigned i = 0; i < r->nsinks; i++)
                r->sinks[i].ops->close(&r->sinks[i]);
        while ((s = LIST_FIRST(&r->srcs)))
                src_free(r, s);
        summary_free(r->sum);
        inflight_free(r->ack);
        if (r->infd >= 0)
                close(r->infd);
        if (r->sigfd >= 0)
                close(r->sigfd);
        loop_free(r->loop);
        free(r->chunk);
        free(r->saved);
        setup_done(&r->p);
        free(r);
        return status;
}
