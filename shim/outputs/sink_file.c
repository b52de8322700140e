/* SPDX-License-Identifier: MIT */
/* Output to standard output or a file, as JSON lines. Events are encoded
 * into a buffer and written in large blocks; a block's events are
 * acknowledged once write() has taken all of it. Writes block: a slow reader
 * of standard output slows the daemon down instead of growing memory. A
 * write error keeps the buffer and is retried (reading pauses meanwhile). */
#include "outputs/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"

#define FILE_SINK_BLOCK (256u * 1024u)          /* write when this much is buffered */
#define FILE_SINK_MAX (64u * 1024u * 1024u)     /* buffer ceiling */

struct file_sink {
        int fd;
        int is_stdout;
        int regular;            /* fsync makes sense */
        struct buf buf;
        uint64_t first_seq, last_seq;   /* events in buf; first_seq 0 = none */
};

/* A file that ends inside a line (kill -9 during a write) gets a newline
 * first: the torn line stays alone instead of swallowing the next event.
 * Returns 0 or a negative errno; a file it cannot read back is left as is. */
static int end_torn_line(int fd, const char *path)
{
        struct stat st;
        char last;
        int rfd, r = 0;

        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
                return 0;
        rfd = open(path, O_RDONLY | O_CLOEXEC);
        if (rfd < 0)
                return 0;
        if (pread(rfd, &last, 1, st.st_size - 1) == 1 && last != '\n' &&
            write(fd, "\n", 1) != 1)
                r = -errno;
        close(rfd);
        return r;
}

static int file_open(struct sink *s, struct diag *err)
{
        struct file_sink *f = s->priv;
        struct stat st;
        int r;

        if (!f) {
                f = calloc(1, sizeof(*f));
                if (!f)
                        return -ENOMEM;
                buf_init(&f->buf, FILE_SINK_MAX);
                s->priv = f;
        }
        f->is_stdout = strcmp(s->target, "stdout") == 0;
        f->fd = f->is_stdout ? STDOUT_FILENO
                             : open(s->target, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (f->fd < 0) {
                int e = errno;
                return diag_set(err, e, s->target, 0, NULL, "cannot open the output: %s",
                                strerror(e));
        }
        if (!f->is_stdout && (r = end_torn_line(f->fd, s->target)) < 0) {
                close(f->fd);
                f->fd = -1;
                return diag_set(err, -r, s->target, 0, NULL, "cannot write to the output: %s",
                                strerror(-r));
        }
        f->regular = fstat(f->fd, &st) == 0 && S_ISREG(st.st_mode);
        return 0;
}

static int file_flush(struct sink *s, int64_t deadline_ms)
{
        struct file_sink *f = s->priv;
        size_t off = 0;

        (void)deadline_ms;      /* writes block; there is nothing to wait for */
        while (off < f->buf.len) {
                ssize_t w = write(f->fd, f->buf.p + off, f->buf.len - off);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0) {
                        int e = -errno;
                        memmove(f->buf.p, f->buf.p + off, f->buf.len - off);
                        f->buf.len -= off;
                        return e;
                }
                off += (size_t)w;
        }
        f->buf.len = 0;
        if (f->first_seq)
                for (uint64_t q = f->first_seq; q <= f->last_seq; q++)
                        inflight_done(s->ack, q, 0);
        f->first_seq = f->last_seq = 0;
        return 0;
}

static int file_submit(struct sink *s, const struct event *ev)
{
        struct file_sink *f = s->priv;
        int r;

        if (f->buf.len >= FILE_SINK_BLOCK && (r = file_flush(s, 0)) < 0)
                return r;
        if (encode_json(ev, s->enc, &f->buf) < 0)
                return f->buf.len ? -EAGAIN : -E2BIG;
        if (!f->first_seq)
                f->first_seq = ev->seq;
        f->last_seq = ev->seq;
        return 0;
}

static int file_sync(struct sink *s)
{
        struct file_sink *f = s->priv;

        if (f->regular && fsync(f->fd) < 0)
                return -errno;
        return 0;
}

/* Frees the output's state: flush first, or what is buffered is lost (run.c
 * reopens on SIGHUP only after a flush emptied the buffer). */
static void file_close(struct sink *s)
{
        struct file_sink *f = s->priv;

        if (!f)
                return;
        if (f->fd >= 0 && !f->is_stdout)
                close(f->fd);
        buf_done(&f->buf);
        free(f);
        s->priv = NULL;
}

const struct sink_ops sink_file_ops = {
        .name = "file",
        .open = file_open,
        .submit = file_submit,
        .flush = file_flush,
        .sync = file_sync,
        .close = file_close,
};

