/* SPDX-License-Identifier: MIT */
/* The syslog output's connection and queue: connecting (unix, udp, tcp,
 * then the TLS handshake or the RELP session) without blocking and with
 * back-off, the queue of messages not yet acknowledged, and the stream
 * flush that writes them and learns from the kernel what the receiver's
 * TCP acknowledged. What counts as delivered is explained in
 * sink_syslog.c. */
#include "outputs/syslog_int.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "base/clock.h"

/* Connecting does not wait on the receiver: tcp and tls connect and
 * handshake step by step, each flush (every 10 ms while it lasts) taking
 * the next step, each address getting --syslog-connect-timeout-ms. A
 * receiver that accepts and then says nothing, or a black-holed address,
 * thus pauses reading without freezing signals, statistics or other
 * outputs. (The name lookup, getaddrinfo, still blocks: use an address, or
 * a name the local resolver answers at once.) */

/* Start a non-blocking connect to the next address of y->ai. Returns 0
 * (connected or in progress: y->fd set) or a negative errno when no
 * address is left. */
static int connect_next(struct syslog_sink *y)
{
        int r = -EHOSTUNREACH;

        while (y->ai_next) {
                struct addrinfo *a = y->ai_next;
                int fd;

                y->ai_next = a->ai_next;
                fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (fd < 0) {
                        r = -errno;
                        continue;
                }
                if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
                        y->fd = fd;
                        return 0;
                }
                r = -errno;
                close(fd);
        }
        return r;
}

/* One step of connecting to y->host: 0 when connected, -EAGAIN while in
 * progress, another negative errno when it failed. */
static int connect_inet_step(struct syslog_sink *y, int type)
{
        struct pollfd p;
        int e = 0, r;
        socklen_t l = sizeof(e);

        if (!y->ai) {
                struct addrinfo hints = { .ai_socktype = type, .ai_family = AF_UNSPEC };
                if (getaddrinfo(y->host, y->port, &hints, &y->ai) != 0) {
                        y->ai = NULL;
                        return -EHOSTUNREACH;
                }
                y->ai_next = y->ai;
                if ((r = connect_next(y)) < 0)
                        return r;
        }
        for (;;) {
                p = (struct pollfd){ .fd = y->fd, .events = POLLOUT };
                if (poll(&p, 1, 0) == 0)
                        return -EAGAIN;
                if (getsockopt(y->fd, SOL_SOCKET, SO_ERROR, &e, &l) == 0 && e == 0)
                        return 0;
                /* this address refused: try the next one */
                close(y->fd);
                y->fd = -1;
                if ((r = connect_next(y)) < 0)
                        return e ? -e : r;
        }
}

void syslog_disconnect(struct syslog_sink *y)
{
        syslog_tls_end(y, 0);
        if (y->fd >= 0)
                close(y->fd);
        y->fd = -1;
        if (y->ai)
                freeaddrinfo(y->ai);
        y->ai = y->ai_next = NULL;
        y->connect_started_ms = 0;
        y->connected = 0;
        y->raw_written = 0;
        y->tls_wants = 0;
        y->dgram_held = 0;
        /* whatever was not acknowledged goes again on the next connection
         * (relp: librelp resends it when reconnecting) */
        if (y->tr != TR_RELP)
                y->sent_idx = y->sent_off = 0;
        for (size_t i = 0; i < y->qlen; i++)
                y->q[(y->qhead + i) % y->qcap].raw_end = 0;
}

void syslog_connection_failed(struct syslog_sink *y, const char *what, int err)
{
        int64_t now = clock_now_ms();

        if (!y->warned)
                log_msg(LOG_LVL_WARNING, "syslog: %s %s: %s; retrying with back-off", what,
                        y->tr == TR_UNIX ? y->path : y->host, strerror(err > 0 ? err : -err));
        y->warned = 1;
        y->next_try_ms = now + y->backoff_ms;
        y->backoff_ms = y->backoff_ms * 2 > SYSLOG_BACKOFF_MAX_MS ? SYSLOG_BACKOFF_MAX_MS
                                                                  : y->backoff_ms * 2;
        syslog_disconnect(y);
}

static int connect_unix(struct syslog_sink *y)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", y->path);
        y->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (y->fd < 0 || connect(y->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                syslog_connection_failed(y, "connect to", errno);
                return -EAGAIN;
        }
        return 0;
}

/* udp, tcp, tls: one step of the connect, then of the handshake, each
 * address and the handshake within --syslog-connect-timeout-ms. */
static int connect_inet(struct syslog_sink *y, int64_t timeout)
{
        int r;

        if (!y->connect_started_ms)
                y->connect_started_ms = clock_now_ms();
        if (!y->ssl) {
                r = connect_inet_step(y, y->tr == TR_UDP ? SOCK_DGRAM : SOCK_STREAM);
                if (r == -EAGAIN && clock_now_ms() - y->connect_started_ms >= timeout) {
                        /* this address does not answer: the next one, if
                         * any, gets a timeout of its own */
                        close(y->fd);
                        y->fd = -1;
                        r = connect_next(y);
                        y->connect_started_ms = clock_now_ms();
                        r = r < 0 ? -ETIMEDOUT : -EAGAIN;
                }
                if (r == -EAGAIN)
                        return -EAGAIN;
                if (r < 0) {
                        syslog_connection_failed(y, "connect to", r);
                        return -EAGAIN;
                }
                if (y->ai)
                        freeaddrinfo(y->ai);
                y->ai = y->ai_next = NULL;
        }
        if (y->tr == TR_TLS) {
                r = syslog_tls_handshake_step(y);
                if (r == -EAGAIN && clock_now_ms() - y->connect_started_ms >= timeout)
                        r = -ETIMEDOUT;
                if (r == -EAGAIN)
                        return -EAGAIN;
                if (r < 0) {
                        syslog_connection_failed(y, "TLS handshake with", r);
                        return -EAGAIN;
                }
        }
        y->connect_started_ms = 0;
        return 0;
}

/* The connect step of the stream and datagram transports. */
static int stream_step(struct syslog_sink *y, int timeout_ms)
{
        return y->tr == TR_UNIX ? connect_unix(y) : connect_inet(y, timeout_ms);
}

int syslog_connect_with(struct syslog_sink *y, int (*step)(struct syslog_sink *y, int timeout_ms))
{
        int r;

        if (y->connected)
                return 0;
        if (clock_now_ms() < y->next_try_ms)
                return -EAGAIN;
        r = step(y, (int)y->cfg->connect_timeout_ms);
        if (r < 0)
                return r;
        if (y->warned)
                log_msg(LOG_LVL_NOTICE, "syslog: connected to %s again",
                        y->tr == TR_UNIX ? y->path : y->host);
        y->warned = 0;
        y->connected = 1;
        y->backoff_ms = SYSLOG_BACKOFF_MIN_MS;
        return 0;
}

int syslog_connect(struct syslog_sink *y)
{
        return syslog_connect_with(y, stream_step);
}

struct pend_msg *syslog_qat(struct syslog_sink *y, size_t i)
{
        return &y->q[(y->qhead + i) % y->qcap];
}

int syslog_enqueue(struct syslog_sink *y, uint64_t seq, const char *p, size_t n)
{
        struct pend_msg *m;

        if (y->qlen == y->qcap) {
                size_t cap = y->qcap ? y->qcap * 2 : 1024;
                struct pend_msg *q = malloc(cap * sizeof(*q));
                if (!q)
                        return -ENOMEM;
                for (size_t i = 0; i < y->qlen; i++)
                        q[i] = *syslog_qat(y, i);
                free(y->q);
                y->q = q;
                y->qcap = cap;
                y->qhead = 0;
        }
        if (y->pend_start && y->pend_start == y->pend.len)
                y->pend_start = y->pend.len = 0;
        else if (y->pend_start > (1u << 20) && y->pend_start > y->pend.len / 2) {
                memmove(y->pend.p, y->pend.p + y->pend_start, y->pend.len - y->pend_start);
                for (size_t i = 0; i < y->qlen; i++)
                        syslog_qat(y, i)->start -= y->pend_start;
                y->pend.len -= y->pend_start;
                y->pend_start = 0;
        }
        y->pend.failed = 0;
        buf_put(&y->pend, p, n);
        if (y->pend.failed)
                return -EAGAIN;
        m = syslog_qat(y, y->qlen++);
        m->seq = seq;
        m->start = y->pend.len - n;
        m->len = n;
        m->raw_end = 0;
        return 0;
}

/* The oldest message, sent, was delivered: acknowledge and drop it. */
void syslog_pop_delivered(struct sink *s)
{
        struct syslog_sink *y = s->priv;
        struct pend_msg *m = syslog_qat(y, 0);

        inflight_done(s->ack, m->seq, 0);
        y->pend_start = m->start + m->len;
        y->qhead = (y->qhead + 1) % y->qcap;
        y->qlen--;
        y->sent_idx--;
}

static void dequeue_acked(struct sink *s, uint64_t acked_raw)
{
        struct syslog_sink *y = s->priv;

        while (y->qlen && y->sent_idx > 0) {
                struct pend_msg *m = syslog_qat(y, 0);
                if (!m->raw_end || m->raw_end > acked_raw)
                        break;
                syslog_pop_delivered(s);
        }
}

static uint64_t raw_count(struct syslog_sink *y)
{
        return y->tr == TR_TLS ? syslog_tls_written(y) : y->raw_written;
}

/* w more bytes were written from the first unsent one: the messages they
 * complete are sent. raw_end is where the message ends in the transport's
 * bytes: exact for tcp; for tls, whose records add bytes, what the socket
 * had after the whole write, which errs late, never early. */
static void advance(struct syslog_sink *y, size_t w, uint64_t raw_before)
{
        size_t done = 0;

        while (w > done && y->sent_idx < y->qlen) {
                struct pend_msg *m = syslog_qat(y, y->sent_idx);
                size_t left = m->len - y->sent_off;

                if (w - done < left) {
                        y->sent_off += w - done;
                        return;
                }
                done += left;
                m->raw_end = y->tr == TR_TLS ? raw_count(y) : raw_before + done;
                y->sent_idx++;
                y->sent_off = 0;
        }
}

/* Write what is not yet written, as many frames per call as the socket
 * takes: they lie one after another in y->pend. 0, or -EAGAIN when the
 * connection failed (said, and backing off). */
static int stream_write(struct syslog_sink *y)
{
        while (y->sent_idx < y->qlen) {
                struct pend_msg *m = syslog_qat(y, y->sent_idx);
                size_t at = m->start + y->sent_off;
                uint64_t raw_before = raw_count(y);
                ssize_t w;

                if (y->tr == TR_TLS) {
                        w = syslog_tls_write(y, y->pend.p + at, y->pend.len - at);
                } else {
                        w = send(y->fd, y->pend.p + at, y->pend.len - at, MSG_NOSIGNAL);
                        if (w < 0)
                                w = errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
                        else
                                y->raw_written += (uint64_t)w;
                }
                if (w == -EAGAIN)
                        return 0;
                if (w < 0) {
                        syslog_connection_failed(y, y->tr == TR_TLS ? "TLS write to" : "write to",
                                                 (int)w);
                        return -EAGAIN;
                }
                advance(y, (size_t)w, raw_before);
        }
        return 0;
}

/* A peer that closed shows up as EOF on read, one that reset as a socket
 * error; the error is the only sign when unread bytes (TLS 1.3 session
 * tickets) hide the EOF. */
static int peer_gone(struct syslog_sink *y)
{
        char c;
        int e = 0;
        socklen_t l = sizeof(e);
        ssize_t r = recv(y->fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);

        return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
               (getsockopt(y->fd, SOL_SOCKET, SO_ERROR, &e, &l) == 0 && e);
}

int syslog_stream_flush(struct sink *s)
{
        struct syslog_sink *y = s->priv;
        int outq = 0;

        if (!y->qlen) {
                /* a connect or handshake under way goes on while idle, so
                 * that its timeout measures the receiver, not our quiet */
                if (y->connect_started_ms && !y->connected)
                        return syslog_connect(y) < 0 && y->connect_started_ms ? -EAGAIN : 0;
                return 0;
        }
        if (syslog_connect(y) < 0 || stream_write(y) < 0)
                return -EAGAIN;
        if (ioctl(y->fd, SIOCOUTQ, &outq) < 0)
                outq = 0;
        dequeue_acked(s, raw_count(y) - (uint64_t)outq);
        if (y->qlen && peer_gone(y)) {
                syslog_connection_failed(y, "connection closed by", ECONNRESET);
                return -EAGAIN;
        }
        return y->qlen ? -EAGAIN : 0;
}
