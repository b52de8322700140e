/* SPDX-License-Identifier: MIT */
/* progress.c: the line's text for rows of counters and clocks, and when it
 * is drawn at all: standard error on a pseudo-terminal or a pipe, standard
 * output on a pipe or a terminal, compared byte for byte with what the
 * terminal received. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "query/progress.h"
#include "testutil.h"

#define SEC 1000000u

struct format_row {
        unsigned files_done, files_total;
        uint64_t bytes_done, bytes_total;
        uint64_t elapsed_usec;
        const char *want;
};

static const struct format_row format_rows[] = {
        /* nothing read yet: no rate, no ETA */
        { 0, 3, 0, 3000000, 0, "parse: 0/3 files, 0.0 of 3.0 MB, 0.0 MB/s, ETA --:--" },
        { 0, 3, 0, 3000000, SEC, "parse: 0/3 files, 0.0 of 3.0 MB, 0.0 MB/s, ETA --:--" },
        /* 1 MB/s, 2 MB left */
        { 1, 3, 1000000, 3000000, SEC, "parse: 1/3 files, 1.0 of 3.0 MB, 1.0 MB/s, ETA 0:02" },
        /* an hour and more left */
        { 0, 2, 1000000, 3601000000ull, SEC,
          "parse: 0/2 files, 1.0 of 3601.0 MB, 1.0 MB/s, ETA 1:00:00" },
        /* more than 99 hours left */
        { 0, 2, 1000, 1000000000000ull, SEC,
          "parse: 0/2 files, 0.0 of 1000000.0 MB, 0.0 MB/s, ETA >99h" },
        /* done */
        { 3, 3, 3000000, 3000000, 2 * SEC, "parse: 3/3 files, 3.0 of 3.0 MB, 1.5 MB/s, ETA 0:00" },
        /* an input grew while read: still done, not negative */
        { 3, 3, 4000000, 3000000, 2 * SEC, "parse: 3/3 files, 4.0 of 3.0 MB, 2.0 MB/s, ETA 0:00" },
        /* size unknown (standard input): no total, no ETA */
        { 0, 1, 5000000, 0, 2 * SEC, "parse: 0/1 files, 5.0 MB, 2.5 MB/s" },
};

static void test_progress_format(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(format_rows); i++) {
                const struct format_row *r = &format_rows[i];
                struct progress p = {
                        .fd = -1, .label = "parse", .files_total = r->files_total,
                        .files_done = r->files_done, .bytes_total = r->bytes_total,
                        .bytes_done = r->bytes_done, .start_usec = 5 * SEC,
                };
                char what[32], line[PROGRESS_LINE_MAX];
                size_t n = progress_format(&p, 5 * SEC + r->elapsed_usec, line, sizeof(line));

                snprintf(what, sizeof(what), "row %zu", i);
                tu_bytes_equal(what, r->want, strlen(r->want), line, n);
                assert_true(n < 80);
        }
}

/* A buffer too small cuts the line and says how much it kept. */
static void test_progress_format_short(void **state)
{
        struct progress p = { .fd = -1, .label = "parse", .files_total = 1 };
        char line[8];

        (void)state;
        assert_int_equal(progress_format(&p, 0, line, sizeof(line)), 7);
        assert_string_equal(line, "parse: ");
        assert_int_equal(progress_format(&p, 0, line, 0), 0);
}

/* ---- when it draws ------------------------------------------------------ */

struct fds {
        int err_kind, out_kind;         /* 't' terminal, 'p' pipe */
        unsigned flags;
        int draws;
};

static const struct fds fds_rows[] = {
        { 't', 'p', 0, 1 },     /* parse ... > events.json */
        { 't', 't', 0, 0 },     /* events on the screen: no progress in between */
        { 'p', 'p', 0, 0 },     /* cron, CI, a pipe: quiet */
        { 'p', 't', 0, 0 },
        { 't', 't', PROGRESS_STDOUT_QUIET, 1 },  /* report: prints at the end */
        { 'p', 't', PROGRESS_STDOUT_QUIET, 0 },
        { 'p', 'p', PROGRESS_STDOUT_QUIET, 0 },
};

/* A pseudo-terminal: its master in *master, its slave opened. */
static int open_pty(int *master)
{
        int m = posix_openpt(O_RDWR | O_NOCTTY), s;

        assert_true(m >= 0);
        assert_int_equal(grantpt(m), 0);
        assert_int_equal(unlockpt(m), 0);
        s = open(ptsname(m), O_RDWR | O_NOCTTY);
        assert_true(s >= 0);
        *master = m;
        return s;
}

/* What arrived at the master side within 1 s, or at once when nothing is
 * expected. */
static size_t drain(int master, char *buf, size_t n, int wait)
{
        struct pollfd pfd = { .fd = master, .events = POLLIN };
        size_t got = 0;

        while (got + 1 < n && poll(&pfd, 1, got || !wait ? 50 : 1000) > 0) {
                ssize_t r = read(master, buf + got, n - 1 - got);
                if (r <= 0)
                        break;
                got += (size_t)r;
        }
        buf[got] = '\0';
        return got;
}

static void test_progress_only_on_a_terminal(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(fds_rows); i++) {
                const struct fds *r = &fds_rows[i];
                int saved_err = dup(STDERR_FILENO), saved_out = dup(STDOUT_FILENO);
                int master = -1, err_fd, out_fd, pipe_err[2] = { -1, -1 }, pipe_out[2] = { -1, -1 };
                int out_master = -1;
                struct progress p;
                char got[512];
                size_t n;

                fflush(stdout);
                fflush(stderr);
                if (r->err_kind == 't') {
                        err_fd = open_pty(&master);
                } else {
                        assert_int_equal(pipe(pipe_err), 0);
                        err_fd = pipe_err[1];
                }
                if (r->out_kind == 't') {
                        out_fd = open_pty(&out_master);
                } else {
                        assert_int_equal(pipe(pipe_out), 0);
                        out_fd = pipe_out[1];
                }
                dup2(err_fd, STDERR_FILENO);
                dup2(out_fd, STDOUT_FILENO);
                progress_start(&p, "parse", 2, 2000000, r->flags);
                p.start_usec -= PROGRESS_REDRAW_USEC;   /* due at once */
                progress_bytes(&p, 1000000);
                progress_bytes(&p, 1000);               /* within 200 ms: not drawn */
                progress_clear(&p);
                progress_end(&p);
                dup2(saved_err, STDERR_FILENO);
                dup2(saved_out, STDOUT_FILENO);
                close(saved_err);
                close(saved_out);

                if (r->err_kind == 't')
                        n = drain(master, got, sizeof(got), r->draws);
                else {
                        ssize_t rd;

                        close(err_fd);  /* the last write end: read sees the end */
                        err_fd = -1;
                        rd = read(pipe_err[0], got, sizeof(got) - 1);
                        assert_true(rd >= 0);
                        n = (size_t)rd;
                        got[n] = '\0';
                }
                if (r->draws) {
                        const char *prefix = "\rparse: 0/2 files, 1.0 of 2.0 MB, ";

                        /* the line, then the erase at the end, and nothing else */
                        assert_true(n > strlen(prefix));
                        tu_bytes_equal("drawn", prefix, strlen(prefix), got, strlen(prefix));
                        assert_non_null(strstr(got, "\033[K"));
                        assert_string_equal(got + n - 4, "\r\033[K");
                        assert_null(strchr(got, '\n'));
                } else {
                        char what[48];

                        snprintf(what, sizeof(what), "row %zu: nothing drawn", i);
                        tu_bytes_equal(what, "", 0, got, n);
                }
                if (err_fd >= 0)
                        close(err_fd);
                close(out_fd);
                if (master >= 0)
                        close(master);
                if (out_master >= 0)
                        close(out_master);
                if (pipe_err[0] >= 0)
                        close(pipe_err[0]);
                if (pipe_out[0] >= 0)
                        close(pipe_out[0]);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_progress_format),
                cmocka_unit_test(test_progress_format_short),
                cmocka_unit_test(test_progress_only_on_a_terminal),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
