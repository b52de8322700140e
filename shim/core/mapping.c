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

static int classify(const char *p, size_t n, enum bracket_kind *ret)
{
        char tmp[INET6_ADDRSTRLEN + 1];
        unsigned char addr[16];
        int letters = 0, lower = 0, other = 0, colon = 0, dot = 0;

        if (n == 0 || n > 64)
                return 0;
        for (size_t i = 0; i < n; i++) {
                char c = p[i];
                if ((c >= 'a' && c <= 'z'))
                        letters++, lower++;
                else if (c >= 'A' && c <= 'Z')
                        letters++;
                else if (c == ':')
                        colon++;
                else if (c == '.')
                        dot++;
                else if (!((c >= '0' && c <= '9') || c == '-' || c == '_'))
                        other++;
        }
        if (other)
                return 0;
        if (colon || dot) {
                if (n >= sizeof(tmp))
                        return 0;
                memcpy(tmp, p, n);
                tmp[n] = '\0';
                if (inet_pton(colon ? AF_INET6 : AF_INET, tmp, addr) != 1)
                        return 0;
                *ret = BR_IP;
                return 1;
        }
        if ((size_t)letters == n && p[0] >= 'A' && p[0] <= 'Z' && lower) {
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

/* "h:mm:ss AM" or "hh:mm:ss" -> seconds of the day. */
static int parse_us_clock(const char *p, size_t n, int *ret_sec)
{
        int v[3] = { 0, 0, 0 }, f = 0, digits = 0;
        size_t i = 0;

        for (; i < n && f < 3; i++) {
                if (p[i] >= '0' && p[i] <= '9' && digits < 2) {
                        v[f] = v[f] * 10 + (p[i] - '0');
                        digits++;
                } else if (p[i] == ':' && digits && f < 2) {
                        f++;
                        digits = 0;
                } else {
                        break;
                }
        }
        if (f != 2 || !digits)
                return -1;
        while (i < n && p[i] == ' ')
                i++;
        if (i < n) {
                if (n - i != 2 || (p[i + 1] | 0x20) != 'm')
                        return -1;
                if (v[0] < 1 || v[0] > 12)
                        return -1;
                if ((p[i] | 0x20) == 'a')
                        v[0] = v[0] == 12 ? 0 : v[0];
                else if ((p[i] | 0x20) == 'p')
                        v[0] = v[0] == 12 ? 12 : v[0] + 12;
                else
                        return -1;
        }
        if (v[0] > 23 || v[1] > 59 || v[2] > 59)
                return -1;
        *ret_sec = v[0] * 3600 + v[1] * 60 + v[2];
        return 0;
}

/* "M/D/YYYY h:mm:ss AM" -> local seconds since the epoch read as UTC. */
static int parse_us_date(const char *p, size_t n, int64_t *ret)
{
        int v[3] = { 0, 0, 0 }, f = 0, digits = 0, sec;
        size_t i = 0;

        for (; i < n; i++) {
                if (p[i] >= '0' && p[i] <= '9' && digits < 4) {
                        v[f] = v[f] * 10 + (p[i] - '0');
                        digits++;
                } else if (p[i] == '/' && digits && f < 2) {
                        f++;
                        digits = 0;
                } else {
                        break;
                }
        }
        if (f != 2 || digits != 4 || i >= n || p[i] != ' ' ||
            !stamp_date_valid(v[2], v[0], v[1]))
                return -1;
        if (parse_us_clock(p + i + 1, n - i - 1, &sec) < 0)
                return -1;
        *ret = stamp_days_from_civil(v[2], v[0], v[1]) * 86400 + sec;
        return 0;
}

/* The text of one converted group; *out may point into in or the scratch. */
static int conv_text(enum conv conv, const char *in, size_t n, struct event *ev,
                     struct mapping_ctx *ctx, const char **out, size_t *out_len)
{
        char *s;
        int64_t local, first, second;
        int sec;

        switch (conv) {
        case CONV_NONE:
        case CONV_NUMBER:
        case CONV_BOOLEAN:
                *out = in;
                *out_len = n;
                return 0;
        case CONV_TRIM:
                while (n && (in[0] == ' ' || in[0] == '\t'))
                        in++, n--;
                while (n && (in[n - 1] == ' ' || in[n - 1] == '\t' || in[n - 1] == '.'))
                        n--;
                *out = in;
                *out_len = n;
                return 0;
        case CONV_UPPER:
        case CONV_LOWER:
                if (!(s = event_scratch(ev, n)))
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
        case CONV_USDATE:
                if (parse_us_date(in, n, &local) < 0 || !(s = event_scratch(ev, 24)))
                        return -1;
                tz_local_to_utc(ctx->tz, local, &first, &second);
                stamp_format_utc(first * 1000, s);
                *out = s;
                *out_len = 24;
                return 0;
        case CONV_USTIME:
                if (parse_us_clock(in, n, &sec) < 0 || !(s = event_scratch(ev, 8)))
                        return -1;
                {
                        int v[3] = { sec / 3600, sec / 60 % 60, sec % 60 };
                        for (int i = 0; i < 3; i++) {
                                s[3 * i] = (char)('0' + v[i] / 10);
                                s[3 * i + 1] = (char)('0' + v[i] % 10);
                                if (i < 2)
                                        s[3 * i + 2] = ':';
                        }
                }
                *out = s;
                *out_len = 8;
                return 0;
        case CONV_SPOOLID: {
                size_t b = n, e;
                while (b && in[b - 1] != '/' && in[b - 1] != '\\')
                        b--;
                e = n;
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
        }
        return -1;
}

static const char tag_conv_failed[] = "smartermail_conversion_failed";

static void conv_failed(struct event *ev)
{
        event_set_safe(ev, K_TAGS, tag_conv_failed, sizeof(tag_conv_failed) - 1);
}

static void apply_setter(const struct setter *st, struct event *ev, struct mapping_ctx *ctx,
                         const char *msg, const PCRE2_SIZE *ov)
{
        const char *parts[MAPPING_TEMPLATE_PARTS];
        size_t lens[MAPPING_TEMPLATE_PARTS], total = 0;
        char *s;

        switch (st->kind) {
        case SET_STR:
                if (st->safe)
                        event_set_safe(ev, st->key, st->str, st->len);
                else
                        event_set_str(ev, st->key, st->str, st->len);
                return;
        case SET_NUM:
                event_set_num(ev, st->key, st->num);
                return;
        case SET_BOOL:
                event_set_bool(ev, st->key, (int)st->num);
                return;
        case SET_TPL:
                break;
        }
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
                                        return;
                                parts[i] = "";
                                lens[i] = 0;
                        } else if (conv_text(pt->conv, msg + a, b - a, ev, ctx,
                                             &parts[i], &lens[i]) < 0) {
                                conv_failed(ev);
                                return;
                        }
                }
                total += lens[i];
        }
        if (st->nparts == 1) {
                const struct part *pt = &st->parts[0];
                int64_t v;

                if (pt->conv == CONV_NUMBER) {
                        if (parse_int(parts[0], lens[0], &v) < 0)
                                conv_failed(ev);
                        else
                                event_set_num(ev, st->key, v);
                        return;
                }
                if (pt->conv == CONV_BOOLEAN) {
                        if (ieq(parts[0], lens[0], "true") || ieq(parts[0], lens[0], "yes") ||
                            ieq(parts[0], lens[0], "1"))
                                event_set_bool(ev, st->key, 1);
                        else if (ieq(parts[0], lens[0], "false") || ieq(parts[0], lens[0], "no") ||
                                 ieq(parts[0], lens[0], "0"))
                                event_set_bool(ev, st->key, 0);
                        else
                                conv_failed(ev);
                        return;
                }
                event_set_str(ev, st->key, parts[0], lens[0]);
                return;
        }
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
