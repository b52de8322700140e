/* SPDX-License-Identifier: MIT */
/* Output to standard output or a file, as JSON lines. Events are encoded
 * into a buffer and written in large blocks; a block's events are
 * acknowledged once write() has taken all of it. A pipe, FIFO or socket is
 * written without blocking: a reader that stalls fills the buffer, the
 * output says -EAGAIN and gives its descriptor to wait on, and reading
 * pauses while the daemon goes on answering signals and timers. A regular
 * file cannot block. A write error keeps the buffer and is retried
 * (reading pauses meanwhile). */
#include "outputs/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"

#define FILE_SINK_BLOCK (256u * 1024u)          /* write when this much is buffered */
#define FILE_SINK_MAX (64u * 1024u * 1024u)     /* buffer ceiling */

struct file_sink {
        int fd;
        int is_stdout;
        int regular;            /* fsync makes sense */
        int own_fd;             /* fd is ours to close */
        int socket;             /* send with MSG_DONTWAIT */
        int stalled;            /* the last write found no room */
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

/* Make writes to a pipe, FIFO or socket non-blocking without changing a
 * description shared with others: standard output is often the same
 * description as standard error, or a shell's. A pipe or FIFO is opened
 * again through /proc (a description of our own); a socket is written with
 * MSG_DONTWAIT. Where neither works, O_NONBLOCK is set on the shared one. */
static void make_nonblocking(struct file_sink *f, const struct stat *st)
{
        int fd;

        if (S_ISSOCK(st->st_mode)) {
                f->socket = 1;
                return;
        }
        if (!S_ISFIFO(st->st_mode))
                return;
        if (!f->own_fd) {
                fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
                if (fd >= 0) {
                        f->fd = fd;
                        f->own_fd = 1;
                        return;
                }
        }
        (void)fcntl(f->fd, F_SETFL, fcntl(f->fd, F_GETFL) | O_NONBLOCK);
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
        f->own_fd = !f->is_stdout;
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
        if (!f->regular)
                make_nonblocking(f, &st);
        return 0;
}

static ssize_t write_some(struct file_sink *f, const char *p, size_t n)
{
        if (f->socket)
                return send(f->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        return write(f->fd, p, n);
}

/* Write what the buffer holds; its events are acknowledged once all of it
 * is written. -EAGAIN when the reader has no room (poll_fd then names the
 * descriptor), another negative errno on a write error. */
static int file_flush(struct sink *s, int64_t deadline_ms)
{
        struct file_sink *f = s->priv;
        size_t off = 0;
        int e = 0;

        (void)deadline_ms;      /* never waits: the loop waits on poll_fd */
        f->stalled = 0;
        while (off < f->buf.len) {
                ssize_t w = write_some(f, f->buf.p + off, f->buf.len - off);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0) {
                        e = errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
                        break;
                }
                off += (size_t)w;
        }
        if (e < 0) {
                memmove(f->buf.p, f->buf.p + off, f->buf.len - off);
                f->buf.len -= off;
                f->stalled = e == -EAGAIN;
                return e;
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
        size_t mark;
        int r;

        if (f->buf.len >= FILE_SINK_BLOCK && (r = file_flush(s, 0)) < 0)
                return r;
        if (f->stalled)
                return -EAGAIN;
        mark = f->buf.len;
        if (encode_json(ev, s->enc, &f->buf) < 0)
                return f->buf.len ? -EAGAIN : -E2BIG;
        inflight_hold(s->ack, ev->seq, f->buf.len - mark);
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
        if (f->fd >= 0 && f->own_fd)
                close(f->fd);
        buf_done(&f->buf);
        free(f);
        s->priv = NULL;
}

/* Room to wait for, once a write found none. */
static int file_poll_fd(struct sink *s, uint32_t *ret_events)
{
        struct file_sink *f = s->priv;

        if (!f || f->fd < 0 || !f->stalled || !f->buf.len)
                return -1;
        *ret_events = EPOLLOUT;
        return f->fd;
}

const struct sink_ops sink_file_ops = {
        .name = "file",
        .open = file_open,
        .submit = file_submit,
        .flush = file_flush,
        .sync = file_sync,
        .close = file_close,
        .poll_fd = file_poll_fd,
};

