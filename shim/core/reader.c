/* SPDX-License-Identifier: MIT */
/* The record loop around frame.c. frame_next and frame_flush are two calls
 * that must be made in the right order (every fed byte through frame_next
 * before frame_flush, and frame_flush until it returns 0); the reader keeps
 * that order in one place, behind one reader_next. Reading from a
 * descriptor is here too, for the commands that read each input once. */
#include "core/reader.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

struct reader {
        struct frame *frame;
        int flushing;           /* reader_flush called, reader_next not yet 0 */
        int with_partial;
        char *chunk;            /* reader_read's buffer; NULL when none */
        size_t chunk_len;
};

struct reader *reader_new(size_t max_record, size_t read_chunk)
{
        struct reader *rd = calloc(1, sizeof(*rd));

        if (!rd)
                return NULL;
        rd->frame = frame_new(max_record);
        if (read_chunk)
                rd->chunk = malloc(read_chunk);
        if (!rd->frame || (read_chunk && !rd->chunk)) {
                reader_free(rd);
                return NULL;
        }
        rd->chunk_len = read_chunk;
        return rd;
}

void reader_free(struct reader *rd)
{
        if (!rd)
                return;
        frame_free(rd->frame);
        free(rd->chunk);
        free(rd);
}

void reader_start(struct reader *rd, uint64_t offset)
{
        frame_reset(rd->frame, offset);
        rd->flushing = 0;
        rd->with_partial = 0;
}

void reader_feed(struct reader *rd, const char *buf, size_t len)
{
        frame_feed(rd->frame, buf, len);
}

ssize_t reader_read(struct reader *rd, int fd)
{
        ssize_t got;

        if (!rd->chunk)
                return -EINVAL;
        do
                got = read(fd, rd->chunk, rd->chunk_len);
        while (got < 0 && errno == EINTR);
        if (got < 0)
                return -errno;
        if (got == 0)
                reader_flush(rd, 1);
        else
                frame_feed(rd->frame, rd->chunk, (size_t)got);
        return got;
}

int reader_next(struct reader *rd, struct frame_record *ret)
{
        if (frame_next(rd->frame, ret))
                return 1;
        /* every fed byte went through frame_next: only now may the frame
         * give up what it holds back */
        if (!rd->flushing)
                return 0;
        if (frame_flush(rd->frame, rd->with_partial, ret))
                return 1;
        rd->flushing = 0;
        return 0;
}

void reader_flush(struct reader *rd, int with_partial)
{
        rd->flushing = 1;
        rd->with_partial = with_partial;
}

void reader_buffer(struct reader *rd, const char *p, size_t len, uint64_t offset)
{
        reader_start(rd, offset);
        frame_feed(rd->frame, p, len);
        reader_flush(rd, 1);
}

uint64_t reader_pending_offset(const struct reader *rd)
{
        return frame_pending_offset(rd->frame);
}
