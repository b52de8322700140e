/* SPDX-License-Identifier: MIT */
/* Masking a line word by word. A word ends at a blank or at a character
 * that cannot be inside an address (<>()[]{}"',;=); each word is checked,
 * in this order, for an e-mail address, an IP address at its start, and an
 * id; what is left is copied with its digits masked. */
#include "query/shape.h"

#include <arpa/inet.h>
#include <string.h>

struct shape_out {
        char *p;
        size_t len, cap;
};

static void put(struct shape_out *o, const char *s, size_t n)
{
        if (o->len + 1 >= o->cap)
                return;
        if (n > o->cap - 1 - o->len)
                n = o->cap - 1 - o->len;
        memcpy(o->p + o->len, s, n);
        o->len += n;
}

static int is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int ends_word(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || strchr("<>()[]{}\"',;=", c);
}

/* Copy p[0..n) with its digits masked. */
static void put_masked(struct shape_out *o, const char *p, size_t n, enum shape_digits digits)
{
        for (size_t i = 0; i < n; i++) {
                if (!is_digit(p[i])) {
                        put(o, p + i, 1);
                } else if (digits == SHAPE_EACH_DIGIT || i == 0 || !is_digit(p[i - 1])) {
                        put(o, "9", 1);
                }
        }
}

/* 1 when p[0..n) is an address of family af. */
static int is_addr(int af, const char *p, size_t n)
{
        char tmp[INET6_ADDRSTRLEN + 1];
        unsigned char addr[16];

        if (n == 0 || n >= sizeof(tmp))
                return 0;
        memcpy(tmp, p, n);
        tmp[n] = '\0';
        return inet_pton(af, tmp, addr) == 1;
}

/* The length of the IP address at the start of w[0..n), or 0. */
static size_t ip_prefix(const char *w, size_t n, const char **stand_in)
{
        size_t v4 = 0, v6 = 0, colons = 0;

        while (v4 < n && (is_digit(w[v4]) || w[v4] == '.'))
                v4++;
        while (v4 && w[v4 - 1] == '.')
                v4--;
        if (is_addr(AF_INET, w, v4)) {
                *stand_in = SHAPE_IPV4;
                return v4;
        }
        while (v6 < n && (is_digit(w[v6]) || strchr("abcdefABCDEF:.", w[v6]))) {
                colons += w[v6] == ':';
                v6++;
        }
        while (v6 && (w[v6 - 1] == '.' || (w[v6 - 1] == ':' && (v6 < 2 || w[v6 - 2] != ':'))))
                v6--;
        if (colons >= 2 && is_addr(AF_INET6, w, v6)) {
                *stand_in = SHAPE_IPV6;
                return v6;
        }
        return 0;
}

static int is_id(const char *w, size_t n)
{
        size_t digits = 0, letters = 0;

        if (n < 8)
                return 0;
        for (size_t i = 0; i < n; i++) {
                if (is_digit(w[i]))
                        digits++;
                else if (is_alpha(w[i]))
                        letters++;
                else if (w[i] != '-' && w[i] != '_')
                        return 0;
        }
        return digits >= 2 && letters >= 1;
}

/* One word: an address gives its stand-in, the text around it masked. */
static void put_word(struct shape_out *o, const char *w, size_t n, enum shape_digits digits)
{
        const char *at = memchr(w, '@', n), *stand_in;
        size_t start, end = n, ip;

        while (end && strchr(".:!?", w[end - 1]))
                end--;
        if (at && at > w && at + 1 < w + end) {
                /* the local part starts after a "From:" or "mailto:" */
                for (start = (size_t)(at - w); start && w[start - 1] != ':'; start--)
                        ;
                put_masked(o, w, start, digits);
                put(o, SHAPE_MAIL, sizeof(SHAPE_MAIL) - 1);
                put_masked(o, w + end, n - end, digits);
                return;
        }
        if ((ip = ip_prefix(w, n, &stand_in))) {
                put(o, stand_in, strlen(stand_in));
                put_masked(o, w + ip, n - ip, digits);
                return;
        }
        if (is_id(w, end)) {
                put(o, SHAPE_ID, sizeof(SHAPE_ID) - 1);
                put_masked(o, w + end, n - end, digits);
                return;
        }
        put_masked(o, w, n, digits);
}

size_t shape_mask(const char *p, size_t n, enum shape_digits digits, char *out, size_t cap)
{
        struct shape_out o = { out, 0, cap };
        size_t i = 0;

        if (cap == 0)
                return 0;
        while (i < n && p[i] != '\n' && p[i] != '\r') {
                size_t j = i;

                if (ends_word(p[i])) {
                        put(&o, p + i, 1);
                        i++;
                        continue;
                }
                while (j < n && !ends_word(p[j]))
                        j++;
                put_word(&o, p + i, j - i, digits);
                i = j;
        }
        out[o.len] = '\0';
        return o.len;
}
