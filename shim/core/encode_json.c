/* SPDX-License-Identifier: MIT */
/* JSON encoders. They write bytes directly instead of building a
 * libfastjson tree: a tree per event measured about 4x below the
 * throughput target (docs/benchmarks.md has the side-by-side numbers), and
 * the stream of (sorted key, value) pairs maps onto JSON text in one pass.
 * libfastjson reads our JSON (mappings, and every test compares the output
 * through it). */
#include "core/encode_json.h"

#include <errno.h>
#include <stdint.h>

/* Bytes that can be copied as they are. */
static inline int plain(unsigned char c)
{
        return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

static const char hex[] = "0123456789abcdef";

/* Length of the valid UTF-8 sequence at p (n > 0, p[0] >= 0x80), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
        unsigned c = p[0];
        size_t len;
        unsigned lo = 0x80, hi = 0xBF;

        if (c >= 0xC2 && c <= 0xDF)
                len = 2;
        else if (c >= 0xE0 && c <= 0xEF) {
                len = 3;
                if (c == 0xE0)
                        lo = 0xA0;
                else if (c == 0xED)
                        hi = 0x9F;      /* no surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
                len = 4;
                if (c == 0xF0)
                        lo = 0x90;
                else if (c == 0xF4)
                        hi = 0x8F;      /* <= U+10FFFF */
        } else
                return 0;
        if (n < len || p[1] < lo || p[1] > hi)
                return 0;
        for (size_t i = 2; i < len; i++)
                if ((p[i] & 0xC0) != 0x80)
                        return 0;
        return len;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Whether any of 8 bytes needs escaping or UTF-8 checking: < 0x20, >= 0x80,
 * '"' or '\\' (the usual SWAR byte tests). */
static inline int word_special(uint64_t v)
{
        uint64_t ctrl = (v - ONES * 0x20) & ~v;
        uint64_t q = v ^ (ONES * '"');
        uint64_t b = v ^ (ONES * '\\');

        q = (q - ONES) & ~q;
        b = (b - ONES) & ~b;
        return ((ctrl | q | b) & HIGHS) != 0 || (v & HIGHS) != 0;
}

void json_escape(struct buf *out, const char *s, size_t n)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0;

        while (i < n) {
                size_t run = i;
                uint64_t w;

                while (run + 8 <= n) {
                        memcpy(&w, p + run, 8);
                        if (word_special(w))
                                break;
                        run += 8;
                }
                while (run < n && plain(p[run]))
                        run++;
                if (run > i) {
                        buf_put(out, p + i, run - i);
                        i = run;
                        if (i == n)
                                break;
                }
                unsigned char c = p[i];
                if (c >= 0x80) {
                        size_t len = utf8_seq(p + i, n - i);
                        if (len) {
                                buf_put(out, p + i, len);
                                i += len;
                        } else {
                                buf_put(out, "\xEF\xBF\xBD", 3);
                                i++;
                        }
                        continue;
                }
                switch (c) {
                case '"': buf_lit(out, "\\\""); break;
                case '\\': buf_lit(out, "\\\\"); break;
                case '\n': buf_lit(out, "\\n"); break;
                case '\r': buf_lit(out, "\\r"); break;
                case '\t': buf_lit(out, "\\t"); break;
                case '\b': buf_lit(out, "\\b"); break;
                case '\f': buf_lit(out, "\\f"); break;
                default: {
                        char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
                        buf_put(out, u, 6);
                }
                }
                i++;
        }
}

static void put_str(struct buf *out, const char *p, size_t n)
{
        buf_putc(out, '"');
        json_escape(out, p, n);
        buf_putc(out, '"');
}

static void put_value(struct buf *out, const struct field *fl)
{
        switch ((enum val_kind)fl->kind) {
        case VAL_STR:
                put_str(out, fl->v.str, fl->len);
                break;
        case VAL_SAFE:
                buf_putc(out, '"');
                buf_put(out, fl->v.str, fl->len);
                buf_putc(out, '"');
                break;
        case VAL_NUM:
                buf_int(out, fl->v.num);
                break;
        case VAL_BOOL:
                if (fl->v.num)
                        buf_lit(out, "true");
                else
                        buf_lit(out, "false");
                break;
        }
}

/* Number of leading object segments the two keys share. */
static unsigned common_depth(const struct key *a, const struct key *b)
{
        unsigned d = 0;

        while (d + 1 < a->nseg && d + 1 < b->nseg && a->pfx[d] == b->pfx[d])
                d++;
        return d;
}

static void encode_ecs(const struct event *ev, const uint8_t *order, struct buf *out)
{
        const struct key *prev = NULL;
        int in_array = 0;

        buf_putc(out, '{');
        for (unsigned i = 0; i < ev->nfields; i++) {
                const struct field *fl = &ev->f[order[i]];
                const struct key *k = &ev->keys->k[fl->key];
                unsigned d = 0;

                if (prev == k) {
                        buf_putc(out, ',');
                        put_value(out, fl);
                        continue;
                }
                if (in_array) {
                        buf_putc(out, ']');
                        in_array = 0;
                }
                if (prev) {
                        d = common_depth(prev, k);
                        for (unsigned c = prev->nseg - 1; c > d; c--)
                                buf_putc(out, '}');
                        buf_putc(out, ',');
                }
                buf_put(out, k->open + k->open_off[d], k->open_len - k->open_off[d]);
                if (k->is_array) {
                        buf_putc(out, '[');
                        in_array = 1;
                }
                put_value(out, fl);
                prev = k;
        }
        if (in_array)
                buf_putc(out, ']');
        if (prev)
                for (unsigned c = prev->nseg - 1; c > 0; c--)
                        buf_putc(out, '}');
        buf_lit(out, "}\n");
}

static void encode_flat(const struct event *ev, const uint8_t *order, struct buf *out)
{
        const struct key *prev = NULL;

        buf_putc(out, '{');
        for (unsigned i = 0; i < ev->nfields; i++) {
                const struct field *fl = &ev->f[order[i]];
                const struct key *k = &ev->keys->k[fl->key];

                if (prev == k) {
                        buf_putc(out, ',');
                        put_value(out, fl);
                        continue;
                }
                if (prev && prev->is_array)
                        buf_putc(out, ']');
                if (prev)
                        buf_putc(out, ',');
                buf_putc(out, '"');
                buf_put(out, k->name, k->len);
                buf_lit(out, "\":");
                if (k->is_array)
                        buf_putc(out, '[');
                put_value(out, fl);
                prev = k;
        }
        if (prev && prev->is_array)
                buf_putc(out, ']');
        buf_lit(out, "}\n");
}

static const struct field *find(const struct event *ev, unsigned key)
{
        for (unsigned i = 0; i < ev->nfields; i++)
                if (ev->f[i].key == key)
                        return &ev->f[i];
        return NULL;
}

/* GELF additional field name: '_' + key with dots as underscores; "_id" is
 * reserved by GELF, so a key named "id" becomes "_id_". */
static void put_gelf_name(struct buf *out, const struct key *k)
{
        buf_lit(out, "\"_");
        for (unsigned i = 0; i < k->len; i++) {
                char c = k->name[i];
                buf_putc(out, c == '.' || c == '@' || c == '-' ? '_' : c);
        }
        if (k->len == 2 && memcmp(k->name, "id", 2) == 0)
                buf_putc(out, '_');
        buf_lit(out, "\":");
}

/* GELF values are strings or numbers: arrays are joined with ",", booleans
 * become "true"/"false". */
static void put_gelf_scalar(struct buf *out, const struct field *fl)
{
        if (fl->kind == VAL_BOOL) {
                if (fl->v.num)
                        buf_lit(out, "\"true\"");
                else
                        buf_lit(out, "\"false\"");
        } else {
                put_value(out, fl);
        }
}

/* host, short_message and, for a message of several lines, full_message. */
static void put_gelf_head(struct buf *out, const struct event *ev)
{
        const struct field *host = find(ev, K_HOST_NAME);
        const struct field *msg = find(ev, K_MESSAGE);
        int msg_text = msg && (msg->kind == VAL_STR || msg->kind == VAL_SAFE);
        const char *m = msg_text ? msg->v.str : "";
        size_t mlen = msg_text ? msg->len : 0;
        const char *nl = memchr(m, '\n', mlen);

        buf_lit(out, "{\"version\":\"1.1\",\"host\":");
        if (host && (host->kind == VAL_STR || host->kind == VAL_SAFE))
                put_str(out, host->v.str, host->len);
        else
                buf_lit(out, "\"-\"");
        buf_lit(out, ",\"short_message\":");
        if (mlen == 0 || nl == m)       /* GELF wants it non-empty */
                put_str(out, "-", 1);
        else
                put_str(out, m, nl ? (size_t)(nl - m) : mlen);
        if (nl) {
                buf_lit(out, ",\"full_message\":");
                put_str(out, m, mlen);
        }
}

/* Seconds with three decimals. */
static void put_gelf_timestamp(struct buf *out, int64_t ms)
{
        /* sign first, then |ms|: -1500 ms is -1.500, not -2 + .500 */
        uint64_t a = ms < 0 ? 0 - (uint64_t)ms : (uint64_t)ms;
        int r = (int)(a % 1000);
        char d[3] = { (char)('0' + r / 100), (char)('0' + r / 10 % 10), (char)('0' + r % 10) };

        buf_lit(out, ",\"timestamp\":");
        if (ms < 0)
                buf_putc(out, '-');
        buf_int(out, (long long)(a / 1000));
        buf_putc(out, '.');
        buf_put(out, d, 3);
}

/* A number or boolean as the text inside a joined array string. */
static void put_gelf_item_text(struct buf *out, const struct field *fl)
{
        if (fl->kind == VAL_BOOL)
                buf_put(out, fl->v.num ? "true" : "false", fl->v.num ? 4 : 5);
        else
                buf_int(out, fl->v.num);
}

/* The next item of an array: continue the joined string. After a failed
 * append the closing quote may be missing (len may even be the mark): the
 * event is rolled back anyway, so write nothing more of it. */
static void put_gelf_next_item(struct buf *out, const struct field *fl)
{
        if (out->failed)
                return;
        out->len--;     /* the closing quote */
        buf_putc(out, ',');
        if (fl->kind == VAL_STR || fl->kind == VAL_SAFE)
                json_escape(out, fl->v.str, fl->len);
        else
                put_gelf_item_text(out, fl);
        buf_putc(out, '"');
}

static void put_gelf_field(struct buf *out, const struct field *fl, const struct key *k)
{
        buf_putc(out, ',');
        put_gelf_name(out, k);
        if (k->is_array && fl->kind != VAL_STR && fl->kind != VAL_SAFE) {
                buf_putc(out, '"');
                put_gelf_item_text(out, fl);
                buf_putc(out, '"');
        } else {
                put_gelf_scalar(out, fl);
        }
}

static void encode_gelf(const struct event *ev, const uint8_t *order, struct buf *out)
{
        const struct key *prev = NULL;

        put_gelf_head(out, ev);
        put_gelf_timestamp(out, ev->ts_ms);
        buf_lit(out, ",\"level\":");
        buf_int(out, ev->severity);
        for (unsigned i = 0; i < ev->nfields; i++) {
                const struct field *fl = &ev->f[order[i]];
                const struct key *k = &ev->keys->k[fl->key];

                if (fl->key == K_HOST_NAME || fl->key == K_MESSAGE ||
                    fl->key == K_TIMESTAMP || fl->key == K_EVENT_SEVERITY)
                        continue;
                if (prev == k) {
                        put_gelf_next_item(out, fl);
                        continue;
                }
                put_gelf_field(out, fl, k);
                prev = k;
        }
        buf_lit(out, "}\n");
}

int encode_json(const struct event *ev, enum encoding enc, struct buf *out)
{
        uint8_t order[EVENT_MAX_FIELDS];
        size_t mark = out->len;

        out->failed = 0;
        event_sorted(ev, order);
        switch (enc) {
        case ENC_ECS:
                encode_ecs(ev, order, out);
                break;
        case ENC_FLAT:
                encode_flat(ev, order, out);
                break;
        case ENC_GELF:
                encode_gelf(ev, order, out);
                break;
        }
        if (out->failed) {
                out->len = mark;
                return -ENOMEM;
        }
        return 0;
}
