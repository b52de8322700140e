/* SPDX-License-Identifier: MIT */
/* The records of one input, one after another: the loop every reader of
 * logs runs around frame.c (parse over a descriptor; search, trace and
 * report over a mapped file; the daemon over the chunks of a followed
 * file). It owns the frame and, for reader_read, one read buffer. It does
 * not open files, watch them, or decide when a quiet input has ended: the
 * caller says so with reader_flush. */
#ifndef SHIM_READER_H
#define SHIM_READER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/frame.h"

#define READER_CHUNK (256u * 1024u)     /* bytes per read() in reader_read */

struct reader;

/* max_record: the frame's ceiling (frame_new). read_chunk: the buffer
 * reader_read fills, in bytes; 0 when the caller only feeds its own bytes.
 * Returns NULL only when out of memory. */
struct reader *reader_new(size_t max_record, size_t read_chunk);
/* Accepts NULL. */
void reader_free(struct reader *rd);

/* A new input: forget what is pending; the next byte fed sits at file
 * offset 'offset'. */
void reader_start(struct reader *rd, uint64_t offset);

/* Hand over the next bytes of the input. The reader keeps the pointer
 * until reader_next returns 0: the caller must not reuse or free buf, nor
 * feed again, before that. */
void reader_feed(struct reader *rd, const char *buf, size_t len);

/* Read up to read_chunk bytes from fd into the reader's buffer and feed
 * them (EINTR is retried). Returns the bytes read; 0 at the end of the
 * input, where it also calls reader_flush(rd, 1); or -errno. Drain with
 * reader_next before calling it again. */
ssize_t reader_read(struct reader *rd, int fd);

/* Returns 1 and fills ret with the next complete record, 0 when the bytes
 * fed so far hold no more. A record is complete once the line after it has
 * started, so the last record of what was fed is held back, unless a
 * flush is under way (below). ret->data stays valid until the next call
 * on rd. A caller that stops draining early (the daemon when an output is
 * full) simply calls again later: nothing is lost. */
int reader_next(struct reader *rd, struct frame_record *ret);

/* End of the input, or a quiet time: from now until reader_next returns
 * 0, reader_next also hands out what it holds back: the pending record
 * and, with with_partial, a last line that has no newline yet. After that
 * the reader goes on as before: feeding more bytes continues the input.
 * So a follower (the daemon) feeds chunks as the file grows, drains
 * complete records after each, and only after a quiet timeout calls
 * reader_flush(rd, 0) (the held-back record) or reader_flush(rd, 1) (the
 * partial last line too, once the file has been quiet for longer); a
 * reader of a whole file calls reader_flush(rd, 1) once at its end.
 * Calling it again while a flush is under way changes nothing but
 * with_partial. */
void reader_flush(struct reader *rd, int with_partial);

/* The whole input at once (a mapped file, or one record's bytes of it):
 * reader_start(offset), reader_feed(p, len), reader_flush(1). */
void reader_buffer(struct reader *rd, const char *p, size_t len, uint64_t offset);

/* File offset of the first byte not yet handed out as part of a record
 * (frame_pending_offset): what a checkpoint may safely resume from. */
uint64_t reader_pending_offset(const struct reader *rd);

#endif
