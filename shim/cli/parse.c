/* SPDX-License-Identifier: MIT */
/* parse: each input read once through the record reader, normalized,
 * encoded as JSON and written to standard output in large writes, with the
 * summaries between the records that end them. A bad input is reported and
 * the others still read; standard output gone stops everything. On a
 * terminal, progress.c shows files done and the time left. */
#include "cli/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/exit.h"
#include "base/log.h"
#include "core/encode_json.h"
#include "core/normalize.h"
#include "core/reader.h"
#include "core/setup.h"
#include "core/stamp.h"
#include "core/summary.h"
#include "query/progress.h"

#define OUT_FLUSH (128u * 1024u)        /* write when this much is pending */
#define OUT_MAX (256u * 1024u * 1024u)  /* one event can never be this large */

struct parse {
        const struct shim_opts *o;
        struct setup p;
        struct reader *rd;
        struct buf out;
        int out_failed;         /* standard output is gone: stop */
        uint64_t records;
        uint64_t seq;                   /* events written: records and summaries */
        struct summary *sum;            /* NULL with --no-summaries */
        struct progress progress;       /* on a terminal */
};

/* The date and type of an input, from its name and the options. */
struct input_info {
        char type[64];                  /* "" when nothing says */
        int y, mo, d;
        int has_date;
};

static int flush_out(struct parse *pa)
{
        size_t off = 0;

        while (off < pa->out.len) {
                ssize_t w = write(STDOUT_FILENO, pa->out.p + off, pa->out.len - off);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0) {
                        pa->out_failed = 1;
                        progress_clear(&pa->progress);
                        log_msg(LOG_LVL_ERR, "writing to standard output: %s", strerror(errno));
                        return -errno;
                }
                off += (size_t)w;
        }
        pa->out.len = 0;
        return 0;
}

/* A finished summary: written like a record's event. */
static int on_summary(struct event *ev, void *data)
{
        struct parse *pa = data;

        if (pa->out_failed)
                return -EPIPE;
        ev->seq = ++pa->seq;
        if (encode_json(ev, pa->p.enc, &pa->out) < 0) {
                progress_clear(&pa->progress);
                log_msg(LOG_LVL_ERR, "a summary event is too large to encode");
                return -ENOMEM;
        }
        if (pa->out.len >= OUT_FLUSH)
                return flush_out(pa);
        return 0;
}

static int emit(struct parse *pa, struct norm_file *nf, const struct frame_record *rec)
{
        norm_record(&pa->p.norm, nf, rec, pa->p.ev);
        pa->records++;
        pa->p.ev->seq = ++pa->seq;
        if (encode_json(pa->p.ev, pa->p.enc, &pa->out) < 0) {
                progress_clear(&pa->progress);
                log_msg(LOG_LVL_ERR, "%s: offset %llu: event too large to encode",
                        nf->path ? nf->path : "-", (unsigned long long)rec->offset);
                return -ENOMEM;
        }
        if (pa->sum) {
                /* after the record: the summary follows the record that ends it */
                summary_add(pa->sum, pa->p.ev);
                if (pa->out_failed)
                        return -EPIPE;
        }
        if (pa->out.len >= OUT_FLUSH)
                return flush_out(pa);
        return 0;
}

/* The type and date from a YYYY.MM.DD-TYPE.log name, then --type and
 * --date over them. */
static void input_name(const struct parse *pa, const char *path, struct input_info *in)
{
        memset(in, 0, sizeof(*in));
        if (strcmp(path, "-") != 0 &&
            norm_name_info(path, in->type, sizeof(in->type), &in->y, &in->mo, &in->d) == 0)
                in->has_date = 1;
        if (pa->o->type[0])
                snprintf(in->type, sizeof(in->type), "%s", pa->o->type);
        if (pa->o->date[0]) {
                stamp_parse_date(pa->o->date, strlen(pa->o->date), &in->y, &in->mo, &in->d);
                in->has_date = 1;
        }
}

/* What the name and options do not say: the generic rules, and the file's
 * modification day (standard input: today) for lines without a date. */
static void input_guess(struct parse *pa, const char *path, int fd, struct input_info *in)
{
        struct stat st;
        struct tm tm;
        time_t when;

        if (!in->type[0] || !in->has_date)
                progress_clear(&pa->progress);
        if (!in->type[0])
                log_msg(LOG_LVL_WARNING, "%s: the name does not say the log type "
                        "(YYYY.MM.DD-TYPE.log); reading it with the generic rules (--type sets it)",
                        path);
        if (in->has_date)
                return;
        if (strcmp(path, "-") != 0 && fstat(fd, &st) == 0)
                when = st.st_mtime;
        else
                when = time(NULL);
        if (stamp_local_tm(when, &tm) < 0) {
                when = time(NULL);
                stamp_local_tm(when, &tm);
        }
        in->y = tm.tm_year + 1900;
        in->mo = tm.tm_mon + 1;
        in->d = tm.tm_mday;
        log_msg(LOG_LVL_WARNING, "%s: no date in the name; lines without one are "
                "dated %04d.%02d.%02d (--date sets it)", path, in->y, in->mo, in->d);
}

/* Every record of fd. Returns 0 or the first error (reported). */
static int read_input(struct parse *pa, struct norm_file *nf, int fd, const char *path)
{
        struct frame_record rec;
        ssize_t got;
        int r = 0;

        reader_start(pa->rd, 0);
        do {
                got = reader_read(pa->rd, fd);
                if (got < 0) {
                        /* what was read before the error is still written */
                        r = (int)got;
                        progress_clear(&pa->progress);
                        log_msg(LOG_LVL_ERR, "%s: read: %s", path, strerror(-r));
                        reader_flush(pa->rd, 1);
                } else {
                        progress_bytes(&pa->progress, (uint64_t)got);
                }
                while (reader_next(pa->rd, &rec)) {
                        int e = emit(pa, nf, &rec);

                        if (e < 0)
                                return e;
                }
        } while (got > 0);
        return r;
}

static int parse_one(struct parse *pa, const char *path)
{
        struct input_info in;
        struct norm_file nf;
        int is_stdin = strcmp(path, "-") == 0;
        int fd, r;

        input_name(pa, path, &in);
        fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                progress_clear(&pa->progress);
                log_msg(LOG_LVL_ERR, "%s: %s", path, strerror(-r));
                return r;
        }
        input_guess(pa, path, fd, &in);
        norm_file_init(&nf, &pa->p.norm, is_stdin ? NULL : path, in.type, 1, in.y, in.mo, in.d);
        r = read_input(pa, &nf, fd, path);
        if (!is_stdin)
                close(fd);
        return r;
}

static int setup(struct parse *pa)
{
        const struct shim_opts *o = pa->o;
        int r;

        if (o->date[0]) {
                int y, mo, d;
                if (stamp_parse_date(o->date, strlen(o->date), &y, &mo, &d) < 0 ||
                    !stamp_date_valid(y, mo, d)) {
                        log_msg(LOG_LVL_ERR, "--date: '%s' is not a date YYYY.MM.DD", o->date);
                        return SHIM_EXIT_USAGE;
                }
        }
        r = setup_init(&pa->p, o);
        if (r < 0)
                return r == -ENOMEM ? SHIM_EXIT_FAIL : SHIM_EXIT_USAGE;
        pa->rd = reader_new(o->max_record_bytes, READER_CHUNK);
        buf_init(&pa->out, OUT_MAX);
        if (!pa->rd || buf_reserve(&pa->out, OUT_FLUSH * 2) < 0) {
                log_msg(LOG_LVL_ERR, "out of memory");
                return SHIM_EXIT_FAIL;
        }
        if (o->summaries) {
                struct summary_cfg cfg = setup_summary_cfg(&pa->p, o);

                if (summary_new(&pa->sum, pa->p.keys, &cfg, on_summary, pa) < 0) {
                        log_msg(LOG_LVL_ERR, "out of memory");
                        return SHIM_EXIT_FAIL;
                }
        }
        return 0;
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

static int parse_all(struct parse *pa, int argc, char **argv)
{
        int status = SHIM_EXIT_OK;

        progress_start(&pa->progress, "parse", (unsigned)argc, inputs_size(argc, argv), 0);
        for (int i = 0; i < argc; i++) {
                /* a bad input file is reported and the others still read */
                if (parse_one(pa, argv[i]) < 0)
                        status = SHIM_EXIT_FAIL;
                progress_file_done(&pa->progress);
                if (pa->out_failed)
                        break;
        }
        if (pa->sum && !pa->out_failed)
                summary_flush_all(pa->sum, SUMMARY_END_INPUT);
        progress_end(&pa->progress);
        if (pa->out_failed || flush_out(pa) < 0)
                return SHIM_EXIT_FAIL;
        log_msg(LOG_LVL_INFO, "%llu records", (unsigned long long)pa->records);
        return status;
}

int parse_main(const struct shim_opts *o, int argc, char **argv)
{
        struct parse pa = { .o = o };
        int status;

        if (argc < 1) {
                log_msg(LOG_LVL_ERR, "parse: no FILE given (use - for standard input; see --help)");
                return SHIM_EXIT_USAGE;
        }
        status = setup(&pa);
        if (status == 0)
                status = parse_all(&pa, argc, argv);
        summary_free(pa.sum);
        buf_done(&pa.out);
        reader_free(pa.rd);
        setup_done(&pa.p);
        return status;
}
