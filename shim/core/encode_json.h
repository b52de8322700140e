/* SPDX-License-Identifier: MIT */
/* Event -> one line of JSON in one of three shapes: ECS (nested objects),
 * flat (dotted keys) and GELF 1.1. Pure functions of the event. */
#ifndef SHIM_ENCODE_JSON_H
#define SHIM_ENCODE_JSON_H

#include <stddef.h>

#include "base/buf.h"
#include "core/event.h"

enum encoding { ENC_ECS, ENC_FLAT, ENC_GELF };

/* Append the event and a '\n' to out. Returns 0, or -ENOMEM when out hit
 * its ceiling (out is then rolled back to where it was). */
int encode_json(const struct event *ev, enum encoding enc, struct buf *out);

/* Append p[0..n) as a JSON string body (no quotes): escapes what JSON
 * requires, writes NUL as \u0000 and replaces each invalid UTF-8 sequence
 * by U+FFFD, so the output is always valid UTF-8 JSON. */
void json_escape(struct buf *out, const char *p, size_t n);

#endif
