/* SPDX-License-Identifier: MIT */
/* The daemon's wiring. One thread, one loop: watch.c says which names
 * changed, fileset.c and follower.c read and frame, this file normalizes
 * each record, puts it in the in-flight window and hands it to fanout.c;
 * when every output acknowledged it, its file's commit offset moves and the
 * checkpoint follows. When the window or an output is full or down, the
 * record is held and reading pauses: the log file itself is the buffer.
 * Also here: summaries, signals, statistics, reload and shutdown. */
#include "daemon/run.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/exit.h"
#include "core/setup.h"
#include "core/summary.h"
#include "daemon/checkpoint.h"
#include "daemon/fanout.h"
#include "daemon/fileset.h"
#include "core/inflight.h"
#include "daemon/loop.h"
#include "daemon/notify.h"
#include "daemon/watch.h"

struct stats {
        uint64_t records, bytes, unparsed, truncated, bad_time;
        int64_t paused_ms, paused_since_ms;
};

/* A record the window or an output could not take yet. */
struct held {
        struct follower *f;             /* NULL: none */
        struct frame_record rec;        /* points into f's framer */
        int normalized;                 /* in the window, in setup.ev */
        uint32_t mask;                  /* outputs that still need it */
};

/* Summaries (sum NULL with --no-summaries) and the one being handed out. */
struct sums {
        struct summary *sum;
        uint64_t seq;                   /* its place in the window, 0 = none */
        uint32_t mask;                  /* outputs that still need it */
        int flushed;                    /* shutdown: every open session emitted */
        int64_t log_offset_ms;          /* log time - monotonic time: log_now_ms */
        int log_offset_set;
};

struct run {
        struct shim_opts *o;
        struct setup p;
        struct loop *loop;
        struct fanout out;
        struct inflight *window;
        struct fileset fs;
        struct watch watch;
        struct ckpt_entry *saved;       /* the checkpoint read at start */
        char state_path[PATH_MAX];
        int sigfd;
        int t_ckpt, t_watchdog, t_stats, t_wake;
        int64_t wd_interval_ms;
        int ckpt_warned;
        int stop, reload, print_stats;
        struct held held;
        struct sums sums;
        struct stats st;
};

/* ---- checkpoint -------------------------------------------------------- */

static void on_commit(void *owner, uint64_t end_offset, uint64_t cookie, int status, void *data)
{
        struct run *r = data;

        (void)status;   /* outputs never give up on a record: see sink.h */
        if (owner && follower_commit(owner, end_offset, cookie))
                r->fs.env.ckpt_dirty = 1;
        /* no owner: a summary, with no file offset to move */
}

static int write_checkpoint(struct run *r)
{
        struct ckpt_entry *e;
        struct diag err = { 0 };
        unsigned n;
        int rc;

        for (unsigned i = 0; i < r->out.n; i++) {
                struct sink *k = &r->out.sinks[i];

                if (k->ops->sync && (rc = k->ops->sync(k)) < 0) {
                        log_msg(LOG_LVL_WARNING, "output %s: sync failed: %s; checkpoint postponed",
                                k->target, strerror(-rc));
                        return rc;
                }
        }
        if ((rc = fileset_entries(&r->fs, &e, &n)) < 0)
                return rc;
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
        r->fs.env.ckpt_dirty = 0;
        return 0;
}

static void on_ckpt_timer(void *data)
{
        struct run *r = data;

        if (r->fs.env.ckpt_dirty)
                write_checkpoint(r);
}

/* ---- records ----------------------------------------------------------- */

/* A finished summary (summary.c calls this): it takes a place in the window
 * (with no file, so it moves no checkpoint) and goes to every output, like
 * a record. Returns -EAGAIN to be offered the same summary again. */
static int on_summary(struct event *ev, void *data)
{
        struct run *r = data;

        if (!r->sums.seq) {
                if (!inflight_has_room(r->window, 0))
                        return -EAGAIN;
                r->sums.seq = inflight_push(r->window, NULL, 0, 0, 0);
                r->sums.mask = fanout_all(&r->out);
        }
        ev->seq = r->sums.seq;
        if (fanout_submit(&r->out, ev, &r->sums.mask, "a summary", 0) < 0)
                return -EAGAIN;
        r->sums.seq = 0;
        return 0;
}

/* Summaries refused earlier go out before any later record. */
static int summaries_ready(struct run *r)
{
        return !r->sums.sum || summary_waiting_count(r->sums.sum) == 0 ||
               summary_retry(r->sums.sum) == 0;
}

/* Normalize the held record into the window. -EAGAIN when it must wait. */
static int admit_held(struct run *r)
{
        struct held *h = &r->held;
        struct event *ev = r->p.ev;
        unsigned res;

        if (!summaries_ready(r) || !inflight_has_room(r->window, h->rec.len))
                return -EAGAIN;
        res = norm_record(&r->p.norm, &h->f->nf, &h->rec, ev);
        ev->seq = inflight_push(r->window, h->f, h->rec.end_offset, h->rec.len,
                                follower_cookie(h->f));
        h->f->inflight++;
        h->normalized = 1;
        h->mask = fanout_all(&r->out);
        r->st.records++;
        r->st.bytes += h->rec.len;
        r->st.unparsed += (res & NORM_UNPARSED) != 0;
        r->st.bad_time += (res & NORM_BAD_TIME) != 0;
        r->st.truncated += (h->rec.flags & FRAME_TRUNCATED) != 0;
        return 0;
}

/* Hand the held record to the window and every output that still needs
 * it. Returns 0 when done, -EAGAIN when it must wait. */
static int deliver_held(struct run *r)
{
        struct held *h = &r->held;

        if (!h->normalized && admit_held(r) < 0)
                return -EAGAIN;
        if (fanout_submit(&r->out, r->p.ev, &h->mask, h->f->lf.path, h->rec.offset) < 0)
                return -EAGAIN;
        h->f = NULL;
        fanout_delivered(&r->out);
        /* after the record: the summary follows the record that ends it; a
         * refused one waits in the summaries (summaries_ready) */
        if (r->sums.sum)
                summary_add(r->sums.sum, r->p.ev);
        return 0;
}

/* The follow_env's take: a record of f read from its file. */
static int take_record(struct follower *f, const struct frame_record *rec, void *data)
{
        struct run *r = data;

        if (r->held.f)
                return -EAGAIN;
        r->held = (struct held){ .f = f, .rec = *rec };
        return deliver_held(r);
}

/* ---- watching and signals ---------------------------------------------- */

static void on_name_seen(const char *name, void *data)
{
        fileset_discover(&((struct run *)data)->fs, name);
}

static void on_name_gone(const char *name, void *data)
{
        fileset_name_gone(&((struct run *)data)->fs, name);
}

static int on_rescan(void *data)
{
        struct run *r = data;
        int rc = fileset_rescan(&r->fs);

        fileset_want_all(&r->fs);
        return rc;
}

static const struct watch_ops watch_ops = {
        .name_seen = on_name_seen,
        .name_gone = on_name_gone,
        .rescan = on_rescan,
};

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

/* ---- statistics and the watchdog --------------------------------------- */

static void print_stats(struct run *r, int64_t now)
{
        char status[256];
        struct follower *f;
        uint64_t lag = fileset_lag(&r->fs);
        int64_t paused = r->st.paused_ms + (r->st.paused_since_ms ? now - r->st.paused_since_ms : 0);

        log_msg(LOG_LVL_NOTICE, "stats: records=%llu bytes=%llu unparsed=%llu truncated=%llu "
                "bad_time=%llu inflight=%zu files=%u lag_bytes=%llu paused_ms=%lld",
                (unsigned long long)r->st.records, (unsigned long long)r->st.bytes,
                (unsigned long long)r->st.unparsed, (unsigned long long)r->st.truncated,
                (unsigned long long)r->st.bad_time, inflight_count(r->window), r->fs.n,
                (unsigned long long)lag, (long long)paused);
        LIST_FOREACH(f, &r->fs.files, link)
                if (f->state != FOLLOW_RELEASED && f->state != FOLLOW_VANISHED)
                        log_msg(LOG_LVL_INFO, "stats: %s read=%llu committed=%llu size=%llu lag=%llu",
                                f->lf.name, (unsigned long long)f->read_off,
                                (unsigned long long)f->commit_off, (unsigned long long)f->lf.size,
                                (unsigned long long)follower_lag(f));
        snprintf(status, sizeof(status), "%llu records, %zu in flight, %u files, %llu bytes behind",
                 (unsigned long long)r->st.records, inflight_count(r->window), r->fs.n,
                 (unsigned long long)lag);
        notify_status(status);
}

static void on_stats_timer(void *data)
{
        struct run *r = data;

        r->print_stats = 1;
        loop_timer_arm(r->loop, r->t_stats, loop_now_ms() + (int64_t)r->o->stats_interval_s * 1000);
}

static void on_watchdog_timer(void *data)
{
        struct run *r = data;

        notify_watchdog();
        loop_timer_arm(r->loop, r->t_watchdog, loop_now_ms() + r->wd_interval_ms);
}

static void on_wake_timer(void *data)
{
        (void)data;     /* a deadline of the turn: the turn does the work */
}

/* ---- summaries' clock -------------------------------------------------- */

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
        int64_t seen = summary_clock_ms(r->sums.sum);

        if (seen == INT64_MIN)
                return INT64_MIN;
        if (!r->sums.log_offset_set || seen - now > r->sums.log_offset_ms) {
                r->sums.log_offset_ms = seen - now;
                r->sums.log_offset_set = 1;
        }
        return now + r->sums.log_offset_ms;
}

/* When the oldest open session times out, on the monotonic clock (0: none).
 * Only once every file is read to its end: no record of an open session
 * can still be waiting. */
static int64_t summary_deadline(struct run *r, int64_t now)
{
        int64_t at, log_now;

        if (!r->sums.sum || r->held.f || !fileset_caught_up(&r->fs))
                return 0;
        at = summary_idle_at_ms(r->sums.sum);
        log_now = log_now_ms(r, now);
        if (at == INT64_MAX || log_now == INT64_MIN)
                return 0;
        return at < log_now ? now : now + (at - log_now) + 1;
}

/* ---- set-up ------------------------------------------------------------ */

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
        r->fs.saved = r->saved;
        r->fs.nsaved = n;
        r->fs.first_start = r->saved == NULL;
        return 0;
}

static int setup_summaries(struct run *r)
{
        struct summary_cfg cfg = {
                .max_open = r->o->summary_max_open,
                .idle_ms = (int64_t)r->o->summary_idle_timeout_s * 1000,
                .host_name = r->p.host,
                .zone = r->p.tz.zone,
        };

        if (!r->o->summaries)
                return 0;
        return summary_new(&r->sums.sum, r->p.keys, &cfg, on_summary, r);
}

static int setup_timers(struct run *r)
{
        r->t_ckpt = loop_timer_new(r->loop, on_ckpt_timer, r);
        r->t_watchdog = loop_timer_new(r->loop, on_watchdog_timer, r);
        r->t_stats = loop_timer_new(r->loop, on_stats_timer, r);
        r->t_wake = loop_timer_new(r->loop, on_wake_timer, r);
        if (r->t_ckpt < 0 || r->t_watchdog < 0 || r->t_stats < 0 || r->t_wake < 0)
                return -ENOSPC;
        r->wd_interval_ms = notify_watchdog_interval_ms();
        if (r->wd_interval_ms)
                loop_timer_arm(r->loop, r->t_watchdog, loop_now_ms() + r->wd_interval_ms);
        if (r->o->stats_interval_s)
                loop_timer_arm(r->loop, r->t_stats,
                               loop_now_ms() + (int64_t)r->o->stats_interval_s * 1000);
        return 0;
}

/* Everything up to the first read. Returns an exit status, or -1 to run. */
static int start(struct run *r)
{
        int rc = setup_init(&r->p, r->o);

        if (rc < 0)
                return rc == -ENOMEM ? SHIM_EXIT_FAIL : SHIM_EXIT_USAGE;
        if (setup_summaries(r) < 0)
                return SHIM_EXIT_FAIL;
        r->loop = loop_new();
        if (!r->loop || fileset_init(&r->fs, r->o) < 0 || setup_signals(r) < 0 ||
            setup_timers(r) < 0) {
                log_msg(LOG_LVL_ERR, "start-up failed: %s", strerror(errno));
                return SHIM_EXIT_FAIL;
        }
        r->fs.env.norm = &r->p.norm;
        r->fs.env.take = take_record;
        r->fs.env.data = r;
        if (fanout_init(&r->out, r->o, r->loop) < 0)
                return SHIM_EXIT_USAGE;
        r->window = inflight_new(r->o->max_inflight_records, r->o->max_inflight_bytes, r->out.n,
                                 on_commit, r);
        if (!r->window)
                return SHIM_EXIT_FAIL;
        rc = fanout_open(&r->out, r->p.enc, r->window);
        if (rc < 0)
                return rc == -EINVAL ? SHIM_EXIT_USAGE : SHIM_EXIT_FAIL;
        if (load_state(r) < 0)
                return SHIM_EXIT_USAGE;
        if (watch_start(&r->watch, r->loop, r->o, &watch_ops, r) < 0)
                return SHIM_EXIT_FAIL;
        r->fs.initial_scan = 1;
        if (r->watch.dir_ok)
                (void)fileset_rescan(&r->fs);
        r->fs.initial_scan = 0;
        watch_rescan(&r->watch, 0);
        /* Record the start positions at once: without a checkpoint, a start
         * after a crash would be a first start again and skip to the end
         * of what was written meanwhile. */
        if (r->fs.first_start)
                write_checkpoint(r);
        notify_ready();
        log_msg(LOG_LVL_INFO, "following %s (%u files), checkpoint %s", r->o->logs, r->fs.n,
                r->state_path);
        return -1;
}

/* ---- the loop ---------------------------------------------------------- */

static void do_reload(struct run *r)
{
        struct setup np;
        struct follower *f;

        r->reload = 0;
        fanout_reopen(&r->out);
        if (setup_init(&np, r->o) < 0) {
                log_msg(LOG_LVL_ERR, "SIGHUP: mappings not reloaded; keeping the old ones");
                setup_done(&np);
                return;
        }
        setup_done(&r->p);
        r->p = np;
        if (r->sums.sum && summary_set_keys(r->sums.sum, r->p.keys) < 0)
                log_msg(LOG_LVL_ERR, "SIGHUP: summaries stopped: out of memory");
        /* np pointed into itself, on this stack: point into the copy */
        r->p.norm.ctx.tz = &r->p.tz;
        r->p.norm.host_name = r->p.host;
        LIST_FOREACH(f, &r->fs.files, link) {
                /* nf holds texts of the old mappings (log_type): build it
                 * again, and carry the date state over */
                struct norm_file old = f->nf;

                norm_file_init(&f->nf, &r->p.norm, f->lf.path, f->lf.type, 1, f->lf.y, f->lf.mo,
                               f->lf.d);
                f->nf.day = old.day;
                f->nf.has_day = old.has_day;
                f->nf.last_tod = old.last_tod;
                f->nf.last_ms = old.last_ms;
        }
        log_msg(LOG_LVL_NOTICE, "SIGHUP: outputs reopened, mappings reloaded from %s",
                r->p.mappings_dir);
}

/* What waits (refused summaries, the held record) goes first; a down
 * output is not asked again before its back-off ends. 0 when nothing
 * waits any more. */
static int retry_waiting(struct run *r)
{
        int waiting = r->held.f || (r->sums.sum && summary_waiting_count(r->sums.sum));

        if (!waiting)
                return 0;
        if (r->out.retry_ms && loop_now_ms() < r->out.retry_ms)
                return -EAGAIN;
        r->out.retry_ms = 0;
        if (!summaries_ready(r))
                return -EAGAIN;
        return r->held.f ? deliver_held(r) : 0;
}

/* One turn of reading; returns 1 when there is more to read right away. */
static int pump(struct run *r)
{
        if (retry_waiting(r) < 0)
                return 0;
        return fileset_pump(&r->fs) > 0;
}

static void account_pause(struct run *r, int64_t now)
{
        if (r->held.f && !r->st.paused_since_ms)
                r->st.paused_since_ms = now;
        if (!r->held.f && r->st.paused_since_ms) {
                r->st.paused_ms += now - r->st.paused_since_ms;
                r->st.paused_since_ms = 0;
        }
}

static int64_t min_deadline(int64_t a, int64_t b)
{
        return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

/* The work of a turn that depends on time, and the next deadline. */
static void tick(struct run *r, int64_t now)
{
        int64_t d = 0;

        (void)fileset_tick(&r->fs, now);
        if (r->sums.sum) {
                /* every turn, so that the bound is taken close to the read */
                int64_t log_now = log_now_ms(r, now);

                if (!r->held.f && fileset_caught_up(&r->fs))
                        summary_expire(r->sums.sum, log_now);
        }
        if (r->fs.env.ckpt_dirty && !loop_timer_when(r->loop, r->t_ckpt))
                loop_timer_arm(r->loop, r->t_ckpt, now + (int64_t)r->o->checkpoint_interval_ms);
        if (r->print_stats) {
                r->print_stats = 0;
                print_stats(r, now);
        }
        if (!r->held.f)
                d = fileset_deadline(&r->fs, now);
        else if (r->out.retry_ms)
                d = r->out.retry_ms;
        d = min_deadline(d, summary_deadline(r, now));
        loop_timer_arm(r->loop, r->t_wake, d);
}

/* How long the loop may sleep when no descriptor and no timer wakes it:
 * an output that holds data but gives no descriptor to watch, or a held
 * record waiting on one, is asked again soon. */
static int idle_cap_ms(const struct run *r)
{
        if (r->out.busy)
                return r->out.busy_unwatched ? 10 : -1;
        if (r->held.f && !r->out.retry_ms)
                return 100;
        return -1;
}

static void shutdown_run(struct run *r)
{
        int64_t deadline = loop_now_ms() + (int64_t)r->o->shutdown_timeout_ms;

        notify_stopping();
        log_msg(LOG_LVL_INFO, "stopping: emitting pending records, waiting for outputs");
        for (;;) {
                int pending = 0;

                if (r->held.f && deliver_held(r) < 0)
                        pending = 1;
                if (!pending && fileset_drain_all(&r->fs) < 0)
                        pending = 1;
                if (!pending && r->sums.sum) {
                        /* sessions still open are emitted as partial */
                        if (!r->sums.flushed) {
                                r->sums.flushed = 1;
                                summary_flush_all(r->sums.sum, SUMMARY_END_SHUTDOWN);
                        }
                        if (summary_retry(r->sums.sum) < 0)
                                pending = 1;
                }
                fanout_flush(&r->out, deadline);
                if ((!pending && inflight_count(r->window) == 0) || r->out.fatal ||
                    loop_now_ms() >= deadline)
                        break;
                loop_wait(r->loop, 50);
        }
        if (inflight_count(r->window))
                log_msg(LOG_LVL_WARNING, "stopping with %zu records unacknowledged; they are "
                        "sent again at the next start", inflight_count(r->window));
        if (write_checkpoint(r) < 0)
                log_msg(LOG_LVL_ERR, "the last checkpoint could not be written: records since "
                        "the one before are sent again at the next start");
        print_stats(r, loop_now_ms());
}

static void finish(struct run *r)
{
        fanout_close(&r->out);
        fileset_done(&r->fs);
        watch_stop(&r->watch);
        summary_free(r->sums.sum);
        inflight_free(r->window);
        if (r->sigfd >= 0)
                close(r->sigfd);
        loop_free(r->loop);
        free(r->saved);
        setup_done(&r->p);
}

int run_main(struct shim_opts *o, const char *argv0)
{
        struct run *r = calloc(1, sizeof(*r));
        int status;

        (void)argv0;
        if (!r)
                return SHIM_EXIT_FAIL;
        r->o = o;
        r->sigfd = -1;
        r->watch.infd = -1;
        status = start(r);
        if (status < 0) {
                while (!r->stop && !r->out.fatal) {
                        int64_t now;
                        int more = pump(r);

                        now = loop_now_ms();
                        account_pause(r, now);
                        tick(r, now);
                        if (r->reload && !r->held.f)
                                do_reload(r);
                        /* before waiting: what pump and the timers emitted goes out */
                        fanout_flush(&r->out, 0);
                        loop_wait(r->loop, more ? 0 : idle_cap_ms(r));
                }
                shutdown_run(r);
                status = r->out.fatal ? SHIM_EXIT_FAIL : SHIM_EXIT_OK;
        }
        finish(r);
        free(r);
        return status;
}
