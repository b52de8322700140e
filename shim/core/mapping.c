/* SPDX-License-Identifier: MIT */
/* Applying mappings to a record: the leading bracket groups, the file's
 * constant fields, then its rules in order (each first checked against the
 * literal text its pattern must start with), then the generic rules. Values
 * point into the record or the event's scratch space. */
#include "core/mapping_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* ---- applying --------------------------------------------------------- */

struct char_counts {
        int letters, lower, other, colon, dot;
};

static void count_chars(const char *p, size_t n, struct char_counts *c)
{
        for (size_t i = 0; i < n; i++) {
                char ch = p[i];
                if ((ch >= 'a' && ch <= 'z'))
                        c->letters++, c->lower++;
                else if (ch >= 'A' && ch <= 'Z')
                        c->letters++;
                else if (ch == ':')
                        c->colon++;
                else if (ch == '.')
                        c->dot++;
                else if (!((ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
                        c->other++;
        }
}

/* 1 when p[0..n) is an IPv6 (colon) or IPv4 address. */
static int is_ip(const char *p, size_t n, int colon)
{
        char tmp[INET6_ADDRSTRLEN + 1];
        unsigned char addr[16];

        if (n >= sizeof(tmp))
                return 0;
        memcpy(tmp, p, n);
        tmp[n] = '\0';
        return inet_pton(colon ? AF_INET6 : AF_INET, tmp, addr) == 1;
}

static int classify(const char *p, size_t n, enum bracket_kind *ret)
{
        struct char_counts c = { 0, 0, 0, 0, 0 };

        if (n == 0 || n > 64)
                return 0;
        count_chars(p, n, &c);
        if (c.other)
                return 0;
        if (c.colon || c.dot) {
                if (!is_ip(p, n, c.colon))
                        return 0;
                *ret = BR_IP;
                return 1;
        }
        if ((size_t)c.letters == n && p[0] >= 'A' && p[0] <= 'Z' && c.lower) {
                *ret = BR_TAG;
                return 1;
        }
        *ret = BR_ID;
        return 1;
}

unsigned mapping_brackets(const char *body, size_t len, struct bracket *br,
                          const char **ret_rest)
{
        unsigned nbr = 0;
        size_t i = 0;

        while (nbr < BRACKETS_MAX && i < len && body[i] == '[') {
                size_t lim = len - i - 1 < 66 ? len - i - 1 : 66;
                const char *close = memchr(body + i + 1, ']', lim);
                enum bracket_kind k;
                size_t j;

                if (!close || !classify(body + i + 1, (size_t)(close - body - i - 1), &k))
                        break;
                br[nbr].p = body + i + 1;
                br[nbr].len = (size_t)(close - body - i - 1);
                br[nbr].kind = k;
                nbr++;
                j = (size_t)(close - body) + 1;
                if (j + 1 < len && body[j] == ' ' && body[j + 1] == '[')
                        j++;
                i = j;
        }
        if (nbr && i < len && body[i] == ' ')
                i++;
        *ret_rest = body + i;
        return nbr;
}

static int parse_int(const char *p, size_t n, int64_t *ret)
{
        int64_t v = 0;
        size_t i = 0;
        int neg = 0;

        if (n && (p[0] == '-' || p[0] == '+'))
                neg = p[i++] == '-';
        if (i == n || n - i > 18)
                return -1;
        for (; i < n; i++) {
                if (p[i] < '0' || p[i] > '9')
                        return -1;
                v = v * 10 + (p[i] - '0');
        }
        *ret = neg ? -v : v;
        return 0;
}

static int ieq(const char *p, size_t n, const char *word)
{
        size_t l = strlen(word);

        if (n != l)
                return 0;
        for (size_t i = 0; i < n; i++)
                if ((p[i] | 0x20) != word[i])
                        return 0;
        return 1;
}

static int conv_trim(const char *in, size_t n, const char **out, size_t *out_len)
{
        while (n && (in[0] == ' ' || in[0] == '\t'))
                in++, n--;
        while (n && (in[n - 1] == ' ' || in[n - 1] == '\t' || in[n - 1] == '.'))
                n--;
        *out = in;
        *out_len = n;
        return 0;
}

static int conv_case(enum conv conv, const char *in, size_t n, struct event *ev,
                     const char **out, size_t *out_len)
{
        char *s = event_scratch(ev, n);

        if (!s)
                return -1;
        for (size_t i = 0; i < n; i++) {
                char c = in[i];
                if (conv == CONV_UPPER && c >= 'a' && c <= 'z')
                        c = (char)(c - 32);
                else if (conv == CONV_LOWER && c >= 'A' && c <= 'Z')
                        c = (char)(c + 32);
                s[i] = c;
        }
        *out = s;
        *out_len = n;
        return 0;
}

/* A date and time in any form stamp_text_datetime reads, in the file's
 * zone -> ISO 8601 UTC. In the repeated hour of a fall-back the instant
 * nearer the record's own time is taken: a session's "connected at" is a
 * little before the line that says it. */
static int conv_usdate(const char *in, size_t n, struct event *ev, struct mapping_ctx *ctx,
                       const char **out, size_t *out_len)
{
        int64_t local_ms, first, second, ms;
        char *s;

        if (stamp_text_datetime(in, n, &ctx->day, &local_ms) < 0 || !(s = event_scratch(ev, 24)))
                return -1;
        tz_local_to_utc(ctx->tz, local_ms / 1000, &first, &second);
        ms = first * 1000 + local_ms % 1000;
        if (second != first) {
                int64_t later = second * 1000 + local_ms % 1000;

                if ((later > ev->ts_ms ? later - ev->ts_ms : ev->ts_ms - later) <
                    (ms > ev->ts_ms ? ms - ev->ts_ms : ev->ts_ms - ms))
                        ms = later;
        }
        stamp_format_utc(ms, s);
        *out = s;
        *out_len = 24;
        return 0;
}

/* "h:mm:ss PM" -> "hh:mm:ss" (24-hour). */
static int conv_ustime(const char *in, size_t n, struct event *ev, const char **out,
                       size_t *out_len)
{
        int sec, ms, v[3];
        char *s;

        if (stamp_text_clock(in, n, &sec, &ms) < 0 || !(s = event_scratch(ev, 8)))
                return -1;
        v[0] = sec / 3600;
        v[1] = sec / 60 % 60;
        v[2] = sec % 60;
        for (int i = 0; i < 3; i++) {
                s[3 * i] = (char)('0' + v[i] / 10);
                s[3 * i + 1] = (char)('0' + v[i] % 10);
                if (i < 2)
                        s[3 * i + 2] = ':';
        }
        *out = s;
        *out_len = 8;
        return 0;
}

/* A spool file's path -> its id: the base name without its extension, at
 * most its last 8 characters. */
static int conv_spoolid(const char *in, size_t n, const char **out, size_t *out_len)
{
        size_t b = n, e = n;

        while (b && in[b - 1] != '/' && in[b - 1] != '\\')
                b--;
        for (size_t i = n; i > b; i--)
                if (in[i - 1] == '.') {
                        e = i - 1;
                        break;
                }
        if (e - b > 8)
                b = e - 8;
        if (e == b)
                return -1;
        *out = in + b;
        *out_len = e - b;
        return 0;
}

/* The text of one converted group; *out may point into in or the scratch.
 * Number and boolean are read from the text later, by set_single. */
static int conv_text(enum conv conv, const char *in, size_t n, struct event *ev,
                     struct mapping_ctx *ctx, const char **out, size_t *out_len)
{
        switch (conv) {
        case CONV_NONE:
        case CONV_NUMBER:
        case CONV_BOOLEAN:
                *out = in;
                *out_len = n;
                return 0;
        case CONV_TRIM:
                return conv_trim(in, n, out, out_len);
        case CONV_UPPER:
        case CONV_LOWER:
                return conv_case(conv, in, n, ev, out, out_len);
        case CONV_USDATE:
                return conv_usdate(in, n, ev, ctx, out, out_len);
        case CONV_USTIME:
                return conv_ustime(in, n, ev, out, out_len);
        case CONV_SPOOLID:
                return conv_spoolid(in, n, out, out_len);
        }
        return -1;
}

static const char tag_conv_failed[] = "smartermail_conversion_failed";

static void conv_failed(struct event *ev)
{
        event_set_safe(ev, K_TAGS, tag_conv_failed, sizeof(tag_conv_failed) - 1);
}

/* "true"/"yes"/"1" -> 1, "false"/"no"/"0" -> 0, any case; else -1. */
static int parse_bool(const char *p, size_t n)
{
        if (ieq(p, n, "true") || ieq(p, n, "yes") || ieq(p, n, "1"))
                return 1;
        if (ieq(p, n, "false") || ieq(p, n, "no") || ieq(p, n, "0"))
                return 0;
        return -1;
}

/* A template of one group: the value is the group's text, or the number or
 * boolean it reads as. */
static void set_single(const struct setter *st, struct event *ev, const char *p, size_t n)
{
        int64_t v;
        int b;

        switch (st->parts[0].conv) {
        case CONV_NUMBER:
                if (parse_int(p, n, &v) < 0)
                        conv_failed(ev);
                else
                        event_set_num(ev, st->key, v);
                return;
        case CONV_BOOLEAN:
                if ((b = parse_bool(p, n)) < 0)
                        conv_failed(ev);
                else
                        event_set_bool(ev, st->key, b);
                return;
        case CONV_NONE:
        case CONV_UPPER:
        case CONV_LOWER:
        case CONV_USDATE:
        case CONV_USTIME:
        case CONV_SPOOLID:
        case CONV_TRIM:
                event_set_str(ev, st->key, p, n);
                return;
        }
}

/* A setter with a constant value; returns 0 when st is a template. */
static int set_const(const struct setter *st, struct event *ev)
{
        switch (st->kind) {
        case SET_STR:
                if (st->safe)
                        event_set_safe(ev, st->key, st->str, st->len);
                else
                        event_set_str(ev, st->key, st->str, st->len);
                return 1;
        case SET_NUM:
                event_set_num(ev, st->key, st->num);
                return 1;
        case SET_BOOL:
                event_set_bool(ev, st->key, (int)st->num);
                return 1;
        case SET_TPL:
                break;
        }
        return 0;
}

/* The text of each part of a template into parts/lens; returns the total
 * length, or -1 when the setter sets nothing (a lone group that did not
 * take part, or a conversion that failed, tagged). */
static long template_parts(const struct setter *st, struct event *ev, struct mapping_ctx *ctx,
                           const char *msg, const PCRE2_SIZE *ov, const char **parts,
                           size_t *lens)
{
        size_t total = 0;

        for (unsigned i = 0; i < st->nparts; i++) {
                const struct part *pt = &st->parts[i];
                PCRE2_SIZE a, b;

                if (pt->lit) {
                        parts[i] = pt->lit;
                        lens[i] = pt->lit_len;
                } else {
                        a = ov[2 * pt->group];
                        b = ov[2 * pt->group + 1];
                        if (a == PCRE2_UNSET) {
                                /* an optional group that did not take part */
                                if (st->nparts == 1)
                                        return -1;
                                parts[i] = "";
                                lens[i] = 0;
                        } else if (conv_text(pt->conv, msg + a, b - a, ev, ctx,
                                             &parts[i], &lens[i]) < 0) {
                                conv_failed(ev);
                                return -1;
                        }
                }
                total += lens[i];
        }
        return (long)total;
}

static void apply_setter(const struct setter *st, struct event *ev, struct mapping_ctx *ctx,
                         const char *msg, const PCRE2_SIZE *ov)
{
        const char *parts[MAPPING_TEMPLATE_PARTS];
        size_t lens[MAPPING_TEMPLATE_PARTS], total;
        long got;
        char *s;

        if (set_const(st, ev))
                return;
        if ((got = template_parts(st, ev, ctx, msg, ov, parts, lens)) < 0)
                return;
        if (st->nparts == 1) {
                set_single(st, ev, parts[0], lens[0]);
                return;
        }
        total = (size_t)got;
        if (!(s = event_scratch(ev, total ? total : 1)))
                return;
        total = 0;
        for (unsigned i = 0; i < st->nparts; i++) {
                memcpy(s + total, parts[i], lens[i]);
                total += lens[i];
        }
        event_set_str(ev, st->key, s, total);
}

static int apply_rules(const struct mapping *m, struct mapping_ctx *ctx, struct event *ev,
                       const char *msg, size_t len, int *sev)
{
        pcre2_match_data *md = m->set->md;
        int matched = 0;

        for (unsigned i = 0; i < m->nrules; i++) {
                const struct rule *r = &m->rules[i];
                const PCRE2_SIZE *ov;
                int rc;

                if (r->prefix_len && (len < r->prefix_len || msg[0] != r->prefix[0] ||
                                      memcmp(msg, r->prefix, r->prefix_len) != 0))
                        continue;
                rc = pcre2_match(r->re, (PCRE2_SPTR)msg, len, 0, 0, md, NULL);
                if (rc < 0)
                        continue;
                matched = 1;
                ov = pcre2_get_ovector_pointer(md);
                for (unsigned s = 0; s < r->nset; s++)
                        apply_setter(&r->set[s], ev, ctx, msg, ov);
                if (r->severity && (*sev == 0 || r->severity < *sev))
                        *sev = r->severity;
                if (!r->cont)
                        return 2;
        }
        return matched;
}

int mapping_apply(const struct mapping *m, struct mapping_ctx *ctx, struct event *ev,
                  const struct bracket *br, unsigned nbr, const char *msg, size_t len)
{
        const struct mapping *g = m->set->generic;
        int sev = 0, rc;

        for (unsigned i = 0; i < m->nconst; i++)
                apply_setter(&m->consts[i], ev, ctx, msg, NULL);
        for (unsigned i = 0; i < nbr; i++) {
                const int *keys = m->br_key[br[i].kind][0] >= 0 ? m->br_key[br[i].kind]
                                                                : g->br_key[br[i].kind];
                /* classify() let only [A-Za-z0-9_.:-] through */
                for (int j = 0; j < BRACKET_FIELDS_MAX && keys[j] >= 0; j++)
                        event_set_safe(ev, (unsigned)keys[j], br[i].p, br[i].len);
        }
        rc = apply_rules(m, ctx, ev, msg, len, &sev);
        if (rc != 2 && m != g && apply_rules(g, ctx, ev, msg, len, &sev))
                rc = 1;
        if (sev && sev < ev->severity)
                ev->severity = sev;
        return rc != 0;
}
