/* SPDX-License-Identifier: MIT */
/* The shape of a line, for a list of the lines no rule knows that a user
 * can share: e-mail addresses, IP addresses and ids are replaced with fixed
 * stand-ins and digits with 9, so that lines that differ only in those
 * fall together and no address or number leaves the server. It reads only
 * the first line of a record and knows nothing of log types. */
#ifndef SHIM_SHAPE_H
#define SHIM_SHAPE_H

#include <stddef.h>

#define SHAPE_MAX 240                   /* bytes of a shape, NUL included */

#define SHAPE_MAIL "user@example.com"
#define SHAPE_IPV4 "192.0.2.1"
#define SHAPE_IPV6 "2001:db8::1"
#define SHAPE_ID "ID"

enum shape_digits {
        SHAPE_EACH_DIGIT,       /* 1234 -> 9999: the example of a shape */
        SHAPE_DIGIT_RUNS,       /* 1234 -> 9: the shape itself */
};

/* Mask the first line of p[0..n) into out (at most cap - 1 bytes and a
 * NUL; a longer line is cut): each e-mail address becomes SHAPE_MAIL, each
 * IPv4 or IPv6 address SHAPE_IPV4 or SHAPE_IPV6, each id (a word of 8 or
 * more letters, digits, '-' and '_' with at least two digits and a letter:
 * session and message ids, GUIDs) SHAPE_ID, and the digits left become 9
 * as digits says. Returns the length written. */
size_t shape_mask(const char *p, size_t n, enum shape_digits digits, char *out, size_t cap);

#endif
