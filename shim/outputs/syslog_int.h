/* SPDX-License-Identifier: MIT */
/* Inside the syslog output: its state, shared by the files it is split
 * into by concern. sink_syslog.c holds the ops (open, submit, flush, close,
 * check, poll_fd) and datagrams; syslog_format.c the target URL and the
 * message (header, structured data, framing); syslog_conn.c connecting
 * with back-off, the queue of unacknowledged messages and the stream
 * flush; syslog_tls.c OpenSSL; syslog_relp.c librelp. OpenSSL's and
 * librelp's headers stay in their one file each: their types are named
 * here by struct tag only. Nothing outside the syslog output includes
 * this. */
#ifndef SHIM_SYSLOG_INT_H
#define SHIM_SYSLOG_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "base/buf.h"
#include "outputs/sink.h"
#include "outputs/syslog_opts.h"

#define SYSLOG_MSG_MAX (256u * 1024u)           /* one formatted message */
#define SYSLOG_PEND_MAX (256u * 1024u * 1024u)  /* unacknowledged bytes */
#define SYSLOG_BACKOFF_MIN_MS 100
#define SYSLOG_BACKOFF_MAX_MS 30000
#define SYSLOG_RELP_IDLE_MS 500                 /* then close to collect the acks */
#define SYSLOG_DGRAM_WAIT_MS 10                 /* for room at a full receiver */
#define SYSLOG_SD_PARAMS 8                      /* structured-data parameters */

enum transport { TR_UDP, TR_UNIX, TR_TCP, TR_TLS, TR_RELP };

struct ssl_ctx_st;
struct ssl_st;
struct relpEngine_s;
struct relpClt_s;
struct addrinfo;

struct pend_msg {
        uint64_t seq;
        size_t start, len;      /* in pend */
        uint64_t raw_end;       /* transport bytes after it, 0 = not yet all written */
};

struct syslog_sink {
        const struct syslog_cfg *cfg;
        enum transport tr;
        char host[256], port[16], path[sizeof(((struct sockaddr_un *)0)->sun_path)];
        int fd;
        int connected;
        struct addrinfo *ai, *ai_next;  /* tcp, tls: addresses being tried */
        int64_t connect_started_ms;     /* 0 = not connecting */
        int64_t next_try_ms, backoff_ms;
        int warned;
        struct ssl_ctx_st *ctx;
        struct ssl_st *ssl;
        uint32_t tls_wants;             /* EPOLLIN or EPOLLOUT: what the TLS step waits for */
        struct relpEngine_s *relp_eng;
        struct relpClt_s *relp;
        int relp_failed;                /* librelp reported an error since the connect */
        unsigned relp_window;           /* the window librelp really uses */
        int64_t last_send_ms;
        int dgram_held;                 /* udp, unix: the last datagram found no room */
        uint64_t raw_written;           /* tcp: bytes written on this connection */
        struct buf pend;                /* frames not yet acknowledged */
        size_t pend_start;
        struct pend_msg *q;             /* their sequence numbers, oldest first */
        size_t qhead, qlen, qcap;
        size_t sent_idx, sent_off;      /* next message (index from qhead) to write */
        struct buf msg;
        struct event *cut;              /* an event cut to fit a message */
        int cut_said;                   /* that events are cut was logged */
        int sd_keys[SYSLOG_SD_PARAMS];  /* structured-data fields, key ids */
        const struct keys *keys;
};

/* syslog_format.c */

/* The transport, host and port (or path) of a --syslog-target URL into y.
 * Returns 0 or -EINVAL (err says why, its key syslog-target). */
int syslog_parse_target(struct syslog_sink *y, const char *t, struct diag *err);

/* The whole message (without framing) into y->msg, an event too large for
 * one cut to fit and tagged (smartermail_truncated). Returns 0 or -E2BIG. */
int syslog_format_msg(struct syslog_sink *y, const struct sink *s, const struct event *ev);

/* y->msg framed for a stream (octet count or newline) and queued. */
int syslog_frame_stream(struct syslog_sink *y, uint64_t seq);

/* syslog_conn.c */

/* Connect, or take the next step of connecting, with step (the
 * transport's: syslog_relp_connect for RELP): 0 when connected, -EAGAIN
 * while under way or backing off (a failure was logged once). */
int syslog_connect_with(struct syslog_sink *y, int (*step)(struct syslog_sink *y, int timeout_ms));
/* The same for the stream and datagram transports (not RELP). */
int syslog_connect(struct syslog_sink *y);
/* Close the connection, back off and say so once. */
void syslog_connection_failed(struct syslog_sink *y, const char *what, int err);
void syslog_disconnect(struct syslog_sink *y);

struct pend_msg *syslog_qat(struct syslog_sink *y, size_t i);
/* Queue n bytes at p as the message of record seq: 0, -EAGAIN (no room)
 * or -ENOMEM. */
int syslog_enqueue(struct syslog_sink *y, uint64_t seq, const char *p, size_t n);
/* The oldest message, sent, was delivered: acknowledge and drop it. */
void syslog_pop_delivered(struct sink *s);

/* tcp, tls: write queued messages, acknowledge what the peer's TCP
 * acknowledged. 0 when nothing is left, -EAGAIN when some is. */
int syslog_stream_flush(struct sink *s);

/* syslog_tls.c */

/* The context for tls: verification, CA, client certificate. Returns 0,
 * -ENOMEM or -EINVAL (err names the file and the setting; y->ctx NULL). */
int syslog_tls_setup(struct syslog_sink *y, const struct syslog_cfg *cfg, struct diag *err);
/* One step of the handshake on y->fd: 0 when done, -EAGAIN while under way
 * (y->tls_wants says for what), another negative errno when it failed. */
int syslog_tls_handshake_step(struct syslog_sink *y);
/* Write: bytes written, -EAGAIN (y->tls_wants says for what) or -EPIPE. */
ssize_t syslog_tls_write(struct syslog_sink *y, const char *p, size_t n);
/* Bytes written to the socket on this session, TLS records included. */
uint64_t syslog_tls_written(struct syslog_sink *y);
/* End the session (with close_notify when notify) and free it. */
void syslog_tls_end(struct syslog_sink *y, int notify);
void syslog_tls_free_ctx(struct syslog_sink *y);

/* syslog_relp.c */

/* Load librelp (dlib.h): 0 or -errno, err says why. */
int syslog_relp_load(struct diag *err);
/* The engine for a relp target. Returns 0, -ENOMEM or what loading says. */
int syslog_relp_open(struct syslog_sink *y, struct diag *err);
/* Connect (or reconnect) the session: 0, or -EAGAIN after a failure. */
int syslog_relp_connect(struct syslog_sink *y, int timeout_ms);
/* Send what this session has not had yet: 0 or -EAGAIN. */
int syslog_relp_push(struct sink *s);
/* Close the session to collect the acknowledgements: 0 or -EAGAIN. */
int syslog_relp_close(struct sink *s);
void syslog_relp_free(struct syslog_sink *y);

#endif
