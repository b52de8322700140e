/* SPDX-License-Identifier: MIT */
/* smartermail-shim: argv, wiring and modes. "parse" reads files (or
 * standard input) once and writes one JSON event per record to standard
 * output; "check-config" loads a config file as "run" would, checks its
 * outputs, and prints the effective settings. Exit codes: 0 done, 1 an
 * input or output failed or memory ran out, 2 usage or configuration
 * error (systemd does not restart after a 2). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/exit.h"
#include "core/encode_json.h"
#include "core/event.h"
#include "core/frame.h"
#include "base/log.h"
#include "core/mapping.h"
#include "core/normalize.h"
#include "base/options.h"
#include "core/setup.h"
#include "query/progress.h"
#include "query/report.h"
#include "daemon/run.h"
#include "query/search.h"
#include "outputs/sink.h"
#include "core/stamp.h"
#include "core/summary.h"

#ifndef SHIM_VERSION
#define SHIM_VERSION "0.1.0"
#endif

#define READ_CHUNK (256u * 1024u)       /* bytes per read() */
#define OUT_FLUSH (128u * 1024u)        /* write when this much is pending */
#define OUT_MAX (256u * 1024u * 1024u)  /* one event can never be this large */

/* The exit status for a setting, config file or mapping that failed to
 * load with r. Running out of memory (or of descriptors, or a read error)
 * is not the config's fault: a restart may cure it, and systemd does not
 * restart after a 2 (RestartPreventExitStatus=2). */
static int load_status(int r)
{
        return r == -ENOMEM || r == -EMFILE || r == -ENFILE || r == -EIO ? SHIM_EXIT_FAIL
                                                                          : SHIM_EXIT_USAGE;
}

struct shim {
        struct shim_opts opts;
        struct setup p;
        struct keys *keys;              /* the fields command's own */
        struct mapping_set *maps;
        struct frame *frame;
        struct buf out;
        char *chunk;
        int out_failed;         /* standard output is gone: stop */
        uint64_t records;
        uint64_t seq;                   /* events written: records and summaries */
        struct summary *sum;            /* NULL with --no-summaries */
        struct progress progress;       /* parse on a terminal */
};

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: smartermail-shim run [OPTIONS]\n"
                "       smartermail-shim parse [OPTIONS] FILE...\n"
                "       smartermail-shim search [OPTIONS] STRING [FILE...]\n"
                "       smartermail-shim report [OPTIONS] [FILE...]\n"
                "       smartermail-shim fields [--mappings DIR]\n"
                "       smartermail-shim check-config FILE\n"
                "       smartermail-shim --help | --version\n"
                "\n"
                "run     follows a SmarterMail log directory and forwards every record, with a\n"
                "        checkpoint so that nothing is lost across restarts.\n"
                "parse   reads SmarterMail log files once and writes one JSON event per record\n"
                "        to standard output. FILE may be '-' for standard input (give --type and\n"
                "        --date). The log type and date come from a YYYY.MM.DD-TYPE.log name.\n"
                "        On a terminal, standard error shows files done, MB/s and the time left.\n"
                "        A summary event follows each SMTP session and delivery (--no-summaries).\n"
                "search  finds records in the logs and their .log.zip archives; --related prints\n"
                "        whole sessions, --trace follows a message to its delivery (search --help).\n"
                "report  summarizes a day or a range of logs (report --help).\n"
                "fields  lists every field the built-in code and the mappings can set.\n"
                "check-config  loads a config file for run and checks its outputs without\n"
                "        connecting; prints every problem as FILE:LINE: KEY: PROBLEM (exit 2), or\n"
                "        the effective settings (exit 0).\n"
                "\n"
                "Options:\n");
        opts_help(f, MODE_RUN | MODE_PARSE | MODE_FIELDS);
        fprintf(f, "\nExit status: 0 done, 1 an input or output failed or memory ran out, 2 usage or\n"
                "configuration error.\n");
}

static int flush_out(struct shim *sh)
{
        size_t off = 0;

        while (off < sh->out.len) {
                ssize_t w = write(STDOUT_FILENO, sh->out.p + off, sh->out.len - off);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0) {
                        sh->out_failed = 1;
                        progress_clear(&sh->progress);
                        log_msg(LOG_LVL_ERR, "writing to standard output: %s", strerror(errno));
                        return -errno;
                }
                off += (size_t)w;
        }
        sh->out.len = 0;
        return 0;
}

/* A finished summary: written like a record's event. */
static int on_summary(struct event *ev, void *data)
{
        struct shim *sh = data;

        if (sh->out_failed)
                return -EPIPE;
        ev->seq = ++sh->seq;
        if (encode_json(ev, sh->p.enc, &sh->out) < 0) {
                progress_clear(&sh->progress);
                log_msg(LOG_LVL_ERR, "a summary event is too large to encode");
                return -ENOMEM;
        }
        if (sh->out.len >= OUT_FLUSH)
                return flush_out(sh);
        return 0;
}

static int emit(struct shim *sh, struct norm_file *nf, const struct frame_record *rec)
{
        norm_record(&sh->p.norm, nf, rec, sh->p.ev);
        sh->records++;
        sh->p.ev->seq = ++sh->seq;
        if (encode_json(sh->p.ev, sh->p.enc, &sh->out) < 0) {
                progress_clear(&sh->progress);
                log_msg(LOG_LVL_ERR, "%s: offset %llu: event too large to encode",
                        nf->path ? nf->path : "-", (unsigned long long)rec->offset);
                return -ENOMEM;
        }
        if (sh->sum) {
                /* after the record: the summary follows the record that ends it */
                summary_add(sh->sum, sh->p.ev);
                if (sh->out_failed)
                        return -EPIPE;
        }
        if (sh->out.len >= OUT_FLUSH)
                return flush_out(sh);
        return 0;
}

/* Today's local date, for input that has none. */
static void today(int *y, int *mo, int *d)
{
        time_t now = time(NULL);
        struct tm tm;

        localtime_r(&now, &tm);
        *y = tm.tm_year + 1900;
        *mo = tm.tm_mon + 1;
        *d = tm.tm_mday;
}

static int parse_one(struct shim *sh, const char *path)
{
        struct norm_file nf;
        struct frame_record rec;
        char type[64] = "";
        int y = 0, mo = 0, d = 0, has_date = 0, fd, r = 0;
        int is_stdin = strcmp(path, "-") == 0;

        if (!is_stdin && norm_name_info(path, type, sizeof(type), &y, &mo, &d) == 0)
                has_date = 1;
        if (sh->opts.type[0])
                snprintf(type, sizeof(type), "%s", sh->opts.type);
        if (sh->opts.date[0]) {
                stamp_parse_date(sh->opts.date, strlen(sh->opts.date), &y, &mo, &d);
                has_date = 1;
        }
        fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                progress_clear(&sh->progress);
                log_msg(LOG_LVL_ERR, "%s: %s", path, strerror(-r));
                return r;
        }
        if (!type[0] || !has_date)
                progress_clear(&sh->progress);
        if (!type[0])
                log_msg(LOG_LVL_WARNING, "%s: the name does not say the log type "
                        "(YYYY.MM.DD-TYPE.log); reading it with the generic rules (--type sets it)",
                        path);
        if (!has_date) {
                struct stat st;
                struct tm tm;

                if (!is_stdin && fstat(fd, &st) == 0 && localtime_r(&st.st_mtime, &tm)) {
                        y = tm.tm_year + 1900;
                        mo = tm.tm_mon + 1;
                        d = tm.tm_mday;
                } else {
                        today(&y, &mo, &d);
                }
                log_msg(LOG_LVL_WARNING, "%s: no date in the name; lines without one are "
                        "dated %04d.%02d.%02d (--date sets it)", path, y, mo, d);
        }
        norm_file_init(&nf, &sh->p.norm, is_stdin ? NULL : path, type, 1, y, mo, d);
        frame_reset(sh->frame, 0);
        for (;;) {
                ssize_t got = read(fd, sh->chunk, READ_CHUNK);

                if (got < 0 && errno == EINTR)
                        continue;
                if (got < 0) {
                        r = -errno;
                        progress_clear(&sh->progress);
                        log_msg(LOG_LVL_ERR, "%s: read: %s", path, strerror(-r));
                        break;
                }
                if (got == 0)
                        break;
                progress_bytes(&sh->progress, (uint64_t)got);
                frame_feed(sh->frame, sh->chunk, (size_t)got);
                while (frame_next(sh->frame, &rec))
                        if ((r = emit(sh, &nf, &rec)) < 0)
                                goto out;
        }
        while (frame_flush(sh->frame, 1, &rec))
                if ((r = emit(sh, &nf, &rec)) < 0)
                        break;
out:
        if (!is_stdin)
                close(fd);
        return r;
}

static int setup(struct shim *sh)
{
        int r;

        if (sh->opts.date[0]) {
                int y, mo, d;
                if (stamp_parse_date(sh->opts.date, strlen(sh->opts.date), &y, &mo, &d) < 0 ||
                    !stamp_date_valid(y, mo, d)) {
                        log_msg(LOG_LVL_ERR, "--date: '%s' is not a date YYYY.MM.DD", sh->opts.date);
                        return SHIM_EXIT_USAGE;
                }
        }
        r = setup_init(&sh->p, &sh->opts);
        if (r < 0)
                return r == -ENOMEM ? SHIM_EXIT_FAIL : SHIM_EXIT_USAGE;
        sh->frame = frame_new(sh->opts.max_record_bytes);
        sh->chunk = malloc(READ_CHUNK);
        buf_init(&sh->out, OUT_MAX);
        if (!sh->frame || !sh->chunk || buf_reserve(&sh->out, OUT_FLUSH * 2) < 0) {
                log_msg(LOG_LVL_ERR, "out of memory");
                return SHIM_EXIT_FAIL;
        }
        if (sh->opts.summaries) {
                struct summary_cfg cfg = {
                        .max_open = sh->opts.summary_max_open,
                        .idle_ms = (int64_t)sh->opts.summary_idle_timeout_s * 1000,
                        .host_name = sh->p.host,
                        .zone = sh->p.tz.zone,
                };
                if (summary_new(&sh->sum, sh->p.keys, &cfg, on_summary, sh) < 0) {
                        log_msg(LOG_LVL_ERR, "out of memory");
                        return SHIM_EXIT_FAIL;
                }
        }
        return 0;
}

static void teardown(struct shim *sh)
{
        summary_free(sh->sum);
        buf_done(&sh->out);
        free(sh->chunk);
        frame_free(sh->frame);
        setup_done(&sh->p);
        mapping_free(sh->maps);
        keys_free(sh->keys);
        opts_free(&sh->opts);
}

/* The inputs' total size for the progress line; 0 when one has no size
 * known in advance (standard input, a pipe, a file that is not there). */
static uint64_t inputs_size(int n, char **paths)
{
        uint64_t total = 0;
        struct stat st;

        for (int i = 0; i < n; i++) {
                if (strcmp(paths[i], "-") == 0 || stat(paths[i], &st) < 0 || !S_ISREG(st.st_mode))
                        return 0;
                total += (uint64_t)st.st_size;
        }
        return total;
}

static int cmd_parse(struct shim *sh, int argc, char **argv)
{
        struct diag err = { 0 };
        int first, r, status = 0;

        first = opts_parse(&sh->opts, MODE_PARSE, argc, argv, &err);
        if (first < 0) {
                diag_print(&err);
                return load_status(first);
        }
        if (sh->opts.help) {
                usage(stdout);
                return 0;
        }
        if (sh->opts.verbose)
                log_max_level = LOG_LVL_INFO;
        if (first >= argc) {
                log_msg(LOG_LVL_ERR, "parse: no FILE given (use - for standard input; see --help)");
                return SHIM_EXIT_USAGE;
        }
        r = setup(sh);
        if (r)
                return r;
        progress_start(&sh->progress, "parse", (unsigned)(argc - first),
                       inputs_size(argc - first, argv + first), 0);
        for (int i = first; i < argc; i++) {
                /* a bad input file is reported and the others still read */
                if (parse_one(sh, argv[i]) < 0)
                        status = SHIM_EXIT_FAIL;
                progress_file_done(&sh->progress);
                if (sh->out_failed)
                        break;
        }
        if (sh->sum && !sh->out_failed)
                summary_flush_all(sh->sum, SUMMARY_END_INPUT);
        progress_end(&sh->progress);
        if (sh->out_failed || flush_out(sh) < 0)
                return SHIM_EXIT_FAIL;
        log_msg(LOG_LVL_INFO, "%llu records", (unsigned long long)sh->records);
        return status;
}

/* The value of --config/-c in argv, if any (read before the other options,
 * which override the file). */
static const char *find_config(int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--"))
                        break;
                if ((!strcmp(argv[i], "--config") || !strcmp(argv[i], "-c")) && i + 1 < argc)
                        return argv[i + 1];
                if (!strncmp(argv[i], "--config=", 9))
                        return argv[i] + 9;
        }
        return NULL;
}

/* Load the config file at path for run. Returns 0 or the exit status,
 * with every problem printed, then verdict when the file itself is bad. */
static int load_config(struct shim *sh, const char *path, const char *verdict)
{
        struct diag err = { 0 };
        int r = opts_load_config(&sh->opts, MODE_RUN, path, &err);

        if (r == 0)
                return 0;
        /* -EINVAL: each bad line was printed as it was found */
        if (r == -EINVAL)
                log_msg(LOG_LVL_ERR, "%s: %s", path, verdict);
        else
                diag_print(&err);
        return load_status(r);
}

/* Check the outputs before any is opened. Returns 0 or the exit status. */
static int check_outputs(struct shim *sh)
{
        int r = sink_check_outputs(&sh->opts);

        if (r == -ENOMEM)
                log_msg(LOG_LVL_ERR, "out of memory checking the outputs");
        return r < 0 ? load_status(r) : 0;
}

static int cmd_run(struct shim *sh, int argc, char **argv)
{
        struct diag err = { 0 };
        const char *cfg = find_config(argc, argv);
        int first, r;

        if (cfg && (r = load_config(sh, cfg, "not started")))
                return r;
        first = opts_parse(&sh->opts, MODE_RUN, argc, argv, &err);
        if (first < 0) {
                diag_print(&err);
                return load_status(first);
        }
        if (sh->opts.help) {
                usage(stdout);
                return 0;
        }
        if (first < argc) {
                log_msg(LOG_LVL_ERR, "run: unexpected argument '%s' (see --help)", argv[first]);
                return SHIM_EXIT_USAGE;
        }
        if (sh->opts.verbose)
                log_max_level = LOG_LVL_INFO;
        /* a bad output setting stops here, before any output connects */
        if ((r = check_outputs(sh))) {
                if (r == SHIM_EXIT_USAGE)
                        log_msg(LOG_LVL_ERR, "run: not started (the outputs' settings, above)");
                return r;
        }
        if (geteuid() == 0 && !sh->opts.allow_root) {
                log_msg(LOG_LVL_ERR, "run: refusing to run as root: the daemon needs only read "
                        "access to the logs and its state directory (run it as its own user, as "
                        "the systemd unit does, or pass --allow-root)");
                return SHIM_EXIT_USAGE;
        }
        return run_main(&sh->opts, argv[0]);
}

/* Load a config file as run does, then build the pipeline from it (zone,
 * mappings) and check its outputs as run does; print every problem, or the
 * effective settings as a config file. */
static int cmd_check_config(struct shim *sh, int argc, char **argv)
{
        char tmp[PATH_MAX + 16];
        const char *path, *dir;
        int r, status = 0;

        if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
                usage(stdout);
                return 0;
        }
        if (argc != 2) {
                log_msg(LOG_LVL_ERR, "check-config: give exactly one config FILE (see --help)");
                return SHIM_EXIT_USAGE;
        }
        path = argv[1];
        if ((r = load_config(sh, path, "not valid")))
                return r;
        /* setup_init() says nothing when the directory cannot be opened */
        dir = setup_mappings_dir(sh->opts.mappings, tmp, sizeof(tmp));
        if (access(dir, R_OK | X_OK) < 0) {
                r = -errno;
                log_msg(LOG_LVL_ERR, "%s: mappings: %s: %s", path, dir, strerror(-r));
                status = load_status(r);
        } else if ((r = setup_init(&sh->p, &sh->opts)) < 0) {
                if (r == -ENOMEM)
                        return SHIM_EXIT_FAIL;         /* setup_init said so */
                status = SHIM_EXIT_USAGE;
        }
        /* the outputs too, whatever the mappings did: every problem at once */
        if ((r = check_outputs(sh)) == SHIM_EXIT_FAIL)
                return r;
        if (status || r) {
                log_msg(LOG_LVL_ERR, "%s: the settings load, but run would not start (above)",
                        path);
                return status ? status : r;
        }
        printf("# %s: no problems found. The effective settings, defaults included:\n", path);
        opts_dump(stdout, &sh->opts);
        return fflush(stdout) == 0 ? 0 : SHIM_EXIT_FAIL;
}

/* Load the mappings only, and list every field name in output order. */
static int cmd_fields(struct shim *sh, int argc, char **argv)
{
        char tmp[PATH_MAX + 16];
        struct diag err = { 0 };
        const char *dir;
        const struct key *sorted[KEYS_MAX];
        int r;

        if ((r = opts_parse(&sh->opts, MODE_FIELDS, argc, argv, &err)) < 0) {
                diag_print(&err);
                return load_status(r);
        }
        if (sh->opts.help) {
                usage(stdout);
                return 0;
        }
        sh->keys = keys_new();
        if (!sh->keys || summary_keys_register(sh->keys) < 0) {
                log_msg(LOG_LVL_ERR, "out of memory");
                return SHIM_EXIT_FAIL;
        }
        dir = setup_mappings_dir(sh->opts.mappings, tmp, sizeof(tmp));
        r = mapping_load(&sh->maps, dir, sh->keys, 1, &err);
        if (r == -ENOMEM)
                log_msg(LOG_LVL_ERR, "out of memory loading mappings");
        else if (r == -ENOENT || r == -EACCES)
                diag_print(&err);       /* the directory itself: not printed yet */
        if (r < 0)
                return load_status(r);
        if (keys_finish(sh->keys, &err) < 0) {
                err.file = dir;
                diag_print(&err);
                return SHIM_EXIT_USAGE;
        }
        for (unsigned i = 0; i < sh->keys->n; i++)
                sorted[sh->keys->k[i].rank] = &sh->keys->k[i];
        for (unsigned i = 0; i < sh->keys->n; i++)
                printf("%s\n", sorted[i]->name);
        return 0;
}

/* search and report: their options, then their own module. */
static int cmd_query(struct shim *sh, unsigned mode, int argc, char **argv)
{
        struct diag err = { 0 };
        int first = opts_parse(&sh->opts, mode, argc, argv, &err);

        if (first < 0) {
                diag_print(&err);
                return load_status(first);
        }
        if (sh->opts.help) {
                printf("Usage: smartermail-shim %s\n\nOptions:\n", mode == MODE_SEARCH
                       ? "search [OPTIONS] STRING [FILE...]" : "report [OPTIONS] [FILE...]");
                opts_help(stdout, mode);
                return 0;
        }
        if (sh->opts.verbose)
                log_max_level = LOG_LVL_INFO;
        if (mode == MODE_SEARCH)
                return search_main(&sh->opts, argc - first, argv + first, stdout);
        return report_main(&sh->opts, argc - first, argv + first, stdout);
}

int main(int argc, char **argv)
{
        struct shim sh;
        int r;

        memset(&sh, 0, sizeof(sh));
        if (opts_defaults(&sh.opts) < 0) {
                log_msg(LOG_LVL_ERR, "out of memory");
                opts_free(&sh.opts);    /* the defaults set before it */
                return SHIM_EXIT_FAIL;
        }
        if (argc >= 2 && strcmp(argv[1], "parse") == 0) {
                r = cmd_parse(&sh, argc - 1, argv + 1);
        } else if (argc >= 2 && strcmp(argv[1], "run") == 0) {
                r = cmd_run(&sh, argc - 1, argv + 1);
        } else if (argc >= 2 && strcmp(argv[1], "search") == 0) {
                r = cmd_query(&sh, MODE_SEARCH, argc - 1, argv + 1);
        } else if (argc >= 2 && strcmp(argv[1], "report") == 0) {
                r = cmd_query(&sh, MODE_REPORT, argc - 1, argv + 1);
        } else if (argc >= 2 && strcmp(argv[1], "fields") == 0) {
                r = cmd_fields(&sh, argc - 1, argv + 1);
        } else if (argc >= 2 && strcmp(argv[1], "check-config") == 0) {
                r = cmd_check_config(&sh, argc - 1, argv + 1);
        } else if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
                usage(stdout);
                r = 0;
        } else if (argc >= 2 && !strcmp(argv[1], "--version")) {
                printf("smartermail-shim %s\n", SHIM_VERSION);
                r = 0;
        } else if (argc >= 2 && !strcmp(argv[1], "--options-markdown")) {
                opts_markdown(stdout);
                r = 0;
        } else if (argc == 2 && !strcmp(argv[1], "--config-template")) {
                opts_config_template(stdout);
                r = 0;
        } else if (argc == 3 && !strcmp(argv[1], "--man-options")) {
                /* the generated part of the man pages (make man) */
                r = opts_man(stdout, atoi(argv[2])) < 0 ? SHIM_EXIT_USAGE : 0;
        } else {
                usage(stderr);
                r = SHIM_EXIT_USAGE;
        }
        teardown(&sh);
        return r;
}
