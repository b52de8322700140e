/* SPDX-License-Identifier: MIT */
/* A session's text: the small arena that holds its addresses, names and ids,
 * with lists that keep each value once, and the string tests the record
 * rules use. The arena has a ceiling (SUMMARY_TEXT_MAX); what does not fit
 * is left out, never an error. It knows nothing of log types. */
#include "core/summary_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sum_ref sum_text_add(struct sum_lists *l, const char *p, size_t n, size_t max)
{
        struct sum_ref r = { 0, 0 };

        if (n > max)
                n = max;
        if (n == 0 || (size_t)l->text_len + n > SUMMARY_TEXT_MAX)
                return r;
        if ((size_t)l->text_len + n > l->text_cap) {
                size_t cap = l->text_cap ? l->text_cap : 256;
                char *np;

                while (cap < (size_t)l->text_len + n)
                        cap *= 2;
                if (cap > SUMMARY_TEXT_MAX)
                        cap = SUMMARY_TEXT_MAX;
                np = realloc(l->text, cap);
                if (!np)
                        return r;       /* the value is left out, like a full arena */
                l->text = np;
                l->text_cap = (uint16_t)cap;
        }
        memcpy(l->text + l->text_len, p, n);
        r.off = l->text_len;
        r.len = (uint16_t)n;
        l->text_len = (uint16_t)(l->text_len + n);
        return r;
}

static int ref_is(const struct sum_lists *l, struct sum_ref r, const char *p, size_t n)
{
        return r.len == n && memcmp(l->text + r.off, p, n) == 0;
}

int sum_list_add(struct sum_lists *l, struct sum_ref *list, uint8_t *nlist, unsigned max,
                 const char *p, size_t n)
{
        size_t cut = n > SUMMARY_STR_MAX ? SUMMARY_STR_MAX : n;

        for (unsigned i = 0; i < *nlist; i++)
                if (ref_is(l, list[i], p, cut))
                        return 0;
        if (*nlist < max) {
                struct sum_ref r = sum_text_add(l, p, n, SUMMARY_STR_MAX);
                if (r.len)
                        list[(*nlist)++] = r;
        }
        return 1;
}

void sum_set_once(struct sum_lists *l, struct sum_ref *r, const char *p, size_t n)
{
        if (!r->len && p && n)
                *r = sum_text_add(l, p, n, SUMMARY_STR_MAX);
}

void sum_copy_latest(char *dst, size_t cap, const char *p, size_t n)
{
        if (n >= cap)
                n = cap - 1;
        memcpy(dst, p, n);
        dst[n] = '\0';
}

int sum_has_ci(const char *p, size_t n, const char *word)
{
        size_t l = strlen(word);

        for (size_t i = 0; i + l <= n; i++) {
                size_t j = 0;
                while (j < l && (p[i + j] | 0x20) == word[j])
                        j++;
                if (j == l)
                        return 1;
        }
        return 0;
}

static void add_values(const struct summary *s, const struct event *ev, unsigned key,
                       struct sum_lists *l, struct sum_ref *list, uint8_t *nlist, unsigned max,
                       uint32_t *total)
{
        const struct field *v[8];
        unsigned n = event_get_all(ev, s->k[key], v, 8);

        for (unsigned i = 0; i < n && i < 8; i++)
                if ((v[i]->kind == VAL_STR || v[i]->kind == VAL_SAFE) && v[i]->len &&
                    sum_list_add(l, list, nlist, max, v[i]->v.str, v[i]->len) && total)
                        (*total)++;
}

void sum_take_addresses(const struct summary *s, struct sum_sess *ss, const struct event *ev)
{
        struct sum_lists *l = &ss->l;

        add_values(s, ev, SK_FROM, l, l->from, &l->nfrom, SUMMARY_FROM_MAX, NULL);
        add_values(s, ev, SK_TO, l, l->to, &l->nto, SUMMARY_TO_MAX, &l->to_total);
}

void sum_take_response(struct sum_sess *ss, const struct event *ev, int64_t code)
{
        struct sum_counts *c = &ss->c;
        const char *m;
        size_t ml;
        unsigned i;

        c->responses++;
        for (i = 0; i < c->ncodes && c->codes[i] != code; i++)
                ;
        if (i == c->ncodes && c->ncodes < SUMMARY_CODES_MAX)
                c->codes[c->ncodes++] = (uint16_t)code;
        /* the answer to QUIT says nothing about the session's outcome */
        if ((m = event_get_str(ev, K_MESSAGE, &ml)) && (code != 221 || !ss->t.rsp[0])) {
                if (ml >= 5 && (m[0] | 0x20) == 'r' && (m[1] | 0x20) == 's' &&
                    (m[2] | 0x20) == 'p' && m[3] == ':' && m[4] == ' ')
                        m += 5, ml -= 5;
                sum_copy_latest(ss->t.rsp, sizeof(ss->t.rsp), m, ml);
        }
}

const char *sum_ref_str(const struct sum_sess *ss, struct sum_ref r)
{
        return ss->l.text + r.off;
}

size_t sum_fmt_list(char *out, size_t cap, const struct sum_sess *ss, const struct sum_ref *list,
                    unsigned n, uint32_t total)
{
        size_t o = 0;

        out[0] = '\0';
        for (unsigned i = 0; i < n && o < cap; i++)
                o += (size_t)snprintf(out + o, cap - o, "%s%.*s", i ? ", " : "", (int)list[i].len,
                                      sum_ref_str(ss, list[i]));
        if (total > n && o < cap)
                o += (size_t)snprintf(out + o, cap - o, " and %u more", (unsigned)(total - n));
        return o < cap ? o : cap - 1;
}

void sum_set_ref(struct event *ev, unsigned key, const struct sum_sess *ss, struct sum_ref r)
{
        if (r.len)
                event_set_str(ev, key, sum_ref_str(ss, r), r.len);
}

void sum_set_cstr(struct event *ev, unsigned key, const char *p)
{
        if (p && p[0])
                event_set_str(ev, key, p, strlen(p));
}
