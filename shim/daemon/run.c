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
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/exit.h"
#include "core/inflight.h"
#include "core/setup.h"
#include "daemon/checkpoint.h"
#include "daemon/fanout.h"
#include "daemon/fileset.h"
#include "daemon/handoff.h"
#include "daemon/loop.h"
#include "daemon/notify.h"
#include "daemon/watch.h"

struct run {
        struct shim_opts *o;
        struct setup p;
        struct loop *loop;
        struct fanout out;
        struct inflight *window;
        struct fileset fs;
        struct watch watch;
        struct ckpt_entry *saved;       /* the checkpoint read at start */
        int nsaved;
        char state_path[PATH_MAX];
        int sigfd;
        int lockfd;                     /* flock on state/lock, -1 none */
        int t_ckpt, t_watchdog, t_stats, t_wake;
        int64_t wd_interval_ms;
        int64_t next_ckpt_ms;           /* checkpoints at most once an interval */
        int ckpt_warned;
        int stop, reload, print_stats;
        struct handoff h;
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
        r->next_ckpt_ms = loop_now_ms() + (int64_t)r->o->checkpoint_interval_ms;
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

/* Blocked first thing, so that a signal during start-up waits for the
 * loop instead of ending the process half started. */
static const int handled_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };

static void block_signals(sigset_t *set)
{
        sigemptyset(set);
        for (size_t i = 0; i < sizeof(handled_signals) / sizeof(handled_signals[0]); i++)
                sigaddset(set, handled_signals[i]);
        (void)sigprocmask(SIG_BLOCK, set, NULL);        /* fails only for a bad how */
        signal(SIGPIPE, SIG_IGN);       /* a closed output is an EPIPE, not a death */
}

static int setup_signals(struct run *r)
{
        sigset_t set;

        block_signals(&set);
        r->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (r->sigfd < 0)
                return -errno;
        return loop_add(r->loop, r->sigfd, EPOLLIN, on_signal, r);
}

/* ---- statistics and the watchdog --------------------------------------- */

static void print_stats(struct run *r, int64_t now)
{
        char status[256];
        const struct handoff_counts *c = &r->h.n;
        struct follower *f;
        uint64_t lag = fileset_lag(&r->fs);
        int64_t paused = c->paused_ms + (c->paused_since_ms ? now - c->paused_since_ms : 0);
        /* the unparsed rate in hundredths of a percent, in integers (cut,
         * not rounded); 0.00 before the first record */
        uint64_t pct = c->records ? c->unparsed * 10000 / c->records : 0;

        log_msg(LOG_LVL_NOTICE, "stats: records=%llu bytes=%llu unparsed=%llu unparsed_pct=%llu.%02llu "
                "truncated=%llu bad_time=%llu inflight=%zu files=%u lag_bytes=%llu paused_ms=%lld",
                (unsigned long long)c->records, (unsigned long long)c->bytes,
                (unsigned long long)c->unparsed, (unsigned long long)(pct / 100),
                (unsigned long long)(pct % 100), (unsigned long long)c->truncated,
                (unsigned long long)c->bad_time, inflight_count(r->window), r->fs.n,
                (unsigned long long)lag, (long long)paused);
        LIST_FOREACH(f, &r->fs.files, link)
                if (f->state != FOLLOW_RELEASED && f->state != FOLLOW_VANISHED)
                        log_msg(LOG_LVL_INFO, "stats: %s read=%llu committed=%llu size=%llu lag=%llu",
                                f->lf.name, (unsigned long long)f->read_off,
                                (unsigned long long)f->commit_off, (unsigned long long)f->lf.size,
                                (unsigned long long)follower_lag(f));
        snprintf(status, sizeof(status), "%llu records, %zu in flight, %u files, %llu bytes behind",
                 (unsigned long long)c->records, inflight_count(r->window), r->fs.n,
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

/* ---- set-up ------------------------------------------------------------ */

/* An exclusive lock on the state directory (state/lock, holding our pid):
 * two daemons on one checkpoint would send every record twice and fight
 * over its temporary file. The lock goes with the process, crash included. */
static int lock_state(struct run *r)
{
        char path[PATH_MAX], pid[32] = "";
        ssize_t n;

        /* the unit's StateDirectory= makes it; by hand, one level is made */
        if (mkdir(r->o->state, 0700) < 0 && errno != EEXIST)
                log_msg(LOG_LVL_WARNING, "%s: cannot create the state directory: %s", r->o->state,
                        strerror(errno));
        snprintf(path, sizeof(path), "%s/lock", r->o->state);
        r->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (r->lockfd < 0) {
                log_msg(LOG_LVL_ERR, "%s: %s; refusing to start without a state directory "
                        "(--state)", path, strerror(errno));
                return -errno;
        }
        if (flock(r->lockfd, LOCK_EX | LOCK_NB) < 0) {
                int e = errno;

                n = pread(r->lockfd, pid, sizeof(pid) - 1, 0);
                pid[n > 0 ? n : 0] = '\0';
                pid[strcspn(pid, "\n")] = '\0';
                if (e == EWOULDBLOCK)
                        log_msg(LOG_LVL_ERR, "%s is in use by another smartermail-shim (pid %s); "
                                "refusing to start: two daemons on one state directory would "
                                "send every record twice", r->o->state, pid[0] ? pid : "unknown");
                else
                        log_msg(LOG_LVL_ERR, "%s: lock: %s", path, strerror(e));
                return -EBUSY;
        }
        n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
        if (ftruncate(r->lockfd, 0) < 0 || pwrite(r->lockfd, pid, (size_t)n, 0) != n)
                log_msg(LOG_LVL_WARNING, "%s: cannot record the pid: %s", path, strerror(errno));
        return 0;
}

static int load_state(struct run *r)
{
        struct diag err = { 0 };
        int n;

        snprintf(r->state_path, sizeof(r->state_path), "%s/checkpoint.json", r->o->state);
        n = ckpt_load(r->state_path, &r->saved, &err);
        if (n < 0) {
                diag_print(&err);
                log_msg(LOG_LVL_ERR, "refusing to start: move the damaged checkpoint away to "
                        "start over (files are then read per --from)");
                return n;
        }
        r->nsaved = n;
        return 0;
}

/* systemd's default soft limit on descriptors is 1024; a log directory
 * holds months of daily files of about 30 types. The hard limit is ours
 * to take. */
static void raise_fd_limit(void)
{
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                        log_msg(LOG_LVL_WARNING, "cannot raise the descriptor limit: %s",
                                strerror(errno));
        }
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

/* The log directory setting, the descriptor limit, the state lock and the
 * checkpoint: first, so that a damaged checkpoint or a second daemon stops
 * the start before any output creates or connects anything. Returns an
 * exit status, or -1 to go on. */
static int start_state(struct run *r)
{
        int rc;

        if (!r->o->logs || !r->o->logs[0]) {
                struct diag err = { 0 };

                opts_where(r->o, "logs", 0, &err);
                snprintf(err.text, sizeof(err.text), "no log directory given");
                diag_print(&err);
                return SHIM_EXIT_USAGE;
        }
        raise_fd_limit();
        rc = lock_state(r);
        if (rc < 0)
                return rc == -EBUSY ? SHIM_EXIT_USAGE : SHIM_EXIT_FAIL;
        if (load_state(r) < 0)
                return SHIM_EXIT_USAGE;
        return -1;
}

/* The loop, the followed files and the outputs. Returns an exit status, or
 * -1 to go on. */
static int start_parts(struct run *r)
{
        int rc;

        r->loop = loop_new();
        if (!r->loop || fileset_init(&r->fs, r->o) < 0 || setup_signals(r) < 0 ||
            setup_timers(r) < 0) {
                log_msg(LOG_LVL_ERR, "start-up failed: %s", strerror(errno));
                return SHIM_EXIT_FAIL;
        }
        r->fs.saved = r->saved;
        r->fs.nsaved = r->nsaved;
        r->fs.first_start = r->saved == NULL;
        r->fs.env.norm = &r->p.norm;
        r->fs.env.take = handoff_take;
        r->fs.env.data = &r->h;
        if (fanout_init(&r->out, r->o, r->loop) < 0)
                return SHIM_EXIT_USAGE;
        r->window = inflight_new(r->o->max_inflight_records, r->o->max_inflight_bytes, r->out.n,
                                 on_commit, r);
        if (!r->window)
                return SHIM_EXIT_FAIL;
        r->h.window = r->window;
        r->h.out = &r->out;
        rc = fanout_open(&r->out, r->p.enc, r->window);
        if (rc < 0)
                return rc == -EINVAL ? SHIM_EXIT_USAGE : SHIM_EXIT_FAIL;
        return watch_start(&r->watch, r->loop, r->o, &watch_ops, r) < 0 ? SHIM_EXIT_FAIL : -1;
}

/* Everything up to the first read. Returns an exit status, or -1 to run. */
static int start(struct run *r)
{
        int rc = start_state(r);

        if (rc >= 0)
                return rc;
        rc = setup_init(&r->p, r->o);
        if (rc < 0)
                return rc == -ENOMEM ? SHIM_EXIT_FAIL : SHIM_EXIT_USAGE;
        if (handoff_init(&r->h, &r->p, r->o) < 0)
                return SHIM_EXIT_FAIL;
        if ((rc = start_parts(r)) >= 0)
                return rc;
        r->fs.initial_scan = 1;
        if (r->watch.dir_ok)
                (void)fileset_rescan(&r->fs);
        r->fs.initial_scan = 0;
        watch_rescan(&r->watch, 0);
        /* Record the start positions at once, before reading: without a
         * checkpoint, the next start would be a first start again and skip
         * to the end of what was written meanwhile. A first start that
         * cannot write one does not start (systemd tries again later). */
        if (r->fs.first_start && write_checkpoint(r) < 0) {
                log_msg(LOG_LVL_ERR, "refusing to start: the first checkpoint could not be "
                        "written to %s, and without it the next start would skip what is "
                        "written meanwhile", r->state_path);
                return SHIM_EXIT_FAIL;
        }
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
        if (r->h.sum && summary_set_keys(r->h.sum, r->p.keys) < 0)
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

/* One turn of reading; returns 1 when there is more to read right away. */
static int pump(struct run *r)
{
        if (handoff_retry(&r->h) < 0)
                return 0;
        return fileset_pump(&r->fs) > 0;
}

static int64_t min_deadline(int64_t a, int64_t b)
{
        return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

/* The work of a turn that depends on time, and the next deadline. */
static void tick(struct run *r, int64_t now)
{
        int64_t d = 0;

        /* a record is handed out only when it can be taken: the reader
         * does not give it back */
        fileset_tick(&r->fs, now, !handoff_waiting(&r->h));
        handoff_expire(&r->h, now, fileset_caught_up(&r->fs));
        if (r->print_stats) {
                r->print_stats = 0;
                print_stats(r, now);
        }
        if (!r->h.f)
                d = fileset_deadline(&r->fs, now);
        else if (r->out.retry_ms)
                d = r->out.retry_ms;
        d = min_deadline(d, handoff_summary_deadline(&r->h, now, fileset_caught_up(&r->fs)));
        loop_timer_arm(r->loop, r->t_wake, d);
}

/* How long the loop may sleep when no descriptor and no timer wakes it:
 * an output that holds data but gives no descriptor to watch, or a held
 * record waiting on one, is asked again soon. */
static int idle_cap_ms(const struct run *r)
{
        if (r->out.busy)
                return r->out.busy_unwatched ? 10 : -1;
        if (r->h.f && !r->out.retry_ms)
                return 100;
        return -1;
}

/* One turn of the loop: read, the work that depends on time, hand what
 * was emitted to the outputs, then sleep until a descriptor or a timer. */
static void turn(struct run *r)
{
        size_t before;
        int64_t now;
        int more = pump(r);

        now = loop_now_ms();
        handoff_account(&r->h, now);
        tick(r, now);
        if (r->reload && !r->h.f)
                do_reload(r);
        /* before waiting: what pump and the timers emitted goes out */
        before = inflight_count(r->window);
        fanout_flush(&r->out, 0);
        /* acknowledgements just now made room for what waits: no
         * descriptor will say so again */
        if (handoff_waiting(&r->h) && inflight_count(r->window) < before)
                more = 1;
        /* and may have moved offsets */
        if (r->fs.env.ckpt_dirty && !loop_timer_when(r->loop, r->t_ckpt))
                loop_timer_arm(r->loop, r->t_ckpt, r->next_ckpt_ms > now ? r->next_ckpt_ms : now);
        loop_wait(r->loop, more ? 0 : idle_cap_ms(r));
}

static void shutdown_run(struct run *r)
{
        int64_t deadline = loop_now_ms() + (int64_t)r->o->shutdown_timeout_ms;

        notify_stopping();
        log_msg(LOG_LVL_INFO, "stopping: emitting pending records, waiting for outputs");
        for (;;) {
                int pending = 0;

                if (handoff_retry(&r->h) < 0)
                        pending = 1;
                if (!pending && fileset_drain_all(&r->fs) < 0)
                        pending = 1;
                if (!pending && handoff_flush_summaries(&r->h) < 0)
                        pending = 1;
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
        handoff_done(&r->h);
        inflight_free(r->window);
        if (r->sigfd >= 0)
                close(r->sigfd);
        if (r->lockfd >= 0)
                close(r->lockfd);
        loop_free(r->loop);
        free(r->saved);
        setup_done(&r->p);
}

int run_main(struct shim_opts *o, const char *argv0)
{
        struct run *r = calloc(1, sizeof(*r));
        sigset_t set;
        int status;

        (void)argv0;
        block_signals(&set);
        if (!r)
                return SHIM_EXIT_FAIL;
        r->o = o;
        r->sigfd = r->lockfd = -1;
        r->watch.infd = -1;
        status = start(r);
        if (status < 0) {
                while (!r->stop && !r->out.fatal)
                        turn(r);
                shutdown_run(r);
                status = r->out.fatal ? SHIM_EXIT_FAIL : SHIM_EXIT_OK;
        }
        finish(r);
        free(r);
        return status;
}
