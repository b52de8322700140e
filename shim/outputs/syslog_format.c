/* SPDX-License-Identifier: MIT */
/* The syslog output's words: the --syslog-target URL, and each message as
 * the receiver gets it: RFC 5424 or RFC 3164 header, structured data, the
 * JSON event, and the stream framing of RFC 6587. Nothing here connects or
 * sends. */
#include "outputs/syslog_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/stamp.h"

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
_Static_assert(sizeof(sd_params) / sizeof(sd_params[0]) == SYSLOG_SD_PARAMS,
               "one key id per structured-data parameter");

int syslog_parse_target(struct syslog_sink *y, const char *t, struct diag *err)
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

static void put_sd(struct syslog_sink *y, const struct event *ev)
{
        int any = 0;

        for (size_t i = 0; i < sizeof(sd_params) / sizeof(sd_params[0]); i++) {
                size_t n;
                const char *v = text_of(ev, y->sd_keys[i], &n);

                if (!v)
                        continue;
                if (!any) {
                        buf_lit(&y->msg, "[smartermail@");
                        buf_int(&y->msg, (long long)y->cfg->enterprise_number);
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

/* The longest text value of ev, in bytes. */
static size_t longest_text(const struct event *ev)
{
        size_t max = 0;

        for (unsigned i = 0; i < ev->nfields; i++)
                if ((ev->f[i].kind == VAL_STR || ev->f[i].kind == VAL_SAFE) && ev->f[i].len > max)
                        max = ev->f[i].len;
        return max;
}

/* ev into y->cut with every text value cut to at most cap bytes, at a
 * UTF-8 character boundary, and tagged. The copy's values still point into
 * ev (its record and scratch space): use it while ev is valid. */
static void cut_event(struct syslog_sink *y, const struct event *ev, size_t cap)
{
        static const char tag[] = "smartermail_truncated", flag[] = "truncated";
        struct event *c = y->cut;

        memcpy(c, ev, sizeof(*c));
        for (unsigned i = 0; i < c->nfields; i++) {
                struct field *f = &c->f[i];
                size_t n = f->len;

                if ((f->kind != VAL_STR && f->kind != VAL_SAFE) || n <= cap)
                        continue;
                n = cap;
                while (n > 0 && n + 3 > cap && ((unsigned char)f->v.str[n] & 0xC0) == 0x80)
                        n--;
                f->len = (uint32_t)n;
        }
        (void)event_set_safe(c, K_TAGS, tag, sizeof(tag) - 1);         /* -ENOSPC: */
        (void)event_set_safe(c, K_LOG_FLAGS, flag, sizeof(flag) - 1);  /* the cut is said */
}

static int encode_within(struct syslog_sink *y, const struct sink *s, const struct event *ev,
                         size_t mark, size_t ceiling)
{
        if (encode_json(ev, s->enc, &y->msg) == 0 && !y->msg.failed && y->msg.len <= ceiling)
                return 0;
        y->msg.len = mark;
        y->msg.failed = 0;
        return -E2BIG;
}

/* Encode ev after the header (mark) within the transport's ceiling. An event
 * whose encoding does not fit (a record of control characters or invalid
 * bytes grows up to six times) is not dropped: its longest text values are
 * cut, halving until it fits, and it is tagged smartermail_truncated (and
 * log.flags truncated). Returns 0, or -E2BIG when even the empty values do
 * not fit. */
static int encode_fitting(struct syslog_sink *y, const struct sink *s, const struct event *ev,
                          size_t mark)
{
        /* a stream frame's length prefix must still fit. A datagram over
         * what UDP carries (65,507 bytes) is still skipped when sent: a
         * message cut that short would lose most of a record that TCP and
         * RELP take whole */
        size_t ceiling = SYSLOG_MSG_MAX - 32;

        if (encode_within(y, s, ev, mark, ceiling) == 0)
                return 0;
        if (!y->cut && !(y->cut = malloc(sizeof(*y->cut))))
                return -E2BIG;
        for (size_t cap = longest_text(ev) / 2;; cap /= 2) {
                cut_event(y, ev, cap);
                if (encode_within(y, s, y->cut, mark, ceiling) == 0) {
                        if (!y->cut_said)
                                log_msg(LOG_LVL_WARNING, "syslog: an event too large for a "
                                        "message was cut to fit and tagged smartermail_truncated "
                                        "(said once)");
                        y->cut_said = 1;
                        return 0;
                }
                if (cap == 0)
                        return -E2BIG;
        }
}

/* The whole message (without framing) into y->msg. */
int syslog_format_msg(struct syslog_sink *y, const struct sink *s, const struct event *ev)
{
        const struct syslog_cfg *cfg = y->cfg;
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
                        put_sd(y, ev);
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
        if (encode_fitting(y, s, ev, mark) < 0)
                return -E2BIG;
        if (y->msg.len > mark && y->msg.p[y->msg.len - 1] == '\n')
                y->msg.len--;
        return 0;
}

int syslog_frame_stream(struct syslog_sink *y, uint64_t seq)
{
        char pre[24];
        int n;

        if (y->cfg->framing == FRAMING_NEWLINE) {
                buf_putc(&y->msg, '\n');
                return syslog_enqueue(y, seq, y->msg.p, y->msg.len);
        }
        n = snprintf(pre, sizeof(pre), "%zu ", y->msg.len);
        /* the length prefix goes in front: enqueue both as one frame */
        if (buf_reserve(&y->msg, (size_t)n) < 0)
                return -E2BIG;
        memmove(y->msg.p + n, y->msg.p, y->msg.len);
        memcpy(y->msg.p, pre, (size_t)n);
        y->msg.len += (size_t)n;
        return syslog_enqueue(y, seq, y->msg.p, y->msg.len);
}
