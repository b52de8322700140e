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
#include "outputs/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>             /* librelp.h needs size_t first */
#include <librelp.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "base/buf.h"
#include "base/dlib.h"
#include "daemon/loop.h"
#include "core/stamp.h"
#include "outputs/syslog_opts.h"

#define SYSLOG_MSG_MAX (256u * 1024u)           /* one formatted message */
#define SYSLOG_PEND_MAX (256u * 1024u * 1024u)  /* unacknowledged bytes */
#define SYSLOG_BACKOFF_MIN_MS 100
#define SYSLOG_BACKOFF_MAX_MS 30000
#define SYSLOG_RELP_IDLE_MS 500                 /* then close to collect the acks */
#define SYSLOG_DGRAM_WAIT_MS 10                 /* for room at a full receiver */

enum transport { TR_UDP, TR_UNIX, TR_TCP, TR_TLS, TR_RELP };

/* librelp, loaded when a relp:// target is first checked or opened
 * (dlib.h): it maps GnuTLS and its dependencies, most of what the binary
 * would otherwise have resident at start. Every function called, each
 * named once here. */
#define RELP_FUNCS(X) X(CltConnect) X(CltReconnect) X(CltSendSyslog) X(CltSetConnTimeout) \
        X(CltSetTimeout) X(CltSetUsrPtr) X(CltSetWindowSize) X(EngineCltConstruct) \
        X(EngineCltDestruct) X(EngineConstruct) X(EngineDestruct) X(EngineSetDbgprint) \
        X(EngineSetEnableCmd) X(EngineSetOnErr) X(EngineSetOnGenericErr)

#define RELP_MEMBER(f) __typeof__(relp##f) *f;
static struct {
        RELP_FUNCS(RELP_MEMBER)
} rl;

static int relp_load(struct diag *err)
{
#define RELP_SYM(f) { "relp" #f, (void **)&rl.f },
        static void *handle;
        const struct dlib_sym syms[] = { RELP_FUNCS(RELP_SYM) };

        return dlib_load(&handle, RELP_SONAME, syms, sizeof(syms) / sizeof(syms[0]), err);
}

struct pend_msg {
        uint64_t seq;
        size_t start, len;      /* in pend */
        uint64_t raw_end;       /* transport bytes after it, 0 = not yet all written */
};

struct syslog_sink {
        enum transport tr;
        char host[256], port[16], path[sizeof(((struct sockaddr_un *)0)->sun_path)];
        int fd;
        int connected;
        struct addrinfo *ai, *ai_next;  /* tcp, tls: addresses being tried */
        int64_t connect_started_ms;     /* 0 = not connecting */
        int64_t next_try_ms, backoff_ms;
        int warned;
        SSL_CTX *ctx;
        SSL *ssl;
        relpEngine_t *relp_eng;
        relpClt_t *relp;
        int relp_failed;                /* librelp reported an error since the connect */
        uint32_t tls_wants;             /* EPOLLIN or EPOLLOUT: what the TLS step waits for */
        int dgram_held;                 /* udp, unix: the last datagram found no room */
        unsigned relp_window;           /* the window librelp really uses */
        int64_t last_send_ms;
        uint64_t raw_written;           /* tcp: bytes written on this connection */
        struct buf pend;                /* frames not yet acknowledged */
        size_t pend_start;
        struct pend_msg *q;             /* their sequence numbers, oldest first */
        size_t qhead, qlen, qcap;
        size_t sent_idx, sent_off;      /* next message (index from qhead) to write */
        struct buf msg;
        int sd_keys[8];                 /* structured-data fields, key ids */
        const struct keys *keys;
        char hostname[256];
};

static const struct { const char *param, *field; } sd_params[] = {
        { "log_type", "smartermail.log_type" },
        { "session_id", "smartermail.session_id" },
        { "delivery_id", "smartermail.delivery.id" },
        { "source_ip", "source.ip" },
        { "action", "event.action" },
        { "outcome", "event.outcome" },
        { "user", "user.name" },
        { "spool_id", "smartermail.spool.id" },
};

static const struct syslog_cfg *cfg_of(const struct sink *s)
{
        return s->cfg;
}

/* ---- target and formatting --------------------------------------------- */

static int parse_target(struct syslog_sink *y, const char *t, struct diag *err)
{
        static const struct { const char *scheme; enum transport tr; } schemes[] = {
                { "udp://", TR_UDP }, { "tcp://", TR_TCP }, { "tls://", TR_TLS },
                { "relp://", TR_RELP }, { "unix://", TR_UNIX },
        };
        const char *rest = NULL, *colon;

        for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
                if (!strncmp(t, schemes[i].scheme, strlen(schemes[i].scheme))) {
                        y->tr = schemes[i].tr;
                        rest = t + strlen(schemes[i].scheme);
                }
        if (!rest)
                return diag_set(err, EINVAL, NULL, 0, "syslog-target",
                                "'%s': use udp://, tcp://, tls://, relp://HOST:PORT or unix:///PATH", t);
        if (y->tr == TR_UNIX) {
                if (rest[0] != '/' || strlen(rest) >= sizeof(y->path))
                        return diag_set(err, EINVAL, NULL, 0, "syslog-target",
                                        "'%s': unix:// needs an absolute socket path", t);
                snprintf(y->path, sizeof(y->path), "%s", rest);
                return 0;
        }
        if (rest[0] == '[') {           /* [v6]:port */
                const char *close = strchr(rest, ']');
                if (!close || close[1] != ':')
                        return diag_set(err, EINVAL, NULL, 0, "syslog-target", "'%s': bad [address]:port", t);
                snprintf(y->host, sizeof(y->host), "%.*s", (int)(close - rest - 1), rest + 1);
                colon = close + 1;
        } else {
                colon = strrchr(rest, ':');
                if (!colon)
                        return diag_set(err, EINVAL, NULL, 0, "syslog-target", "'%s': no :PORT", t);
                snprintf(y->host, sizeof(y->host), "%.*s", (int)(colon - rest), rest);
        }
        snprintf(y->port, sizeof(y->port), "%s", colon + 1);
        if (!y->host[0] || atoi(y->port) <= 0 || atoi(y->port) > 65535)
                return diag_set(err, EINVAL, NULL, 0, "syslog-target", "'%s': bad host or port", t);
        return 0;
}

/* RFC 5424 PRINTUSASCII field, at most max characters, "-" when empty. */
static void put_header_field(struct buf *b, const char *p, size_t n, size_t max)
{
        size_t o = 0;

        for (size_t i = 0; i < n && o < max; i++)
                if (p[i] > 32 && p[i] < 127) {
                        buf_putc(b, p[i]);
                        o++;
                }
        if (!o)
                buf_putc(b, '-');
}

static const char *text_of(const struct event *ev, int key, size_t *len)
{
        if (key < 0)
                return NULL;
        return event_get_str(ev, (unsigned)key, len);
}

static void put_sd(struct syslog_sink *y, const struct sink *s, const struct event *ev)
{
        int any = 0;

        for (size_t i = 0; i < sizeof(sd_params) / sizeof(sd_params[0]); i++) {
                size_t n;
                const char *v = text_of(ev, y->sd_keys[i], &n);

                if (!v)
                        continue;
                if (!any) {
                        buf_lit(&y->msg, "[smartermail@");
                        buf_int(&y->msg, (long long)cfg_of(s)->enterprise_number);
                        any = 1;
                }
                buf_putc(&y->msg, ' ');
                buf_put(&y->msg, sd_params[i].param, strlen(sd_params[i].param));
                buf_lit(&y->msg, "=\"");
                for (size_t k = 0; k < n; k++) {
                        if (v[k] == '"' || v[k] == '\\' || v[k] == ']')
                                buf_putc(&y->msg, '\\');
                        buf_putc(&y->msg, v[k]);
                }
                buf_putc(&y->msg, '"');
        }
        if (any)
                buf_putc(&y->msg, ']');
        else
                buf_putc(&y->msg, '-');
}

static void resolve_sd_keys(struct syslog_sink *y, const struct keys *keys)
{
        if (y->keys == keys)
                return;
        for (size_t i = 0; i < sizeof(sd_params) / sizeof(sd_params[0]); i++)
                y->sd_keys[i] = keys_find(keys, sd_params[i].field);
        y->keys = keys;
}

/* The whole message (without framing) into y->msg. */
static int format_msg(struct syslog_sink *y, const struct sink *s, const struct event *ev)
{
        const struct syslog_cfg *cfg = s->cfg;
        size_t hl = 0, tl = 0;
        const char *host = event_get_str(ev, K_HOST_NAME, &hl);
        const char *type = event_get_str(ev, K_SM_LOG_TYPE, &tl);
        int pri = 2 * 8 + ev->severity;         /* facility mail */
        char ts[24];
        size_t mark;

        y->msg.len = 0;
        y->msg.failed = 0;
        buf_putc(&y->msg, '<');
        buf_int(&y->msg, pri);
        buf_putc(&y->msg, '>');
        if (cfg->format == SYSLOG_RFC5424) {
                stamp_format_utc(ev->ts_ms, ts);
                buf_lit(&y->msg, "1 ");
                buf_put(&y->msg, ts, 24);
                buf_putc(&y->msg, ' ');
                put_header_field(&y->msg, host, hl, 255);
                buf_putc(&y->msg, ' ');
                put_header_field(&y->msg, cfg->app_name, strlen(cfg->app_name), 48);
                buf_lit(&y->msg, " - ");
                put_header_field(&y->msg, type, tl, 32);
                buf_putc(&y->msg, ' ');
                if (cfg->structured_data) {
                        resolve_sd_keys(y, ev->keys);
                        put_sd(y, s, ev);
                } else {
                        buf_putc(&y->msg, '-');
                }
                buf_putc(&y->msg, ' ');
        } else {
                /* RFC 3164: local time of the zone the logs were written in */
                static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
                time_t t = (time_t)(ev->ts_ms / 1000);
                struct tm tm;
                char hdr[64];

                stamp_local_tm(t, &tm);
                snprintf(hdr, sizeof(hdr), "%s %2d %02d:%02d:%02d ", mon[tm.tm_mon], tm.tm_mday,
                         tm.tm_hour, tm.tm_min, tm.tm_sec);
                buf_put(&y->msg, hdr, strlen(hdr));
                put_header_field(&y->msg, host, hl, 255);
                buf_putc(&y->msg, ' ');
                put_header_field(&y->msg, cfg->app_name, strlen(cfg->app_name), 32);
                buf_lit(&y->msg, ": ");
        }
        if (cfg->message == SYSLOG_MSG_CEE)
                buf_lit(&y->msg, "@cee: ");
        mark = y->msg.len;
        if (encode_json(ev, s->enc, &y->msg) < 0 || y->msg.failed)
                return -E2BIG;
        if (y->msg.len > mark && y->msg.p[y->msg.len - 1] == '\n')
                y->msg.len--;
        return 0;
}

/* ---- connections ------------------------------------------------------- */

static void log_ssl_errors(const char *what)
{
        unsigned long e;
        char b[256];

        while ((e = ERR_get_error())) {
                ERR_error_string_n(e, b, sizeof(b));
                log_msg(LOG_LVL_WARNING, "syslog: %s: %s", what, b);
        }
}

static int tls_setup(struct syslog_sink *y, const struct syslog_cfg *cfg, struct diag *err)
{
        y->ctx = SSL_CTX_new(TLS_client_method());
        if (!y->ctx)
                return -ENOMEM;
        /* verification first: no context exists, even briefly, without it */
        SSL_CTX_set_verify(y->ctx, cfg->tls_verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
        SSL_CTX_set_min_proto_version(y->ctx, TLS1_2_VERSION);
        if (cfg->tls_ca[0] ? !SSL_CTX_load_verify_locations(y->ctx, cfg->tls_ca, NULL)
                                : !SSL_CTX_set_default_verify_paths(y->ctx)) {
                ERR_clear_error();
                SSL_CTX_free(y->ctx);
                y->ctx = NULL;  /* a failed open leaves nothing to connect with */
                return diag_set(err, EINVAL, cfg->tls_ca, 0, "syslog-tls-ca",
                                "cannot load the CA certificates");
        }
        if (cfg->tls_cert[0] &&
            (!SSL_CTX_use_certificate_chain_file(y->ctx, cfg->tls_cert) ||
             !SSL_CTX_use_PrivateKey_file(y->ctx, cfg->tls_key[0] ? cfg->tls_key
                                                                       : cfg->tls_cert,
                                          SSL_FILETYPE_PEM) ||
             !SSL_CTX_check_private_key(y->ctx))) {
                ERR_clear_error();
                SSL_CTX_free(y->ctx);
                y->ctx = NULL;
                return diag_set(err, EINVAL, cfg->tls_cert, 0, "syslog-tls-cert",
                                "cannot load the client certificate and its key");
        }
        SSL_CTX_set_mode(y->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        return 0;
}

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

/* One step of the TLS handshake: 0 when done, -EAGAIN while in progress,
 * another negative errno when it failed. */
static int tls_handshake_step(struct syslog_sink *y, const struct syslog_cfg *cfg)
{
        const char *name = cfg->tls_server_name[0] ? cfg->tls_server_name : y->host;
        int r, e;

        if (!y->ctx)
                return -EINVAL;         /* its open failed (SIGHUP): said then */
        if (!y->ssl) {
                y->ssl = SSL_new(y->ctx);
                if (!y->ssl)
                        return -ENOMEM;
                SSL_set_fd(y->ssl, y->fd);
                SSL_set_tlsext_host_name(y->ssl, name);
                if (cfg->tls_verify)
                        SSL_set1_host(y->ssl, name);
        }
        r = SSL_connect(y->ssl);
        if (r == 1)
                return 0;
        e = SSL_get_error(y->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                y->tls_wants = e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT;
                return -EAGAIN;
        }
        {
                long v = SSL_get_verify_result(y->ssl);
                if (v != X509_V_OK)
                        log_msg(LOG_LVL_WARNING, "syslog: tls: certificate of %s: %s",
                                name, X509_verify_cert_error_string(v));
        }
        log_ssl_errors("tls handshake");
        return -ECONNREFUSED;
}

/* usr is the sink (relpCltSetUsrPtr), NULL for engine-wide errors. */
static void relp_err(void *usr, char *obj, char *msg, relpRetVal code)
{
        struct syslog_sink *y = usr;

        if (y)
                y->relp_failed = 1;
        log_msg(LOG_LVL_DEBUG, "syslog: relp: %s: %s (%d)", obj ? obj : "", msg ? msg : "", (int)code);
}

/* librelp calls its debug printer unconditionally while constructing a
 * client: without one it dereferences NULL. */
static void relp_dbg(char *fmt, ...)
{
        (void)fmt;
}

static void relp_generic_err(char *obj, char *msg, relpRetVal code)
{
        relp_err(NULL, obj, msg, code);
}

static void disconnect(struct syslog_sink *y)
{
        if (y->ssl) {
                SSL_free(y->ssl);
                y->ssl = NULL;
        }
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

static void connection_failed(struct syslog_sink *y, const char *what, int err)
{
        int64_t now = loop_now_ms();

        if (!y->warned)
                log_msg(LOG_LVL_WARNING, "syslog: %s %s: %s; retrying with back-off", what,
                        y->tr == TR_UNIX ? y->path : y->host, strerror(err > 0 ? err : -err));
        y->warned = 1;
        y->next_try_ms = now + y->backoff_ms;
        y->backoff_ms = y->backoff_ms * 2 > SYSLOG_BACKOFF_MAX_MS ? SYSLOG_BACKOFF_MAX_MS
                                                                  : y->backoff_ms * 2;
        disconnect(y);
}

static int do_connect(struct syslog_sink *y, const struct syslog_cfg *cfg)
{
        int timeout = (int)cfg->connect_timeout_ms;
        int r;

        if (y->connected)
                return 0;
        if (loop_now_ms() < y->next_try_ms)
                return -EAGAIN;
        switch (y->tr) {
        case TR_UNIX: {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", y->path);
                y->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (y->fd < 0 || connect(y->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                        connection_failed(y, "connect to", errno);
                        return -EAGAIN;
                }
                break;
        }
        case TR_UDP:
        case TR_TCP:
        case TR_TLS:
                if (!y->connect_started_ms)
                        y->connect_started_ms = loop_now_ms();
                if (!y->ssl) {
                        r = connect_inet_step(y, y->tr == TR_UDP ? SOCK_DGRAM : SOCK_STREAM);
                        if (r == -EAGAIN && loop_now_ms() - y->connect_started_ms >= timeout) {
                                /* this address does not answer: the next
                                 * one, if any, gets a timeout of its own */
                                close(y->fd);
                                y->fd = -1;
                                r = connect_next(y);
                                y->connect_started_ms = loop_now_ms();
                                r = r < 0 ? -ETIMEDOUT : -EAGAIN;
                        }
                        if (r == -EAGAIN)
                                return -EAGAIN;
                        if (r < 0) {
                                connection_failed(y, "connect to", r);
                                return -EAGAIN;
                        }
                        if (y->ai)
                                freeaddrinfo(y->ai);
                        y->ai = y->ai_next = NULL;
                }
                if (y->tr == TR_TLS) {
                        r = tls_handshake_step(y, cfg);
                        if (r == -EAGAIN && loop_now_ms() - y->connect_started_ms >= timeout)
                                r = -ETIMEDOUT;
                        if (r == -EAGAIN)
                                return -EAGAIN;
                        if (r < 0) {
                                connection_failed(y, "TLS handshake with", r);
                                return -EAGAIN;
                        }
                }
                y->connect_started_ms = 0;
                break;
        case TR_RELP:
                if (!y->relp) {
                        if (rl.EngineCltConstruct(y->relp_eng, &y->relp) != RELP_RET_OK)
                                return -ENOMEM;
                        rl.CltSetUsrPtr(y->relp, y);
                        rl.CltSetTimeout(y->relp, (unsigned)(timeout / 1000 ? timeout / 1000 : 1));
                        rl.CltSetConnTimeout(y->relp, timeout / 1000 ? timeout / 1000 : 1);
                        rl.CltSetWindowSize(y->relp, (int)y->relp_window);
                        if (rl.CltConnect(y->relp, 0, (unsigned char *)y->port,
                                           (unsigned char *)y->host) != RELP_RET_OK) {
                                rl.EngineCltDestruct(y->relp_eng, &y->relp);
                                y->relp = NULL;
                                connection_failed(y, "RELP connect to", ECONNREFUSED);
                                return -EAGAIN;
                        }
                } else if (rl.CltReconnect(y->relp) != RELP_RET_OK) {
                        connection_failed(y, "RELP reconnect to", ECONNREFUSED);
                        return -EAGAIN;
                }
                y->relp_failed = 0;
                break;
        }
        if (y->warned)
                log_msg(LOG_LVL_NOTICE, "syslog: connected to %s again",
                        y->tr == TR_UNIX ? y->path : y->host);
        y->warned = 0;
        y->connected = 1;
        y->backoff_ms = SYSLOG_BACKOFF_MIN_MS;
        return 0;
}

/* ---- the queue of unacknowledged messages ------------------------------- */

static struct pend_msg *qat(struct syslog_sink *y, size_t i)
{
        return &y->q[(y->qhead + i) % y->qcap];
}

static int enqueue(struct syslog_sink *y, uint64_t seq, const char *p, size_t n)
{
        struct pend_msg *m;

        if (y->qlen == y->qcap) {
                size_t cap = y->qcap ? y->qcap * 2 : 1024;
                struct pend_msg *q = malloc(cap * sizeof(*q));
                if (!q)
                        return -ENOMEM;
                for (size_t i = 0; i < y->qlen; i++)
                        q[i] = *qat(y, i);
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
                        qat(y, i)->start -= y->pend_start;
                y->pend.len -= y->pend_start;
                y->pend_start = 0;
        }
        y->pend.failed = 0;
        buf_put(&y->pend, p, n);
        if (y->pend.failed)
                return -EAGAIN;
        m = qat(y, y->qlen++);
        m->seq = seq;
        m->start = y->pend.len - n;
        m->len = n;
        m->raw_end = 0;
        return 0;
}

/* The oldest message, sent, was delivered: acknowledge and drop it. */
static void pop_delivered(struct sink *s)
{
        struct syslog_sink *y = s->priv;
        struct pend_msg *m = qat(y, 0);

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
                struct pend_msg *m = qat(y, 0);
                if (!m->raw_end || m->raw_end > acked_raw)
                        break;
                pop_delivered(s);
        }
}

static uint64_t raw_count(struct syslog_sink *y)
{
        return y->tr == TR_TLS ? (uint64_t)BIO_number_written(SSL_get_wbio(y->ssl)) : y->raw_written;
}

/* Write queued stream messages; ack what the peer's TCP acknowledged. */
static int stream_flush(struct sink *s)
{
        struct syslog_sink *y = s->priv;
        int outq = 0;

        if (!y->qlen) {
                /* a connect or handshake under way goes on while idle, so
                 * that its timeout measures the receiver, not our quiet */
                if (y->connect_started_ms && !y->connected)
                        return do_connect(y, cfg_of(s)) < 0 && y->connect_started_ms ? -EAGAIN : 0;
                return 0;
        }
        if (do_connect(y, cfg_of(s)) < 0)
                return -EAGAIN;
        while (y->sent_idx < y->qlen) {
                struct pend_msg *m = qat(y, y->sent_idx);
                const char *p = y->pend.p + m->start + y->sent_off;
                size_t n = m->len - y->sent_off;
                ssize_t w;

                if (y->tr == TR_TLS) {
                        int r = SSL_write(y->ssl, p, (int)n), e;
                        if (r > 0) {
                                w = r;
                                y->tls_wants = 0;
                        } else {
                                e = SSL_get_error(y->ssl, r);
                                y->tls_wants = e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT;
                                if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
                                        break;
                                log_ssl_errors("write");
                                connection_failed(y, "TLS write to", EPIPE);
                                return -EAGAIN;
                        }
                } else {
                        w = send(y->fd, p, n, MSG_NOSIGNAL);
                        if (w < 0 && (errno == EAGAIN || errno == EINTR))
                                break;
                        if (w < 0) {
                                connection_failed(y, "write to", errno);
                                return -EAGAIN;
                        }
                        y->raw_written += (uint64_t)w;
                }
                y->sent_off += (size_t)w;
                if (y->sent_off == m->len) {
                        m->raw_end = raw_count(y);
                        y->sent_idx++;
                        y->sent_off = 0;
                }
        }
        if (ioctl(y->fd, SIOCOUTQ, &outq) < 0)
                outq = 0;
        dequeue_acked(s, raw_count(y) - (uint64_t)outq);
        if (y->qlen) {
                /* a peer that closed shows up as EOF on read, one that
                 * reset as a socket error; the error is the only sign when
                 * unread bytes (TLS 1.3 session tickets) hide the EOF */
                char c;
                int e = 0;
                socklen_t l = sizeof(e);
                ssize_t r = recv(y->fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
                    (getsockopt(y->fd, SOL_SOCKET, SO_ERROR, &e, &l) == 0 && e)) {
                        connection_failed(y, "connection closed by", ECONNRESET);
                        return -EAGAIN;
                }
        }
        return y->qlen ? -EAGAIN : 0;
}

/* ---- the ops ------------------------------------------------------------ */

static int syslog_open(struct sink *s, struct diag *err)
{
        struct syslog_sink *y = calloc(1, sizeof(*y));
        int r;

        if (!y)
                return -ENOMEM;
        s->priv = y;
        y->fd = -1;
        y->backoff_ms = SYSLOG_BACKOFF_MIN_MS;
        buf_init(&y->pend, SYSLOG_PEND_MAX);
        buf_init(&y->msg, SYSLOG_MSG_MAX);
        for (size_t i = 0; i < sizeof(y->sd_keys) / sizeof(y->sd_keys[0]); i++)
                y->sd_keys[i] = -1;
        if ((r = parse_target(y, cfg_of(s)->target, err)) < 0)
                return r;
        snprintf(s->target, sizeof(s->target), "syslog %s", cfg_of(s)->target);
        if (y->tr == TR_TLS && (r = tls_setup(y, cfg_of(s), err)) < 0)
                return r;
        if (y->tr == TR_RELP) {
                /* librelp ignores a window below 2 (and keeps 128) */
                y->relp_window = cfg_of(s)->relp_window < 2 ? 2
                                 : (unsigned)cfg_of(s)->relp_window;
                if ((r = relp_load(err)) < 0)
                        return r;
                if (rl.EngineConstruct(&y->relp_eng) != RELP_RET_OK)
                        return -ENOMEM;
                rl.EngineSetDbgprint(y->relp_eng, relp_dbg);
                rl.EngineSetOnErr(y->relp_eng, relp_err);
                rl.EngineSetOnGenericErr(y->relp_eng, relp_generic_err);
                rl.EngineSetEnableCmd(y->relp_eng, (unsigned char *)"syslog", eRelpCmdState_Required);
        }
        /* connect now to report a problem early; a refusal is retried */
        (void)do_connect(y, cfg_of(s));
        return 0;
}

static int frame_stream(struct syslog_sink *y, const struct sink *s, uint64_t seq)
{
        char pre[24];
        int n;

        if (cfg_of(s)->framing == FRAMING_NEWLINE) {
                buf_putc(&y->msg, '\n');
                return enqueue(y, seq, y->msg.p, y->msg.len);
        }
        n = snprintf(pre, sizeof(pre), "%zu ", y->msg.len);
        /* the length prefix goes in front: enqueue both as one frame */
        if (buf_reserve(&y->msg, (size_t)n) < 0)
                return -E2BIG;
        memmove(y->msg.p + n, y->msg.p, y->msg.len);
        memcpy(y->msg.p, pre, (size_t)n);
        y->msg.len += (size_t)n;
        return enqueue(y, seq, y->msg.p, y->msg.len);
}

/* Send the queued messages this session has not had yet; reconnect a
 * broken session even when there are none (librelp then resends what it
 * holds unacknowledged). */
static int relp_push(struct sink *s)
{
        struct syslog_sink *y = s->priv;

        if (!y->qlen || (y->connected && y->sent_idx == y->qlen))
                return 0;
        if (do_connect(y, cfg_of(s)) < 0)
                return -EAGAIN;
        while (y->sent_idx < y->qlen) {
                struct pend_msg *m = qat(y, y->sent_idx);

                if (rl.CltSendSyslog(y->relp, (unsigned char *)y->pend.p + m->start,
                                      m->len) != RELP_RET_OK) {
                        connection_failed(y, "RELP send to", ECONNRESET);
                        return -EAGAIN;
                }
                y->sent_idx++;
                y->last_send_ms = loop_now_ms();
                /* librelp blocks at window-many unacknowledged messages:
                 * everything sent on this session that many before this one
                 * is acknowledged */
                while (y->sent_idx > y->relp_window)
                        pop_delivered(s);
        }
        return 0;
}

/* Close the session: librelp waits for the acknowledgement of everything
 * it holds. It returns OK even when the session was broken or the close
 * timed out, and then drops what it held: only a close that reported no
 * error acknowledged it; otherwise a new session gets it from the queue. */
static int relp_close(struct sink *s)
{
        struct syslog_sink *y = s->priv;

        rl.EngineCltDestruct(y->relp_eng, &y->relp);
        y->relp = NULL;
        if (y->relp_failed) {
                y->sent_idx = 0;
                connection_failed(y, "RELP close of the session with", ETIMEDOUT);
                return -EAGAIN;
        }
        while (y->sent_idx)
                pop_delivered(s);
        y->connected = 0;
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

        if ((r = format_msg(y, s, ev)) < 0)
                return r;
        switch (y->tr) {
        case TR_UDP:
        case TR_UNIX:
                if (do_connect(y, cfg_of(s)) < 0)
                        return -EAGAIN;
                y->dgram_held = 0;
                if (send_dgram(y) < 0) {
                        if (errno == EAGAIN || errno == ENOBUFS) {
                                y->dgram_held = 1;
                                return -EAGAIN;
                        }
                        if (errno == EMSGSIZE)
                                return -E2BIG;  /* never fits a datagram: skipped, said */
                        connection_failed(y, "send to", errno);
                        return -EAGAIN;
                }
                inflight_done(s->ack, ev->seq, 0);
                return 0;
        case TR_TCP:
        case TR_TLS:
                if (y->pend.len - y->pend_start > SYSLOG_PEND_MAX / 2)
                        return -EAGAIN;
                if ((r = frame_stream(y, s, ev->seq)) < 0)
                        return r;
                if (y->qlen - y->sent_idx > 64)
                        (void)stream_flush(s);
                return 0;
        case TR_RELP:
                if (y->pend.len - y->pend_start > SYSLOG_PEND_MAX / 2)
                        return -EAGAIN;
                if ((r = enqueue(y, ev->seq, y->msg.p, y->msg.len)) < 0)
                        return r;
                (void)relp_push(s);     /* queued: flush retries */
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
                return stream_flush(s);
        case TR_RELP:
                if (relp_push(s) < 0)
                        return -EAGAIN;
                if (!y->qlen)
                        return 0;
                /* all sent; the last acknowledgements only come with a
                 * close: when stopping, or when idle (a window that cannot
                 * hold librelp's would wait for them for ever) */
                if (!deadline_ms && loop_now_ms() - y->last_send_ms < SYSLOG_RELP_IDLE_MS)
                        return -EAGAIN;
                return relp_close(s);
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
        /* end the TLS session with close_notify: without it the receiver
         * sees a truncated session and logs an error. One try, as the
         * socket is non-blocking; its result changes nothing here. */
        if (y->ssl && y->connected)
                (void)SSL_shutdown(y->ssl);
        disconnect(y);
        if (y->relp)
                rl.EngineCltDestruct(y->relp_eng, &y->relp);
        if (y->relp_eng)
                rl.EngineDestruct(&y->relp_eng);
        if (y->ctx)
                SSL_CTX_free(y->ctx);
        buf_done(&y->pend);
        buf_done(&y->msg);
        free(y->q);
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
        if ((r = parse_target(&y, cfg->target, err)) < 0) {
                sink_where(s, "syslog-target", 0, err);
                return r;
        }
        if (y.tr == TR_RELP && (r = relp_load(err)) < 0) {
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
        r = tls_setup(&y, cfg, err);
        if (y.ctx)
                SSL_CTX_free(y.ctx);
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
