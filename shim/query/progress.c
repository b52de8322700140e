/* SPDX-License-Identifier: MIT */
/* The progress line: counting, throttling and drawing. The rate is the
 * average since the start, which is steady enough for an ETA over many
 * files; a moving window would jump at every small file. */
#include "query/progress.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CLEAR_TO_EOL "\033[K"

static uint64_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void progress_start(struct progress *p, const char *label, unsigned files_total,
                    uint64_t bytes_total, unsigned flags)
{
        int screen_free = (flags & PROGRESS_STDOUT_QUIET) || !isatty(STDOUT_FILENO);

        memset(p, 0, sizeof(*p));
        p->fd = isatty(STDERR_FILENO) && screen_free ? STDERR_FILENO : -1;
        p->label = label;
        p->files_total = files_total;
        p->bytes_total = bytes_total;
        p->start_usec = now_usec();
}

/* One write for the whole line, so that it never tears. */
static void put(const struct progress *p, const char *s, size_t n)
{
        while (n > 0) {
                ssize_t w = write(p->fd, s, n);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return; /* a terminal that went away is no reason to stop */
                s += w;
                n -= (size_t)w;
        }
}

static void draw(struct progress *p, uint64_t now)
{
        char line[PROGRESS_LINE_MAX + 16];
        size_t n;

        line[0] = '\r';
        n = 1 + progress_format(p, now, line + 1, PROGRESS_LINE_MAX);
        memcpy(line + n, CLEAR_TO_EOL, sizeof(CLEAR_TO_EOL) - 1);
        put(p, line, n + sizeof(CLEAR_TO_EOL) - 1);
        p->drawn_usec = now;
        p->shown = 1;
}

static void maybe_draw(struct progress *p)
{
        uint64_t now;

        if (p->fd < 0)
                return;
        now = now_usec();
        if (now - (p->drawn_usec ? p->drawn_usec : p->start_usec) >= PROGRESS_REDRAW_USEC)
                draw(p, now);
}

void progress_bytes(struct progress *p, uint64_t bytes)
{
        p->bytes_done += bytes;
        maybe_draw(p);
}

void progress_file_done(struct progress *p)
{
        p->files_done++;
        maybe_draw(p);
}

void progress_clear(struct progress *p)
{
        if (p->fd < 0 || !p->shown)
                return;
        put(p, "\r" CLEAR_TO_EOL, sizeof("\r" CLEAR_TO_EOL) - 1);
        p->shown = 0;
}

void progress_end(struct progress *p)
{
        progress_clear(p);
        p->fd = -1;
}

/* "1:02:03" or "2:03". */
static void fmt_duration(char *buf, size_t n, uint64_t s)
{
        if (s >= 100 * 3600)
                snprintf(buf, n, ">99h");
        else if (s >= 3600)
                snprintf(buf, n, "%u:%02u:%02u", (unsigned)(s / 3600), (unsigned)(s / 60 % 60),
                         (unsigned)(s % 60));
        else
                snprintf(buf, n, "%u:%02u", (unsigned)(s / 60), (unsigned)(s % 60));
}

size_t progress_format(const struct progress *p, uint64_t now_usec, char *buf, size_t n)
{
        uint64_t elapsed = now_usec > p->start_usec ? now_usec - p->start_usec : 0;
        double mb = (double)p->bytes_done / 1e6;
        double rate = elapsed ? mb / ((double)elapsed / 1e6) : 0.0;
        char eta[16] = "--:--", total[32] = "";
        int len;

        if (p->bytes_total) {
                snprintf(total, sizeof(total), " of %.1f", (double)p->bytes_total / 1e6);
                if (p->bytes_done >= p->bytes_total)
                        fmt_duration(eta, sizeof(eta), 0);
                else if (rate > 0.0)
                        fmt_duration(eta, sizeof(eta),
                                     (uint64_t)((double)(p->bytes_total - p->bytes_done) / 1e6 / rate));
        }
        len = snprintf(buf, n, "%s: %u/%u files, %.1f%s MB, %.1f MB/s%s%s", p->label,
                       p->files_done, p->files_total, mb, total, rate,
                       p->bytes_total ? ", ETA " : "", p->bytes_total ? eta : "");
        if (len < 0 || n == 0)
                return 0;
        return (size_t)len < n ? (size_t)len : n - 1;
}
