/* SPDX-License-Identifier: MIT */
/* The Nth allocation fails (malloc, calloc, realloc and strdup called from
 * the shim's objects; see inject.h), for N = 1, 2, ... until an operation
 * runs without reaching its Nth call: once with only that call failing,
 * once with every call from it on failing. Each run must end in success or
 * -ENOMEM, leave its outputs as the contracts say, and free everything
 * (built with ASan, LeakSanitizer looks after every run). The operations:
 *   parse       setup_init with mappings/, one frame, every tests/cases
 *               and samples log and a file of long lines, fed in pieces,
 *               norm_record, encode_json;
 *   checkpoint  ckpt_commit over an older checkpoint, then ckpt_load;
 *   config      opts_load_config of a file that sets every kind of key;
 *   exit status main.c's commands (shim_main: see run.sh) loading a config:
 *               check-config of a good file and of a bad one, run --config
 *               with an output that is not one. Out of memory must exit 1,
 *               and say so; never 2, which is for configuration errors
 *               (systemd does not restart after it).
 * A parse may also succeed past a failed allocation where the code chose to
 * degrade (the frame keeps what fits, as at its ceiling): its events must
 * then be the clean run's, except records flagged truncated that keep the
 * start of their record (event.original a prefix). The number of
 * allocation calls each operation makes is printed. Run from the top of
 * the repository (tests/fault/run.sh does). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libfastjson/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/checkpoint.h"
#include "core/encode_json.h"
#include "core/frame.h"
#include "inject.h"
#include "core/normalize.h"
#include "base/options.h"
#include "core/setup.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define HAVE_LSAN 1
#else
#define HAVE_LSAN 0
#endif

/* As in main.c's parse: the output buffer's ceiling, and how much of it is
 * written out at a time. */
#define OUT_MAX (256u * 1024u * 1024u)
#define OUT_FLUSH (256u * 1024u)
/* Feed size: odd, so that lines are cut between feeds and the frame's
 * line buffer takes part. */
#define FEED_BYTES 997u
#define INPUTS_MAX 64
/* A run past this many calls means the loop does not end. */
#define CALLS_MAX 100000ul

/* One operation under test. begin and end run unarmed around each run. */
struct fault_op {
        const char *name;
        void (*begin)(void *ctx);
        int (*run)(void *ctx);          /* 0 or a negative errno */
        /* check the outcome and free what run handed out; failed: whether
         * an allocation was made to fail */
        void (*end)(void *ctx, int r, int failed, unsigned long n);
};

/* ---- parse ------------------------------------------------------------ */

struct input {
        char path[PATH_MAX];
        char *text;
        size_t len;
};

struct parse_ctx {
        struct shim_opts o;
        struct setup p;
        struct input in[INPUTS_MAX];
        unsigned n;
        FILE *acc;              /* the events written (libc's memory) */
        char *acc_p;
        size_t acc_len;
        char *want;             /* the clean run's events */
        size_t want_len;
        unsigned long calls_init, calls_frame; /* calls up to these steps */
        unsigned same, cut;     /* runs that succeeded past a failure, with
                                   the clean run's events or with records cut */
};

static char *read_whole(const char *path, size_t *ret_len)
{
        FILE *f = fopen(path, "rb");
        char *text;
        long n;

        assert_non_null(f);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        n = ftell(f);
        assert_true(n >= 0);
        rewind(f);
        text = malloc((size_t)n + 1);
        assert_non_null(text);
        assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        *ret_len = (size_t)n;
        return text;
}

/* n letters that never repeat in a short period, so that a gap in a
 * copy shows. */
static void letters(char *p, size_t n, unsigned seed)
{
        for (size_t i = 0; i < n; i++) {
                seed = seed * 1103515245u + 12345u;
                p[i] = (char)('a' + (seed >> 16) % 26);
        }
}

/* The logs in the repository have short lines. This one makes the frame's
 * buffers grow: a 5000-byte line, a record of 40 continuation lines
 * (about 20 KiB), a 100 KiB line (cut at the 64 KiB ceiling) and short
 * lines between them. */
static char *big_input(size_t *ret_len)
{
        const size_t cap = 200u * 1024u;
        char *p = malloc(cap);
        size_t n = 0;

        assert_non_null(p);
#define PUT(...) (n += (size_t)snprintf(p + n, cap - n, __VA_ARGS__))
        PUT("09:00:00.000 [192.0.2.1][1234] connected at 9/18/2026 9:00:00 AM\r\n");
        PUT("09:00:01.000 [192.0.2.1][1234] cmd: EHLO ");
        letters(p + n, 5000, 1);
        n += 5000;
        PUT("\r\n");
        PUT("09:00:02.000 Exception: boom\r\n");
        for (int i = 0; i < 40; i++)
                PUT("   at Some.Namespace.Type%02d.Method(String arg%0400d)\r\n", i, i);
        PUT("09:00:03.000 [192.0.2.1][1234] cmd: DATA ");
        letters(p + n, 100u * 1024u, 2);
        n += 100u * 1024u;
        PUT("\r\n09:00:04.000 [192.0.2.1][1234] disconnected\r\n");
#undef PUT
        assert_true(n < cap - 1);
        *ret_len = n;
        return p;
}

static void parse_setup(struct parse_ctx *c)
{
        static const char *const set[][2] = {
                { "timezone", "America/Chicago" }, { "host-name", "mail01" },
                { "mappings", "mappings" },
        };
        static const char *const pats[] = { "tests/cases/*/*.log", "samples/*.log" };
        struct diag err = { 0 };

        assert_int_equal(opts_defaults(&c->o), 0);
        for (size_t i = 0; i < ARRAY_SIZE(set); i++)
                assert_int_equal(opts_set(&c->o, opts_find(set[i][0], MODE_PARSE), set[i][1],
                                          &err), 0);
        for (size_t i = 0; i < ARRAY_SIZE(pats); i++) {
                glob_t g;

                assert_int_equal(glob(pats[i], 0, NULL, &g), 0);
                for (size_t k = 0; k < g.gl_pathc; k++) {
                        struct input *in = &c->in[c->n++];

                        assert_true(c->n <= INPUTS_MAX);
                        snprintf(in->path, sizeof(in->path), "%s", g.gl_pathv[k]);
                        in->text = read_whole(in->path, &in->len);
                }
                globfree(&g);
        }
        snprintf(c->in[c->n].path, sizeof(c->in[c->n].path), "big/2026.09.18-smtpLog.log");
        c->in[c->n].text = big_input(&c->in[c->n].len);
        c->n++;
}

static void parse_begin(void *ctx)
{
        struct parse_ctx *c = ctx;

        c->acc = open_memstream(&c->acc_p, &c->acc_len);
        assert_non_null(c->acc);
}

static int flush_out(struct parse_ctx *c, struct buf *out)
{
        if (out->len && fwrite(out->p, 1, out->len, c->acc) != out->len)
                return -EIO;
        out->len = 0;
        return 0;
}

static int emit(struct parse_ctx *c, struct norm_file *nf, const struct frame_record *rec,
                struct buf *out)
{
        norm_record(&c->p.norm, nf, rec, c->p.ev);
        if (encode_json(c->p.ev, c->p.enc, out) < 0)
                return -ENOMEM;
        return out->len >= OUT_FLUSH ? flush_out(c, out) : 0;
}

static int parse_file(struct parse_ctx *c, struct frame *f, const struct input *in,
                      struct buf *out)
{
        struct frame_record rec;
        struct norm_file nf;
        char type[64];
        int y, mo, d, r;

        assert_int_equal(norm_name_info(in->path, type, sizeof(type), &y, &mo, &d), 0);
        norm_file_init(&nf, &c->p.norm, in->path, type, 1, y, mo, d);
        frame_reset(f, 0);
        for (size_t pos = 0; pos < in->len; pos += FEED_BYTES) {
                size_t n = in->len - pos < FEED_BYTES ? in->len - pos : FEED_BYTES;

                frame_feed(f, in->text + pos, n);
                while (frame_next(f, &rec))
                        if ((r = emit(c, &nf, &rec, out)) < 0)
                                return r;
        }
        while (frame_flush(f, 1, &rec))
                if ((r = emit(c, &nf, &rec, out)) < 0)
                        return r;
        return 0;
}

/* What main.c's parse does, minus reading files and the summaries. */
static int parse_run(void *ctx)
{
        struct parse_ctx *c = ctx;
        struct frame *f = NULL;
        struct buf out;
        int r;

        buf_init(&out, OUT_MAX);
        r = setup_init(&c->p, &c->o);
        c->calls_init = inject_alloc.calls;
        if (r < 0)
                goto done;
        f = frame_new(c->o.max_record_bytes);
        if (!f || buf_reserve(&out, OUT_FLUSH * 2) < 0) {
                r = -ENOMEM;
                goto done;
        }
        c->calls_frame = inject_alloc.calls;
        for (unsigned i = 0; i < c->n && r == 0; i++)
                r = parse_file(c, f, &c->in[i], &out);
        if (r == 0)
                r = flush_out(c, &out);
done:
        buf_done(&out);
        frame_free(f);
        setup_done(&c->p);
        return r;
}

/* The next line of p[0..len) at *pos, without its '\n'. */
static int next_line(const char *p, size_t len, size_t *pos, const char **ret, size_t *ret_len)
{
        const char *nl;

        if (*pos >= len)
                return 0;
        nl = memchr(p + *pos, '\n', len - *pos);
        *ret = p + *pos;
        *ret_len = nl ? (size_t)(nl - *ret) : len - *pos;
        *pos += *ret_len + 1;
        return 1;
}

/* event.original of one ECS event (a copy to free), or NULL. */
static char *original_of(const char *line, size_t len)
{
        fjson_object *root, *ev, *v;
        char *text = strndup(line, len), *ret = NULL;

        assert_non_null(text);
        root = fjson_tokener_parse(text);
        free(text);
        assert_non_null(root);
        if (fjson_object_object_get_ex(root, "event", &ev) &&
            fjson_object_object_get_ex(ev, "original", &v))
                ret = strdup(fjson_object_get_string(v));
        fjson_object_put(root);
        return ret;
}

/* A degraded run: the same number of events, and each one that differs is
 * flagged truncated and keeps the start of the clean run's record. */
static void same_but_truncated(const struct parse_ctx *c, unsigned long n)
{
        size_t a = 0, b = 0, la = 0, lb = 0;
        const char *pa = NULL, *pb = NULL;
        unsigned line = 0;

        for (;;) {
                int ha = next_line(c->want, c->want_len, &a, &pa, &la);
                int hb = next_line(c->acc_p, c->acc_len, &b, &pb, &lb);

                line++;
                if (!ha && !hb)
                        return;
                if (ha != hb) {
                        print_error("parse, N=%lu: %s events than the clean run (at %u)\n", n,
                                    ha ? "fewer" : "more", line);
                        fail();
                }
                if (la == lb && memcmp(pa, pb, la) == 0)
                        continue;
                if (!memmem(pb, lb, "\"truncated\"", 11)) {
                        print_error("parse, N=%lu: event %u differs and is not flagged "
                                    "truncated\n", n, line);
                        tu_bytes_equal("event", pa, la, pb, lb);
                }
                {
                        char *oa = original_of(pa, la), *ob = original_of(pb, lb);

                        assert_non_null(oa);
                        assert_non_null(ob);
                        if (strncmp(oa, ob, strlen(ob)) != 0) {
                                print_error("parse, N=%lu: event %u: the truncated "
                                            "event.original is not the start of the "
                                            "record\n", n, line);
                                tu_str_equal("event.original", oa, ob);
                        }
                        free(oa);
                        free(ob);
                }
        }
}

static void parse_end(void *ctx, int r, int failed, unsigned long n)
{
        struct parse_ctx *c = ctx;

        assert_int_equal(fclose(c->acc), 0);
        if (!c->want) {
                /* the clean run: the reference */
                assert_int_equal(r, 0);
                assert_true(c->acc_len > 0);
                c->want = c->acc_p;
                c->want_len = c->acc_len;
                printf("parse: %lu allocation calls in setup_init, %lu for the frame and "
                       "the output buffer, %lu while parsing %u files\n", c->calls_init,
                       c->calls_frame - c->calls_init, inject_alloc.calls - c->calls_frame,
                       c->n);
                return;
        }
        if (r == 0 && !failed)
                tu_bytes_equal("parse: events of a run without a failure", c->want,
                               c->want_len, c->acc_p, c->acc_len);
        else if (r == 0 && c->acc_len == c->want_len &&
                 memcmp(c->acc_p, c->want, c->want_len) == 0)
                c->same++;
        else if (r == 0) {
                same_but_truncated(c, n);
                c->cut++;
        }
        free(c->acc_p);
        c->acc_p = NULL;
}

static void parse_teardown(struct parse_ctx *c)
{
        for (unsigned i = 0; i < c->n; i++)
                free(c->in[i].text);
        free(c->want);
        opts_free(&c->o);
}

/* ---- checkpoint ------------------------------------------------------- */

#define CKPT_ENTRIES 24         /* about 10 KiB of JSON: the buffer grows twice */

struct ckpt_ctx {
        char dir[256], path[300];
        struct ckpt_entry old[2], e[CKPT_ENTRIES];
        struct ckpt_entry *loaded;
        int stage;              /* 1 commit, 2 load */
};

static void ckpt_fill(struct ckpt_entry *e, unsigned i, unsigned salt)
{
        memset(e, 0, sizeof(*e));
        snprintf(e->name, sizeof(e->name), i == 3 ? "2026.02.%02u-odd \"name\"\\.log"
                                                  : "2026.02.%02u-smtpLog.log", i + 1);
        e->dev = 2049 + salt;
        e->ino = 1000000u + i * 7919u + salt;
        e->offset = (uint64_t)i * 123457u + salt;
        e->day = 20500 + i;
        e->last_tod = (int32_t)(i * 3600 + salt) % 86400;
        e->fp_len = CKPT_FP_BYTES - (i % 3);
        for (uint32_t k = 0; k < e->fp_len; k++)
                e->fp[k] = (unsigned char)(k * 31 + i + salt);
}

static void ckpt_equal(const char *what, const struct ckpt_entry *want, unsigned n,
                       const struct ckpt_entry *got, int got_n)
{
        assert_int_equal(got_n, (int)n);
        for (unsigned i = 0; i < n; i++) {
                tu_str_equal(what, want[i].name, got[i].name);
                assert_true(want[i].dev == got[i].dev && want[i].ino == got[i].ino &&
                            want[i].offset == got[i].offset && want[i].day == got[i].day &&
                            want[i].last_tod == got[i].last_tod &&
                            want[i].fp_len == got[i].fp_len &&
                            memcmp(want[i].fp, got[i].fp, want[i].fp_len) == 0);
        }
}

static void ckpt_setup(struct ckpt_ctx *c)
{
        tu_tmpdir(c->dir, sizeof(c->dir));
        snprintf(c->path, sizeof(c->path), "%s/checkpoint.json", c->dir);
        for (unsigned i = 0; i < ARRAY_SIZE(c->old); i++)
                ckpt_fill(&c->old[i], i, 1);
        for (unsigned i = 0; i < CKPT_ENTRIES; i++)
                ckpt_fill(&c->e[i], i, 2);
}

/* An older checkpoint is in place before each run. */
static void ckpt_begin(void *ctx)
{
        struct ckpt_ctx *c = ctx;
        struct diag err = { 0 };

        assert_int_equal(ckpt_commit(c->path, c->old, ARRAY_SIZE(c->old), &err), 0);
        c->loaded = NULL;
        c->stage = 0;
}

static int ckpt_run(void *ctx)
{
        struct ckpt_ctx *c = ctx;
        struct diag err = { 0 };
        int r;

        c->stage = 1;
        r = ckpt_commit(c->path, c->e, CKPT_ENTRIES, &err);
        if (r < 0)
                return r;
        c->stage = 2;
        r = ckpt_load(c->path, &c->loaded, &err);
        return r < 0 ? r : 0;
}

static void ckpt_end(void *ctx, int r, int failed, unsigned long n)
{
        struct ckpt_ctx *c = ctx;
        struct ckpt_entry *e = NULL;
        struct diag err = { 0 };
        char tmp[320];
        int got;

        (void)failed;
        (void)n;
        if (r == 0) {
                ckpt_equal("loaded", c->e, CKPT_ENTRIES, c->loaded, CKPT_ENTRIES);
                free(c->loaded);
                return;
        }
        /* the failed step left the file as it was: old before a commit,
         * new once the commit was done; and handed nothing out */
        assert_null(c->loaded);
        got = ckpt_load(c->path, &e, &err);
        if (c->stage == 1)
                ckpt_equal("after a failed commit", c->old, ARRAY_SIZE(c->old), e, got);
        else
                ckpt_equal("after a failed load", c->e, CKPT_ENTRIES, e, got);
        free(e);
        snprintf(tmp, sizeof(tmp), "%s.tmp", c->path);
        assert_int_equal(access(tmp, F_OK), -1);
}

/* ---- config ----------------------------------------------------------- */

/* Every kind of key: text (quoted and not), list (both spellings), enum,
 * boolean, size and number, and comments. */
static const char config_text[] =
        "# smartermail-shim\n"
        "timezone = America/Chicago\n"
        "host-name = mail01   # a comment after a value\n"
        "mappings = mappings\n"
        "logs = /var/lib/smartermail/Logs\n"
        "state = /var/lib/smartermail-shim\n"
        "output = stdout,file:/var/log/smartermail-shim/events.json\n"
        "types = smtpLog,delivery\n"
        "syslog-target = tls://logs.example.com:6514\n"
        "syslog-tls-key = /etc/smartermail-shim/client.key\n"
        "syslog-app-name = \" smartermail # shim \"\n"
        "kafka-topic = smartermail.{type}\n"
        "kafka.security.protocol = SASL_SSL\n"
        "kafka.sasl.mechanism = PLAIN\n"
        "kafka.sasl.username = shim\n"
        "kafka.sasl.password = not-a-real-secret\n"
        "kafka-property = linger.ms=5\n"
        "max-record-bytes = 128K\n"
        "checkpoint-interval-ms = 500\n"
        "original = false\n"
        "encoding = flat\n";

struct config_ctx {
        char dir[256], path[300];
        struct shim_opts o;
        char *want;             /* opts_dump of the clean run */
};

static char *dump(const struct shim_opts *o)
{
        char *p = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&p, &n);

        assert_non_null(f);
        opts_dump(f, o);
        assert_int_equal(fclose(f), 0);
        return p;
}

static void config_begin(void *ctx)
{
        struct config_ctx *c = ctx;

        assert_int_equal(opts_defaults(&c->o), 0);
}

static int config_run(void *ctx)
{
        struct config_ctx *c = ctx;
        struct diag err = { 0 };

        return opts_load_config(&c->o, MODE_RUN, c->path, &err);
}

static void config_end(void *ctx, int r, int failed, unsigned long n)
{
        struct config_ctx *c = ctx;
        char *got;

        if (r < 0) {
                /* a failed setting keeps its old value: nothing is NULL */
                for (const struct opt_spec *s = shim_options; s->name; s++)
                        if (s->type == OPT_STR && !*(char **)((char *)&c->o + s->off)) {
                                print_error("config, N=%lu: %s is NULL after -ENOMEM\n", n,
                                            s->name);
                                fail();
                        }
        } else {
                got = dump(&c->o);
                if (!c->want) {
                        c->want = got;
                } else {
                        if (failed) {
                                print_error("config, N=%lu: loaded although an allocation "
                                            "failed\n", n);
                                fail();
                        }
                        tu_str_equal("config: settings", c->want, got);
                        free(got);
                }
        }
        opts_free(&c->o);
}

/* ---- exit status ------------------------------------------------------ */

int shim_main(int argc, char **argv);   /* main.c's main(), renamed by run.sh */

#define EXIT_ARGS_MAX 8

/* Every output that has a check (syslog: the target; kafka: each property
 * set on a librdkafka configuration). */
static const char exit_config_good[] =
        "mappings = mappings\n"
        "timezone = America/Chicago\n"
        "host-name = mail01\n"
        "output = stdout,syslog,kafka\n"
        "syslog-target = udp://127.0.0.1:514\n"
        "kafka-brokers = 127.0.0.1:9092\n"
        "kafka.security.protocol = SASL_SSL\n"
        "kafka.sasl.mechanism = PLAIN\n"
        "kafka.sasl.username = shim\n"
        "kafka.sasl.password = not-a-real-secret\n"
        "kafka-property = linger.ms=5\n"
        "max-record-bytes = 128K\n";

struct exit_ctx {
        const char *name;
        char *argv[EXIT_ARGS_MAX + 1];  /* and a NULL, as main() gets it */
        int argc;
        int want;               /* the status of a run without a failure */
        int may_absorb;         /* a failure may be absorbed (setup_init
                                   degrades): want is then right too */
        int null_fd, capture_fd;
        int status;
};

/* args: up to EXIT_ARGS_MAX, ended early by a NULL */
static void exit_setup(struct exit_ctx *c, const char *name, int want, int may_absorb,
                       const char *const *args)
{
        memset(c, 0, sizeof(*c));
        c->name = name;
        c->want = want;
        c->may_absorb = may_absorb;
        for (; c->argc < EXIT_ARGS_MAX && args[c->argc]; c->argc++) {
                c->argv[c->argc] = strdup(args[c->argc]);
                assert_non_null(c->argv[c->argc]);
        }
}

static void exit_teardown(struct exit_ctx *c)
{
        for (int i = 0; i < c->argc; i++)
                free(c->argv[i]);
}

static void exit_begin(void *ctx)
{
        struct exit_ctx *c = ctx;
        FILE *f = tmpfile();

        assert_non_null(f);
        c->capture_fd = dup(fileno(f));
        fclose(f);
        c->null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        assert_true(c->capture_fd >= 0 && c->null_fd >= 0);
}

/* The command with its standard output dropped and its standard error
 * kept for exit_end. Returns -ENOMEM for the status of out of memory. */
static int exit_run(void *ctx)
{
        struct exit_ctx *c = ctx;
        int out = dup(STDOUT_FILENO), err = dup(STDERR_FILENO);

        fflush(stdout);
        dup2(c->null_fd, STDOUT_FILENO);
        dup2(c->capture_fd, STDERR_FILENO);
        c->status = shim_main(c->argc, c->argv);
        fflush(stdout);
        dup2(out, STDOUT_FILENO);
        dup2(err, STDERR_FILENO);
        close(out);
        close(err);
        return c->status == 1 ? -ENOMEM : 0;
}

static void exit_end(void *ctx, int r, int failed, unsigned long n)
{
        struct exit_ctx *c = ctx;
        char text[8192];
        ssize_t got;
        int ok, oom;

        (void)r;
        assert_int_equal(lseek(c->capture_fd, 0, SEEK_SET), 0);
        got = read(c->capture_fd, text, sizeof(text) - 1);
        assert_true(got >= 0);
        text[got] = '\0';
        close(c->capture_fd);
        close(c->null_fd);
        oom = strstr(text, "out of memory") != NULL;
        if (!failed)
                ok = c->status == c->want && !oom;
        else
                ok = (c->status == 1 && oom) || (c->may_absorb && c->status == c->want && !oom);
        if (!ok && failed)
                print_error("%s, N=%lu: exit status %d, want 1 saying out of memory%s; it "
                            "said:\n%s\n", c->name, n, c->status,
                            c->may_absorb ? " (or a clean run's)" : "", text);
        else if (!ok)
                print_error("%s: exit status %d, want %d; it said:\n%s\n", c->name, c->status,
                            c->want, text);
        if (!ok)
                fail();
}

/* ---- the driver ------------------------------------------------------- */

static void leak_check(const char *name, unsigned long n, int persist)
{
#if HAVE_LSAN
        if (__lsan_do_recoverable_leak_check()) {
                print_error("%s, N=%lu%s: memory leaked (report above)\n", name, n,
                            persist ? " and after" : "");
                fail();
        }
#else
        (void)name;
        (void)n;
        (void)persist;
#endif
}

/* setup_init and opts_load_config print what they could not load; in
 * a failed run that is expected, so standard error goes to /dev/null for
 * the run (and comes back for the checks and the leak report). */
static int quiet_begin(void)
{
        int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY | O_CLOEXEC);

        assert_true(saved >= 0 && null >= 0);
        fflush(stderr);
        assert_int_equal(dup2(null, STDERR_FILENO), STDERR_FILENO);
        close(null);
        return saved;
}

static void quiet_end(int saved)
{
        fflush(stderr);
        assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        close(saved);
}

/* Fail the Nth call for N = 1, 2, ... until a run makes fewer than N
 * calls. Returns the number of allocation calls of a clean run. */
static unsigned long drive(const struct fault_op *op, void *ctx, int persist)
{
        unsigned long n;

        for (n = 1; n < CALLS_MAX; n++) {
                int r, saved;

                op->begin(ctx);
                saved = quiet_begin();
                inject_alloc_arm(n, persist);
                r = op->run(ctx);
                inject_alloc_disarm();
                quiet_end(saved);
                if (r != 0 && r != -ENOMEM) {
                        print_error("%s, N=%lu%s: returned %d (%s), want 0 or -ENOMEM\n",
                                    op->name, n, persist ? " and after" : "", r,
                                    strerror(-r));
                        fail();
                }
                if (r == -ENOMEM && !inject_alloc.failed) {
                        print_error("%s, N=%lu: -ENOMEM without a failed allocation\n",
                                    op->name, n);
                        fail();
                }
                op->end(ctx, r, inject_alloc.failed != 0, n);
                leak_check(op->name, n, persist);
                if (!inject_alloc.failed) {
                        assert_int_equal(r, 0);
                        return inject_alloc.calls;
                }
        }
        print_error("%s: more than %lu allocation calls\n", op->name, CALLS_MAX);
        fail();
        return 0;
}

/* A clean run first (the reference), then the failures, one at a time and
 * from N on. */
static void run_op(const struct fault_op *op, void *ctx)
{
        unsigned long once, persist;

        op->begin(ctx);
        inject_alloc_arm(0, 0);
        assert_int_equal(op->run(ctx), 0);
        inject_alloc_disarm();
        op->end(ctx, 0, 0, 0);
        leak_check(op->name, 0, 0);
        once = drive(op, ctx, 0);
        persist = drive(op, ctx, 1);
        assert_int_equal(once, persist);
        printf("%-10s %lu allocation calls: each made to fail (%lu runs), and each with "
               "every later one (%lu runs)\n", op->name, once, once + 1, persist + 1);
}

static void test_alloc_parse(void **state)
{
        static const struct fault_op op = { "parse", parse_begin, parse_run, parse_end };
        struct parse_ctx *c = calloc(1, sizeof(*c));

        (void)state;
        assert_non_null(c);
        parse_setup(c);
        run_op(&op, c);
        printf("parse: runs that went on past the failure: %u with the same events, %u "
               "with records cut short and flagged truncated\n", c->same, c->cut);
        parse_teardown(c);
        free(c);
}

static void test_alloc_checkpoint(void **state)
{
        static const struct fault_op op = { "checkpoint", ckpt_begin, ckpt_run, ckpt_end };
        struct ckpt_ctx c;

        (void)state;
        ckpt_setup(&c);
        run_op(&op, &c);
        tu_rmdir(c.dir);
}

static void test_alloc_config(void **state)
{
        static const struct fault_op op = { "config", config_begin, config_run, config_end };
        struct config_ctx c = { 0 };

        (void)state;
        tu_tmpdir(c.dir, sizeof(c.dir));
        tu_write_file(c.dir, "shim.conf", config_text);
        snprintf(c.path, sizeof(c.path), "%s/shim.conf", c.dir);
        run_op(&op, &c);
        free(c.want);
        tu_rmdir(c.dir);
}

/* check-config of a good file (0, or 1 out of memory), of one with a bad
 * line (2, or 1), and run --config FILE --output stdout,bogus (2, or 1). */
static void test_alloc_exit_status(void **state)
{
        char dir[256], good[300], bad[300], bad_text[sizeof(exit_config_good) + 32];
        const struct {
                const char *name;
                int want, may_absorb;
                const char *args[EXIT_ARGS_MAX];
        } cases[] = {
                { "check-config, good", 0, 1, { "smartermail-shim", "check-config", good } },
                { "check-config, bad line", 2, 0, { "smartermail-shim", "check-config", bad } },
                { "run, bad output", 2, 0, { "smartermail-shim", "run", "--config", good,
                                             "--output", "stdout,bogus" } },
        };
        struct exit_ctx c;

        (void)state;
        tu_tmpdir(dir, sizeof(dir));
        tu_write_file(dir, "good.conf", exit_config_good);
        snprintf(bad_text, sizeof(bad_text), "%sencoding = xml\n", exit_config_good);
        tu_write_file(dir, "bad.conf", bad_text);
        snprintf(good, sizeof(good), "%s/good.conf", dir);
        snprintf(bad, sizeof(bad), "%s/bad.conf", dir);
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                const struct fault_op op = { cases[i].name, exit_begin, exit_run, exit_end };

                exit_setup(&c, cases[i].name, cases[i].want, cases[i].may_absorb,
                           cases[i].args);
                run_op(&op, &c);
                exit_teardown(&c);
        }
        tu_rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_alloc_parse),
                cmocka_unit_test(test_alloc_checkpoint),
                cmocka_unit_test(test_alloc_config),
                cmocka_unit_test(test_alloc_exit_status),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
