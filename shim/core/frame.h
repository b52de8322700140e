/* SPDX-License-Identifier: MIT */
/* Record framing: bytes -> records. A record is one time-stamped line plus
 * the lines without a time stamp under it, joined with '\n'. Handles LF and
 * CRLF, a UTF-8 BOM at offset 0, and a ceiling on record size: bytes past it
 * are dropped and the record is flagged truncated, never stalled. It does
 * not read files and does not look inside the body. */
#ifndef SHIM_FRAME_H
#define SHIM_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "base/optspec.h"

/* the bounds of --max-record-bytes, defined once beside its option row */
#define FRAME_MAX_RECORD_DEFAULT RECORD_BYTES_DEFAULT
#define FRAME_MAX_RECORD_MIN RECORD_BYTES_MIN
#define FRAME_MAX_RECORD_MAX RECORD_BYTES_MAX

enum frame_flag {
        FRAME_MULTILINE = 1u << 0,      /* has continuation lines */
        FRAME_TRUNCATED = 1u << 1,      /* bytes past the ceiling dropped */
        FRAME_NO_STAMP  = 1u << 2,      /* first line has no time stamp */
        FRAME_NO_EOL    = 1u << 3,      /* last line had no newline (flushed) */
};

struct frame_record {
        const char *data;       /* owned by the frame; valid until the next
                                   frame_next / frame_flush / frame_reset */
        size_t len;             /* bytes in data, no line terminators */
        uint64_t offset;        /* file offset of the record's first byte */
        uint64_t end_offset;    /* file offset just past its last line */
        unsigned flags;         /* enum frame_flag */
        unsigned lines;         /* physical lines in the record */
};

struct frame;

/* max_record is the ceiling in bytes (clamped to the MIN/MAX above). Returns
 * NULL only when out of memory. */
struct frame *frame_new(size_t max_record);
void frame_free(struct frame *f);

/* Forget pending bytes; the next byte fed sits at file offset 'offset'. */
void frame_reset(struct frame *f, uint64_t offset);

/* Hand the frame the next bytes of the file. The frame keeps a pointer to
 * buf until frame_next returns 0; do not feed again before that. */
void frame_feed(struct frame *f, const char *buf, size_t len);

/* Returns 1 and fills ret when a record is complete (the line after it has
 * started), 0 when more bytes are needed. */
int frame_next(struct frame *f, struct frame_record *ret);

/* End of input (or a quiet time): returns 1 with the pending record, if any,
 * including a last line without a newline when with_partial is set. */
int frame_flush(struct frame *f, int with_partial, struct frame_record *ret);

/* Bytes held back (pending record start .. end of fed data). */
uint64_t frame_pending_offset(const struct frame *f);

#endif
