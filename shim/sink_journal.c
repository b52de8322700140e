/* SPDX-License-Identifier: MIT */
/* Output to systemd-journald through sd_journal_sendv: one journal entry per
 * event with native upper-case fields (SOURCE_IP, SMARTERMAIL_SESSION_ID,
 * ...), PRIORITY from the severity, SYSLOG_IDENTIFIER=smartermail, the
 * record's own time in SMARTERMAIL_TIMESTAMP (journald stamps arrival), and
 * a MESSAGE_ID per kind of event explained by deploy/smartermail-shim.catalog.
 * sd_journal_sendv returns 0 when journald's socket is missing, so the
 * socket is checked first; a missing socket or a send error pauses reading
 * and is retried, never dropped. */
#include "sink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
/* the entries are about the mail server, not about this file and line */
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>

#include "buf.h"
#include "stamp.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#define JOURNAL_FIELDS_MAX (EVENT_MAX_FIELDS + 8)
#define JOURNAL_ENTRY_MAX (4u << 20)    /* bytes of one entry's fields */

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
        struct buf text;                /* "NAME=value" strings of one entry */
        const struct keys *keys;        /* names below belong to these keys */
        char (*names)[KEY_NAME_MAX];    /* journald name per key id */
        uint64_t sent, refused;
        int down;                       /* last attempt failed: say so once */
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

        (void)err;
        if (!j)
                return -ENOMEM;
        buf_init(&j->text, JOURNAL_ENTRY_MAX);
        s->priv = j;
        return 0;
}

static int socket_present(void)
{
        struct stat st;

        return stat(JOURNAL_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Append "NAME=" + value; returns the offset where it starts. */
static size_t put_field(struct buf *b, const char *name, const struct field *f)
{
        size_t start = b->len;

        buf_put(b, name, strlen(name));
        buf_putc(b, '=');
        switch ((enum val_kind)f->kind) {
        case VAL_STR:
        case VAL_SAFE:
                buf_put(b, f->v.str, f->len);
                break;
        case VAL_NUM:
                buf_int(b, f->v.num);
                break;
        case VAL_BOOL:
                if (f->v.num)
                        buf_lit(b, "true");
                else
                        buf_lit(b, "false");
                break;
        }
        return start;
}

static int journal_submit(struct sink *s, const struct event *ev)
{
        struct journal_sink *j = s->priv;
        struct iovec iov[JOURNAL_FIELDS_MAX];
        size_t start[JOURNAL_FIELDS_MAX], len[JOURNAL_FIELDS_MAX];
        char ts[24], fixed[160];
        unsigned n = 0;
        int r;

        if (names_for(j, ev->keys) < 0)
                return -ENOMEM;
        if (!socket_present()) {
                if (!j->down)
                        log_msg(LOG_LVL_WARNING, "journald: %s is missing; waiting for journald",
                                JOURNAL_SOCKET);
                j->down = 1;
                return -ENOTCONN;
        }
        j->text.len = 0;
        j->text.failed = 0;
        for (unsigned i = 0; i < ev->nfields && n + 6 < JOURNAL_FIELDS_MAX; i++) {
                const struct field *f = &ev->f[i];
                if (f->key == K_TIMESTAMP || f->key == K_EVENT_SEVERITY)
                        continue;
                start[n] = put_field(&j->text, j->names[f->key], f);
                len[n] = j->text.len - start[n];
                n++;
        }
        stamp_format_utc(ev->ts_ms, ts);
        snprintf(fixed, sizeof(fixed), "PRIORITY=%d", ev->severity);
        start[n] = j->text.len;
        buf_put(&j->text, fixed, strlen(fixed));
        len[n] = j->text.len - start[n];
        n++;
        snprintf(fixed, sizeof(fixed), "SMARTERMAIL_TIMESTAMP=%.24s", ts);
        start[n] = j->text.len;
        buf_put(&j->text, fixed, strlen(fixed));
        len[n] = j->text.len - start[n];
        n++;
        snprintf(fixed, sizeof(fixed), "MESSAGE_ID=%s", kinds[kind_of(ev)].id);
        start[n] = j->text.len;
        buf_put(&j->text, fixed, strlen(fixed));
        len[n] = j->text.len - start[n];
        n++;
        start[n] = j->text.len;
        buf_lit(&j->text, "SYSLOG_IDENTIFIER=smartermail");
        len[n] = j->text.len - start[n];
        n++;
        start[n] = j->text.len;
        buf_lit(&j->text, "SYSLOG_FACILITY=2");     /* mail */
        len[n] = j->text.len - start[n];
        n++;
        if (j->text.failed)
                return -E2BIG;
        for (unsigned i = 0; i < n; i++) {
                iov[i].iov_base = j->text.p + start[i];
                iov[i].iov_len = len[i];
        }
        r = sd_journal_sendv(iov, (int)n);
        if (r < 0) {
                j->refused++;
                if (!j->down)
                        log_msg(LOG_LVL_WARNING, "journald: send failed: %s; retrying", strerror(-r));
                j->down = 1;
                return r == -EAGAIN || r == -ENOBUFS ? -EAGAIN : r;
        }
        if (j->down)
                log_msg(LOG_LVL_NOTICE, "journald: sending again");
        j->down = 0;
        j->sent++;
        ack_done(s->ack, ev->seq, 0);
        return 0;
}

static int journal_flush(struct sink *s, int64_t deadline_ms)
{
        (void)s;
        (void)deadline_ms;
        return 0;       /* nothing is buffered: each entry is sent on submit */
}

static void journal_close(struct sink *s)
{
        struct journal_sink *j = s->priv;

        if (!j)
                return;
        buf_done(&j->text);
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
};
