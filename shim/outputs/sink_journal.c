/* SPDX-License-Identifier: MIT */
/* Output to systemd-journald: one journal entry per event with native
 * upper-case fields (SOURCE_IP, SMARTERMAIL_SESSION_ID, ...), PRIORITY from
 * the severity, SYSLOG_IDENTIFIER=smartermail, the record's own time in
 * SMARTERMAIL_TIMESTAMP (journald stamps arrival), and a MESSAGE_ID per kind
 * of event explained by deploy/smartermail-shim.catalog.
 *
 * The entries go over journald's native protocol
 * (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/) on a datagram socket of our
 * own, connected to journald's. libsystemd's sd_journal_sendv speaks the
 * same protocol but blocks for as long as journald does not read (a
 * journald that hangs, or is stopped, would stop the whole daemon: no
 * signal answered, no watchdog ping), and has no bounded variant. Ours
 * waits in the kernel for room in journald's queue at most
 * JOURNAL_WAIT_MS (SO_SNDTIMEO): one system call per entry while journald
 * keeps up, and -EAGAIN (reading pauses) when it does not.
 * An entry too large for one datagram goes in a sealed memfd, as
 * sd_journal_sendv does. A missing or dead socket is reconnected with
 * back-off; nothing is dropped. */
#include "outputs/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/buf.h"
#include "core/stamp.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#define JOURNAL_ENTRY_MIN (4u << 20)    /* bytes of one entry, at least */
#define JOURNAL_ENTRY_CAP (256u << 20)  /* and at most (journald takes 768 MiB) */
#define JOURNAL_DGRAM_MAX (128u << 10)  /* larger entries go in a memfd */
#define JOURNAL_SNDBUF (8 << 20)        /* as libsystemd asks; the kernel may cap it */
#define JOURNAL_WAIT_MS 100             /* for room in a full queue, per send */

struct journal_kind {
        const char *name;
        const char *id;         /* MESSAGE_ID, 128 bit, never changes */
};

/* Keep in step with deploy/smartermail-shim.catalog (a test checks). */
static const struct journal_kind kinds[] = {
        { "auth-failure", "06bf92d7edbd498893c90f8b70b09384" },
        { "auth-success", "e3c445a8e3914772a58905d7e0bab8be" },
        { "delivery-failed", "d14987a83a8a4638b04e19526eecf4d4" },
        { "delivery-deferred", "71315722da384759a4cadac03e409851" },
        { "delivery-delivered", "93055d58d9a34928853f4fee71a53e84" },
        { "blocked", "9892033bb7ce44e2b954a7b27a28777d" },
        { "exception", "dd23039e32c24f67a70e7178fcbfa1bf" },
        { "smtp-reject", "b585452d053c4c2bb75f7f734b2abc89" },
        { "unparsed", "56d3f2fabd324a76b7e099b56e4e76c9" },
        { "record", "5521134e04854fab8a789c06017663ef" },
        { "smtp-session", "1dedbd8f82c74470b5f32f1773c27e8e" },
        { "delivery-summary", "334fe3c9aa9d4e399fbe64a9bde106fe" },
};

enum kind_idx { KIND_AUTH_FAILURE, KIND_AUTH_SUCCESS, KIND_DELIVERY_FAILED,
                KIND_DELIVERY_DEFERRED, KIND_DELIVERY_DELIVERED, KIND_BLOCKED,
                KIND_EXCEPTION, KIND_SMTP_REJECT, KIND_UNPARSED, KIND_RECORD,
                KIND_SMTP_SESSION, KIND_DELIVERY_SUMMARY };

struct journal_sink {
        struct buf entry;               /* the datagram: fields in native format */
        const struct keys *keys;        /* names below belong to these keys */
        char (*names)[KEY_NAME_MAX];    /* journald name per key id */
        int fd;                         /* connected to JOURNAL_SOCKET, or -1 */
        uint64_t sent, refused;
        int down;                       /* last attempt failed: say so once */
        int full;                       /* journald's queue was full: said once */
};

static int has_value(const struct event *ev, unsigned key, const char *v)
{
        size_t n = strlen(v);

        for (unsigned i = 0; i < ev->nfields; i++) {
                const struct field *f = &ev->f[i];
                if (f->key == key && (f->kind == VAL_STR || f->kind == VAL_SAFE) &&
                    f->len == n && memcmp(f->v.str, v, n) == 0)
                        return 1;
        }
        return 0;
}

static enum kind_idx kind_of(const struct event *ev)
{
        int auth = has_value(ev, K_EVENT_CATEGORY, "authentication");
        int fail = has_value(ev, K_EVENT_OUTCOME, "failure");

        /* summaries (summary.c) first: one id each, whatever their outcome */
        if (has_value(ev, K_EVENT_ACTION, "smtp-session"))
                return KIND_SMTP_SESSION;
        if (has_value(ev, K_EVENT_ACTION, "delivery"))
                return KIND_DELIVERY_SUMMARY;
        if (has_value(ev, K_TAGS, "smartermail_unparsed"))
                return KIND_UNPARSED;
        if (has_value(ev, K_EVENT_ACTION, "exception"))
                return KIND_EXCEPTION;
        if (has_value(ev, K_EVENT_TYPE, "denied"))
                return KIND_BLOCKED;
        if (auth && fail)
                return KIND_AUTH_FAILURE;
        if (auth && has_value(ev, K_EVENT_OUTCOME, "success"))
                return KIND_AUTH_SUCCESS;
        if (has_value(ev, K_EVENT_ACTION, "delivery-completed"))
                return fail ? KIND_DELIVERY_FAILED
                       : has_value(ev, K_EVENT_OUTCOME, "success") ? KIND_DELIVERY_DELIVERED
                                                                   : KIND_DELIVERY_DEFERRED;
        if (has_value(ev, K_EVENT_ACTION, "smtp-response") && fail)
                return KIND_SMTP_REJECT;
        return KIND_RECORD;
}

/* ECS name -> journald name: upper case, [A-Z0-9_] only, no leading '_'
 * or digit, at most 64 characters. */
static void journal_name(const char *ecs, char *out, size_t n)
{
        size_t o = 0;

        for (const char *p = ecs; *p && o + 1 < n && o < 64; p++) {
                char c = *p;
                if (c >= 'a' && c <= 'z')
                        c = (char)(c - 32);
                else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
                        c = '_';
                if (o == 0 && (c == '_' || (c >= '0' && c <= '9')))
                        continue;
                out[o++] = c;
        }
        out[o] = '\0';
}

static int names_for(struct journal_sink *j, const struct keys *keys)
{
        if (j->keys == keys)
                return 0;
        free(j->names);
        j->names = calloc(KEYS_MAX, sizeof(*j->names));
        if (!j->names)
                return -ENOMEM;
        for (unsigned i = 0; i < keys->n; i++)
                journal_name(keys->k[i].name, j->names[i], sizeof(j->names[i]));
        j->keys = keys;
        return 0;
}

static int journal_open(struct sink *s, struct diag *err)
{
        struct journal_sink *j = calloc(1, sizeof(*j));
        uint64_t max;

        (void)err;
        if (!j)
                return -ENOMEM;
        /* an entry holds the record up to three times (MESSAGE,
         * EVENT_ORIGINAL, a field cut from it): never refuse one that
         * --max-record-bytes lets through */
        max = 4 * (uint64_t)s->max_record_bytes + (1u << 20);
        buf_init(&j->entry, max < JOURNAL_ENTRY_MIN ? JOURNAL_ENTRY_MIN
                            : max > JOURNAL_ENTRY_CAP ? JOURNAL_ENTRY_CAP : (size_t)max);
        j->fd = -1;
        s->priv = j;
        return 0;
}

static int journal_connect(struct journal_sink *j)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = JOURNAL_SOCKET };
        struct timeval wait = { .tv_usec = JOURNAL_WAIT_MS * 1000 };
        int sz = JOURNAL_SNDBUF;

        j->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (j->fd < 0)
                return -errno;
        (void)setsockopt(j->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
        if (setsockopt(j->fd, SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof(wait)) < 0) {
                int e = errno;  /* without the bound, a send could block for ever */
                close(j->fd);
                j->fd = -1;
                return -e;
        }
        if (connect(j->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int e = errno;
                close(j->fd);
                j->fd = -1;
                return -e;
        }
        return 0;
}

static void journal_disconnect(struct journal_sink *j)
{
        if (j->fd >= 0)
                close(j->fd);
        j->fd = -1;
}

/* Append one field: "NAME=value\n", or when the value holds a newline
 * "NAME\n" + its length as 64-bit little endian + value + "\n". */
static void put_value(struct buf *b, const char *name, const char *v, size_t n)
{
        buf_put(b, name, strlen(name));
        if (memchr(v, '\n', n)) {
                unsigned char le[8];
                for (int i = 0; i < 8; i++)
                        le[i] = (unsigned char)((uint64_t)n >> (8 * i));
                buf_putc(b, '\n');
                buf_put(b, le, sizeof(le));
        } else {
                buf_putc(b, '=');
        }
        buf_put(b, v, n);
        buf_putc(b, '\n');
}

static void put_field(struct buf *b, const char *name, const struct field *f)
{
        char num[24];

        switch ((enum val_kind)f->kind) {
        case VAL_STR:
        case VAL_SAFE:
                put_value(b, name, f->v.str, f->len);
                break;
        case VAL_NUM:
                put_value(b, name, num, (size_t)snprintf(num, sizeof(num), "%lld",
                                                         (long long)f->v.num));
                break;
        case VAL_BOOL:
                if (f->v.num)
                        put_value(b, name, "true", 4);
                else
                        put_value(b, name, "false", 5);
                break;
        }
}

/* Build the entry of ev in j->entry; -E2BIG when it cannot fit. */
static int build_entry(struct journal_sink *j, const struct event *ev)
{
        struct buf *b = &j->entry;
        char ts[24], num[8];

        b->len = 0;
        b->failed = 0;
        for (unsigned i = 0; i < ev->nfields; i++) {
                const struct field *f = &ev->f[i];
                if (f->key == K_TIMESTAMP || f->key == K_EVENT_SEVERITY)
                        continue;
                put_field(b, j->names[f->key], f);
        }
        stamp_format_utc(ev->ts_ms, ts);
        put_value(b, "PRIORITY", num, (size_t)snprintf(num, sizeof(num), "%d", ev->severity));
        put_value(b, "SMARTERMAIL_TIMESTAMP", ts, strnlen(ts, 24));
        put_value(b, "MESSAGE_ID", kinds[kind_of(ev)].id, 32);
        buf_lit(b, "SYSLOG_IDENTIFIER=smartermail\n");
        buf_lit(b, "SYSLOG_FACILITY=2\n");     /* mail */
        return b->failed ? -E2BIG : 0;
}

/* An entry too large for a datagram: pass it in a sealed memfd. */
static int send_memfd(struct journal_sink *j)
{
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } ctl;
        struct msghdr mh = { .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
        struct cmsghdr *c;
        size_t off = 0;
        int mfd, r = 0;

        mfd = memfd_create("smartermail-shim-entry", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (mfd < 0) {
                log_msg(LOG_LVL_ERR, "journald: memfd_create: %s", strerror(errno));
                return -E2BIG;
        }
        while (off < j->entry.len) {
                ssize_t w = write(mfd, j->entry.p + off, j->entry.len - off);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0) {
                        r = w < 0 ? -errno : -EIO;
                        goto out;
                }
                off += (size_t)w;
        }
        if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
                r = -errno;
                goto out;
        }
        memset(ctl.buf, 0, sizeof(ctl.buf));
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &mfd, sizeof(int));
        if (sendmsg(j->fd, &mh, MSG_NOSIGNAL) < 0)
                r = -errno;
out:
        close(mfd);
        /* the queue full is waited on; anything else (memfd or sealing
         * refused, no memory) would refuse this entry for ever */
        return r == 0 || r == -EAGAIN || r == -ENOBUFS || r == -ECONNREFUSED ||
               r == -ENOTCONN || r == -EPIPE || r == -ENOENT ? r : -E2BIG;
}

static int send_entry(struct journal_sink *j)
{
        /* a large datagram needs as much contiguous kernel memory: pass
         * those in a memfd, as sd_journal_sendv does when one is refused */
        if (j->entry.len > JOURNAL_DGRAM_MAX)
                return send_memfd(j);
        if (send(j->fd, j->entry.p, j->entry.len, MSG_NOSIGNAL) >= 0)
                return 0;
        if (errno == EMSGSIZE || errno == ENOBUFS)
                return send_memfd(j);
        return -errno;
}

/* Send the built entry: 0, -EAGAIN (journald's queue stays full), or
 * another negative errno (journald is not there). */
static int journal_send(struct journal_sink *j)
{
        int r;

        if (j->fd < 0 && (r = journal_connect(j)) < 0)
                return r;
        r = send_entry(j);     /* waits up to JOURNAL_WAIT_MS for room */
        if (r == -EWOULDBLOCK)
                r = -EAGAIN;
        if (r == -ECONNREFUSED || r == -ENOTCONN || r == -EPIPE) {
                /* journald restarted: its new socket needs a new connect */
                journal_disconnect(j);
                if ((r = journal_connect(j)) == 0)
                        r = send_entry(j);
        }
        return r;
}

static int journal_submit(struct sink *s, const struct event *ev)
{
        struct journal_sink *j = s->priv;
        int r;

        if (names_for(j, ev->keys) < 0)
                return -ENOMEM;
        if ((r = build_entry(j, ev)) < 0)
                return r;
        r = journal_send(j);
        if (r == -EAGAIN) {
                if (!j->full)
                        log_msg(LOG_LVL_WARNING, "journald: not reading (its queue is full); "
                                "reading paused");
                j->full = 1;
                return -EAGAIN;
        }
        if (r < 0) {
                j->refused++;
                journal_disconnect(j);
                if (!j->down)
                        log_msg(LOG_LVL_WARNING, "journald: send failed: %s%s; retrying",
                                strerror(-r), r == -ENOENT ? " (" JOURNAL_SOCKET " is missing)" : "");
                j->down = 1;
                return r == -ENOMEM ? -ENOMEM : -ENOTCONN;
        }
        if (j->down || j->full)
                log_msg(LOG_LVL_NOTICE, "journald: sending again");
        j->down = j->full = 0;
        j->sent++;
        inflight_done(s->ack, ev->seq, 0);
        return 0;
}

static int journal_flush(struct sink *s, int64_t deadline_ms)
{
        struct journal_sink *j = s->priv;

        (void)deadline_ms;
        /* nothing is buffered (each entry is sent on submit), but while
         * journald's queue is full the held entry is offered again soon:
         * busy keeps the loop's wait short */
        return j->full ? -EAGAIN : 0;
}

/* Room in journald's queue, while the last entry found none. */
static int journal_poll_fd(struct sink *s, uint32_t *ret_events)
{
        struct journal_sink *j = s->priv;

        if (!j || !j->full || j->fd < 0)
                return -1;
        *ret_events = EPOLLOUT;
        return j->fd;
}

static void journal_close(struct sink *s)
{
        struct journal_sink *j = s->priv;

        if (!j)
                return;
        journal_disconnect(j);
        buf_done(&j->entry);
        free(j->names);
        free(j);
        s->priv = NULL;
}

const struct sink_ops sink_journal_ops = {
        .name = "journald",
        .open = journal_open,
        .submit = journal_submit,
        .flush = journal_flush,
        .sync = NULL,
        .close = journal_close,
        .poll_fd = journal_poll_fd,
};
