/* SPDX-License-Identifier: MIT */
/* Progress of a long one-shot job (parse, search, report over many files):
 * one self-overwriting line on standard error with files done, throughput
 * and time left, redrawn at most every PROGRESS_REDRAW_USEC. It draws only
 * when standard error is a terminal, and standard output is not one unless
 * the caller writes nothing there while the line is up (the results would
 * otherwise share the screen with it), so pipes, files and the journal never
 * see it. It reads no files and knows nothing of records. */
#ifndef SHIM_PROGRESS_H
#define SHIM_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#define PROGRESS_REDRAW_USEC 200000     /* at most five redraws a second */
#define PROGRESS_LINE_MAX 128           /* one line, kept under 80 columns */

enum progress_flag {
        /* Nothing goes to standard output before progress_end() (report
         * prints at the end): draw even when standard output is a terminal. */
        PROGRESS_STDOUT_QUIET = 1u << 0,
};

struct progress {
        int fd;                 /* where the line goes; -1 = off */
        const char *label;      /* "parse"; borrowed, must outlive p */
        unsigned files_total;
        unsigned files_done;
        uint64_t bytes_total;   /* 0 = unknown (standard input, a pipe) */
        uint64_t bytes_done;
        uint64_t start_usec;    /* CLOCK_MONOTONIC */
        uint64_t drawn_usec;    /* last redraw; 0 = not yet */
        int shown;              /* a line is on the screen now */
};

/* Start counting. Draws on standard error when it is a terminal and
 * standard output is not (or flags has PROGRESS_STDOUT_QUIET); otherwise
 * every other call does nothing. bytes_total is the sum of the inputs'
 * sizes, 0 when one is unknown. flags: enum progress_flag bits. */
void progress_start(struct progress *p, const char *label, unsigned files_total,
                    uint64_t bytes_total, unsigned flags);

/* Count bytes read; redraws when the last redraw is old enough. */
void progress_bytes(struct progress *p, uint64_t bytes);

/* Count one input finished (also one that failed). */
void progress_file_done(struct progress *p);

/* Erase the line before printing a message; the next redraw brings it
 * back. Call before every log_msg() while progress may be shown. */
void progress_clear(struct progress *p);

/* Erase the line for good. p may be used again after progress_start(). */
void progress_end(struct progress *p);

/* The line for p as of now_usec, without the terminal control codes.
 * Writes at most n bytes including the NUL; returns the length. Pure:
 * progress_bytes() and the tests use it. */
size_t progress_format(const struct progress *p, uint64_t now_usec, char *buf, size_t n);

#endif
