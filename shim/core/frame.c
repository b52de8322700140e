/* SPDX-License-Identifier: MIT */
/* Record framing. Complete lines are classified straight from the caller's
 * buffer; only a line cut by the end of a read is copied aside. Memory is
 * three buffers that grow on demand up to the record ceiling, whatever the
 * input (a daemon following many quiet files keeps them small). Empty lines
 * carry nothing and are skipped. */
#include "core/frame.h"

#include <stdlib.h>
#include <string.h>

#include "core/stamp.h"

/* A line cut by the end of a feed is kept up to the ceiling plus a BOM, a
 * CR and one byte: a longer line then still exceeds the ceiling once those
 * are stripped, and rec_append cuts it exactly where it would have cut the
 * whole line (not inside a UTF-8 sequence, not short by a CR). */
#define LINE_SLACK 5

struct frame {
        size_t max;

        char *rec;              /* the record being built */
        size_t rec_len, rec_cap;
        uint64_t rec_off, rec_end;
        unsigned rec_flags, rec_lines;
        int have_rec, rec_full;

        char *out;              /* the record last handed out */
        size_t out_cap;

        char *line;             /* a line cut by the end of a feed */
        size_t line_len, line_cap;
        uint64_t line_off;
        int line_started, line_trunc;

        const char *in;
        size_t in_len, in_pos;
        uint64_t in_off;        /* file offset of in[0] */
};

#define FRAME_BUF_START 1024

struct frame *frame_new(size_t max_record)
{
        struct frame *f = calloc(1, sizeof(*f));

        if (!f)
                return NULL;
        if (max_record < FRAME_MAX_RECORD_MIN)
                max_record = FRAME_MAX_RECORD_MIN;
        if (max_record > FRAME_MAX_RECORD_MAX)
                max_record = FRAME_MAX_RECORD_MAX;
        f->max = max_record;
        /* A line cut by a feed is copied here. Out of memory later, it keeps
         * what fits; allocated now, that is at least its time stamp, so the
         * line still starts its record instead of vanishing. */
        f->line = malloc(FRAME_BUF_START);
        if (!f->line) {
                free(f);
                return NULL;
        }
        f->line_cap = FRAME_BUF_START;
        return f;
}

/* Make *p hold at least need bytes (need <= limit). Returns 0, or -1 when
 * out of memory (the caller then keeps what fits, as at the ceiling). */
static int grow(char **p, size_t *cap, size_t need, size_t limit)
{
        size_t c = *cap ? *cap : FRAME_BUF_START;
        char *n;

        if (need <= *cap)
                return 0;
        while (c < need)
                c *= 2;
        if (c > limit)
                c = limit;
        n = realloc(*p, c);
        if (!n)
                return -1;
        *p = n;
        *cap = c;
        return 0;
}

void frame_free(struct frame *f)
{
        if (!f)
                return;
        free(f->rec);
        free(f->out);
        free(f->line);
        free(f);
}

void frame_reset(struct frame *f, uint64_t offset)
{
        f->have_rec = 0;
        f->line_started = 0;
        f->in = NULL;
        f->in_len = f->in_pos = 0;
        f->in_off = offset;
}

void frame_feed(struct frame *f, const char *buf, size_t len)
{
        f->in_off += f->in_pos;
        f->in = buf;
        f->in_len = len;
        f->in_pos = 0;
}

/* Longest prefix of p[0..n) that fits in room and does not end inside a
 * UTF-8 sequence. */
static size_t fit_utf8(const char *p, size_t n, size_t room)
{
        size_t k;

        if (n <= room)
                return n;
        k = room;
        for (int back = 0; back < 3 && k > 0 && ((unsigned char)p[k] & 0xC0) == 0x80; back++)
                k--;
        return k;
}

static void rec_append(struct frame *f, const char *p, size_t n)
{
        size_t k;

        if (f->rec_full) {
                f->rec_flags |= FRAME_TRUNCATED;
                return;
        }
        k = fit_utf8(p, n, f->max - f->rec_len);
        if (grow(&f->rec, &f->rec_cap, f->rec_len + k, f->max) < 0)
                k = fit_utf8(p, k, f->rec_cap - f->rec_len);
        if (k)
                memcpy(f->rec + f->rec_len, p, k);
        f->rec_len += k;
        if (k < n) {
                f->rec_flags |= FRAME_TRUNCATED;
                f->rec_full = 1;
        }
}

static void emit(struct frame *f, struct frame_record *ret)
{
        char *t = f->out;
        size_t c = f->out_cap;

        f->out = f->rec;
        f->out_cap = f->rec_cap;
        f->rec = t;
        f->rec_cap = c;
        ret->data = f->out;
        ret->len = f->rec_len;
        ret->offset = f->rec_off;
        ret->end_offset = f->rec_end;
        ret->flags = f->rec_flags;
        ret->lines = f->rec_lines;
        f->have_rec = 0;
}

/* One whole line (terminator removed). Returns 1 when it completed the
 * pending record, which is then in ret. */
static int take_line(struct frame *f, const char *p, size_t n, uint64_t off,
                     uint64_t end, unsigned flags, struct frame_record *ret)
{
        struct stamp st;
        int emitted = 0, stamped;

        if (n > 0 && p[n - 1] == '\r')
                n--;
        if (off == 0 && n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
                p += 3;
                n -= 3;
                off = 3;
        }
        if (n == 0) {
                if (f->have_rec)
                        f->rec_end = end;
                return 0;
        }
        stamped = stamp_parse(p, n, &st) > 0;
        if (stamped || !f->have_rec) {
                if (f->have_rec) {
                        emit(f, ret);
                        emitted = 1;
                }
                f->have_rec = 1;
                f->rec_full = 0;
                f->rec_len = 0;
                f->rec_off = off;
                f->rec_flags = flags;
                f->rec_lines = 1;
                if (!stamped)
                        f->rec_flags |= FRAME_NO_STAMP;
                rec_append(f, p, n);
        } else {
                rec_append(f, "\n", 1);
                rec_append(f, p, n);
                f->rec_flags |= FRAME_MULTILINE | flags;
                f->rec_lines++;
        }
        f->rec_end = end;
        return emitted;
}

static void line_append(struct frame *f, const char *p, size_t n)
{
        size_t k = n;

        /* cut short (ceiling or out of memory): later bytes would not
         * follow on from what was kept */
        if (f->line_trunc)
                return;
        if (k > f->max + LINE_SLACK - f->line_len) {
                k = f->max + LINE_SLACK - f->line_len;
                f->line_trunc = 1;
        }
        if (grow(&f->line, &f->line_cap, f->line_len + k, f->max + LINE_SLACK) < 0) {
                k = f->line_cap - f->line_len;
                f->line_trunc = 1;
        }
        if (k)
                memcpy(f->line + f->line_len, p, k);
        f->line_len += k;
}

int frame_next(struct frame *f, struct frame_record *ret)
{
        while (f->in_pos < f->in_len) {
                const char *p = f->in + f->in_pos;
                size_t avail = f->in_len - f->in_pos;
                const char *nl = memchr(p, '\n', avail);
                uint64_t off = f->in_off + f->in_pos;
                size_t n;

                if (!nl) {
                        if (!f->line_started) {
                                f->line_started = 1;
                                f->line_len = 0;
                                f->line_trunc = 0;
                                f->line_off = off;
                        }
                        line_append(f, p, avail);
                        f->in_pos = f->in_len;
                        return 0;
                }
                n = (size_t)(nl - p);
                f->in_pos += n + 1;
                if (f->line_started) {
                        f->line_started = 0;
                        line_append(f, p, n);
                        if (take_line(f, f->line, f->line_len, f->line_off,
                                      f->in_off + f->in_pos,
                                      f->line_trunc ? FRAME_TRUNCATED : 0, ret))
                                return 1;
                } else if (take_line(f, p, n, off, f->in_off + f->in_pos, 0, ret)) {
                        return 1;
                }
        }
        return 0;
}

int frame_flush(struct frame *f, int with_partial, struct frame_record *ret)
{
        if (with_partial && f->line_started) {
                f->line_started = 0;
                if (take_line(f, f->line, f->line_len, f->line_off,
                              f->in_off + f->in_pos,
                              FRAME_NO_EOL | (f->line_trunc ? FRAME_TRUNCATED : 0), ret))
                        return 1;
        }
        if (!f->have_rec)
                return 0;
        emit(f, ret);
        return 1;
}

uint64_t frame_pending_offset(const struct frame *f)
{
        if (f->have_rec)
                return f->rec_off;
        if (f->line_started)
                return f->line_off;
        return f->in_off + f->in_pos;
}
