/* SPDX-License-Identifier: MIT */
/* Output to a syslog receiver: RFC 5424 (or RFC 3164) messages whose MSG is
 * the JSON event, over UDP, a unix datagram socket, TCP, TLS (OpenSSL) or
 * RELP (librelp).
 *
 * What counts as delivered, per transport:
 * - udp, unix: the datagram was handed to the kernel.
 * - tcp, tls: the receiver's TCP stack acknowledged the bytes (the socket's
 *   unacknowledged output queue, SIOCOUTQ, has drained past the message).
 *   Messages not acknowledged when a connection breaks are sent again on
 *   the next one. What is lost if the receiving process dies is only what
 *   its kernel had acknowledged but it had not yet processed.
 * - relp: the receiver's RELP acknowledgement. librelp keeps up to
 *   --syslog-relp-window messages unacknowledged and blocks beyond that, so
 *   once a message was sent every message that window-many before it is
 *   acknowledged. It has no call that collects acknowledgements without
 *   sending, so after SYSLOG_RELP_IDLE_MS without a message, and at
 *   shutdown, the session is closed, which waits for the rest. Messages
 *   stay queued here until acknowledged: a reconnected session gets again
 *   what librelp knows to be unacknowledged, and after a close that failed
 *   (librelp then drops what it held) a new session gets them from here.
 * Connections are made lazily and re-made with exponential back-off. */
#include "outputs/syslog_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "base/buf.h"
#include "base/clock.h"

/* ---- the ops ------------------------------------------------------------ */

static int syslog_open(struct sink *s, struct diag *err)
{
        struct syslog_sink *y = calloc(1, sizeof(*y));
        int r;

        if (!y)
                return -ENOMEM;
        s->priv = y;
        y->cfg = s->cfg;
        y->fd = -1;
        y->backoff_ms = SYSLOG_BACKOFF_MIN_MS;
        buf_init(&y->pend, SYSLOG_PEND_MAX);
        buf_init(&y->msg, SYSLOG_MSG_MAX);
        for (size_t i = 0; i < sizeof(y->sd_keys) / sizeof(y->sd_keys[0]); i++)
                y->sd_keys[i] = -1;
        if ((r = syslog_parse_target(y, y->cfg->target, err)) < 0)
                return r;
        snprintf(s->target, sizeof(s->target), "syslog %s", y->cfg->target);
        if (y->tr == TR_TLS && (r = syslog_tls_setup(y, y->cfg, err)) < 0)
                return r;
        if (y->tr == TR_RELP && (r = syslog_relp_open(y, err)) < 0)
                return r;
        /* connect now to report a problem early; a refusal is retried */
        (void)(y->tr == TR_RELP ? syslog_connect_with(y, syslog_relp_connect)
                                : syslog_connect(y));
        return 0;
}

/* A datagram; when the receiver's queue is full (a local receiver that
 * does not read), wait at most SYSLOG_DGRAM_WAIT_MS for room: then the
 * caller pauses reading. Returns what send returns, errno set. */
static ssize_t send_dgram(struct syslog_sink *y)
{
        ssize_t r = send(y->fd, y->msg.p, y->msg.len, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (r < 0 && errno == EAGAIN) {
                struct pollfd p = { .fd = y->fd, .events = POLLOUT };
                if (poll(&p, 1, SYSLOG_DGRAM_WAIT_MS) > 0)
                        r = send(y->fd, y->msg.p, y->msg.len, MSG_NOSIGNAL | MSG_DONTWAIT);
                else
                        errno = EAGAIN;
        }
        return r;
}

static int syslog_submit(struct sink *s, const struct event *ev)
{
        struct syslog_sink *y = s->priv;
        int r;

        if ((r = syslog_format_msg(y, s, ev)) < 0)
                return r;
        switch (y->tr) {
        case TR_UDP:
        case TR_UNIX:
                if (syslog_connect(y) < 0)
                        return -EAGAIN;
                y->dgram_held = 0;
                if (send_dgram(y) < 0) {
                        if (errno == EAGAIN || errno == ENOBUFS) {
                                y->dgram_held = 1;
                                return -EAGAIN;
                        }
                        if (errno == EMSGSIZE)
                                return -E2BIG;  /* never fits a datagram: skipped, said */
                        syslog_connection_failed(y, "send to", errno);
                        return -EAGAIN;
                }
                inflight_done(s->ack, ev->seq, 0);
                return 0;
        case TR_TCP:
        case TR_TLS:
                if (y->pend.len - y->pend_start > SYSLOG_PEND_MAX / 2)
                        return -EAGAIN;
                if ((r = syslog_frame_stream(y, ev->seq)) < 0)
                        return r;
                inflight_hold(s->ack, ev->seq, y->msg.len);
                if (y->qlen - y->sent_idx > 64)
                        (void)syslog_stream_flush(s);
                return 0;
        case TR_RELP:
                if (y->pend.len - y->pend_start > SYSLOG_PEND_MAX / 2)
                        return -EAGAIN;
                if ((r = syslog_enqueue(y, ev->seq, y->msg.p, y->msg.len)) < 0)
                        return r;
                inflight_hold(s->ack, ev->seq, y->msg.len);
                (void)syslog_relp_push(s);     /* queued: flush retries */
                return 0;
        }
        return -EINVAL;
}

static int syslog_flush(struct sink *s, int64_t deadline_ms)
{
        struct syslog_sink *y = s->priv;

        switch (y->tr) {
        case TR_UDP:
        case TR_UNIX:
                return 0;
        case TR_TCP:
        case TR_TLS:
                return syslog_stream_flush(s);
        case TR_RELP:
                if (syslog_relp_push(s) < 0)
                        return -EAGAIN;
                if (!y->qlen)
                        return 0;
                /* all sent; the last acknowledgements only come with a
                 * close: when stopping, or when idle (a window that cannot
                 * hold librelp's would wait for them for ever) */
                if (!deadline_ms && clock_now_ms() - y->last_send_ms < SYSLOG_RELP_IDLE_MS)
                        return -EAGAIN;
                return syslog_relp_close(s);
        }
        return 0;
}

/* What the loop should wait for: room for a held datagram; the connect
 * or TLS handshake under way; room for frames not yet written. Frames
 * written but not yet acknowledged by the peer's TCP give no event (the
 * kernel's queue drains silently): flush's -EAGAIN keeps the loop's wait
 * short for them. librelp offers no descriptor. */
static int syslog_poll_fd(struct sink *s, uint32_t *ret_events)
{
        struct syslog_sink *y = s->priv;

        if (!y || y->fd < 0)
                return -1;
        switch (y->tr) {
        case TR_UDP:
        case TR_UNIX:
                if (!y->dgram_held)
                        return -1;
                *ret_events = EPOLLOUT;
                return y->fd;
        case TR_TCP:
        case TR_TLS:
                if (!y->connected) {
                        /* a connect completes as writable; a handshake
                         * waits for what OpenSSL asked */
                        *ret_events = y->ssl && y->tls_wants ? y->tls_wants : EPOLLOUT;
                        return y->fd;
                }
                if (y->sent_idx == y->qlen)
                        return -1;
                *ret_events = y->tr == TR_TLS && y->tls_wants ? y->tls_wants : EPOLLOUT;
                return y->fd;
        case TR_RELP:
                return -1;
        }
        return -1;
}

static void syslog_close(struct sink *s)
{
        struct syslog_sink *y = s->priv;

        if (!y)
                return;
        /* end the TLS session with close_notify */
        syslog_tls_end(y, y->connected);
        syslog_disconnect(y);
        syslog_relp_free(y);
        syslog_tls_free_ctx(y);
        buf_done(&y->pend);
        buf_done(&y->msg);
        free(y->q);
        free(y->cut);
        free(y);
        s->priv = NULL;
}

/* ---- the check before start ---------------------------------------------- */

/* The target, and for tls the CA, certificate and key loaded as open loads
 * them (parse_target, tls_setup); nothing connects. */
static int syslog_check(struct sink *s, struct diag *err)
{
        static const char *const keys[] = { "syslog-tls-ca", "syslog-tls-cert", "syslog-tls-key" };
        const struct syslog_cfg *cfg = s->cfg;
        const char *files[] = { cfg->tls_ca, cfg->tls_cert, cfg->tls_key };
        const char *file;
        struct syslog_sink y;
        char key[sizeof(err->key)], was[sizeof(err->text)];
        int r, unchecked = 0;

        memset(&y, 0, sizeof(y));
        y.fd = -1;
        y.cfg = cfg;
        if ((r = syslog_parse_target(&y, cfg->target, err)) < 0) {
                sink_where(s, "syslog-target", 0, err);
                return r;
        }
        if (y.tr == TR_RELP && (r = syslog_relp_load(err)) < 0) {
                sink_where(s, "syslog-target", 0, err);
                return -EINVAL;
        }
        if (y.tr == TR_RELP)
                return 0;
        if (y.tr != TR_TLS)
                return 0;
        if (cfg->tls_key[0] && !cfg->tls_cert[0]) {
                diag_set(err, EINVAL, NULL, 0, NULL, "a key without syslog-tls-cert is not used");
                sink_where(s, "syslog-tls-key", 0, err);
                return -EINVAL;
        }
        /* each file first, so that the message names the one that fails */
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                if ((r = sink_check_file(s, keys[i], 0, files[i], err)) < 0)
                        return r;
                unchecked |= r;
        }
        if (unchecked)
                return 0;
        r = syslog_tls_setup(&y, cfg, err);
        syslog_tls_free_ctx(&y);
        if (r != -EINVAL)
                return r;
        /* tls_setup names the file where the config line goes: say it in
         * the text instead */
        snprintf(key, sizeof(key), "%s", err->key);
        snprintf(was, sizeof(was), "%s", err->text);
        file = err->file && err->file[0] ? err->file : "the system's store";
        if (strcmp(key, "syslog-tls-cert") == 0 && cfg->tls_key[0])
                diag_set(err, EINVAL, NULL, 0, NULL, "%s from %s and %s", was, file,
                         cfg->tls_key);
        else
                diag_set(err, EINVAL, NULL, 0, NULL, "%s from %s", was, file);
        sink_where(s, key, 0, err);
        return r;
}

const struct sink_ops sink_syslog_ops = {
        .name = "syslog",
        .check = syslog_check,
        .open = syslog_open,
        .submit = syslog_submit,
        .flush = syslog_flush,
        .sync = NULL,
        .close = syslog_close,
        .poll_fd = syslog_poll_fd,
};
