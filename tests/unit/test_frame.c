/* SPDX-License-Identifier: MIT */
/* frame.c: bytes -> records. Every row is framed in one feed and compared
 * with its expected records byte for byte, then framed again cut at every
 * byte position (so also between CR and LF, inside a BOM and inside UTF-8
 * sequences) and in 1-byte pieces: the records must not change. The
 * ceiling is tested at max-1, max and max+1, through UTF-8 sequences, and
 * with a 10 MB line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/frame.h"
#include "testutil.h"

#define MAX_MIN FRAME_MAX_RECORD_MIN

struct want_rec {
        struct bytes data;
        uint64_t offset, end_offset;
        unsigned flags, lines;
};

/* Frame fd's way and also cut at every position and byte by byte: each run
 * must give the records of the one-feed run, which are returned in out. */
static void run_all_feeds(const char *what, const struct tu_feed *fd, const char *in,
                          size_t len, struct tu_recs *out)
{
        struct tu_feed one = *fd, cut = *fd;
        struct tu_recs got;
        char name[256];

        one.split = 0;
        one.piece = 0;
        tu_frame_run(&one, in, len, out);
        for (size_t split = 1; split < len; split++) {
                cut.split = split;
                cut.piece = 0;
                tu_frame_run(&cut, in, len, &got);
                snprintf(name, sizeof(name), "%s (cut at %zu)", what, split);
                tu_recs_equal(name, out, &got);
                tu_recs_free(&got);
        }
        cut.split = 0;
        cut.piece = 1;
        tu_frame_run(&cut, in, len, &got);
        snprintf(name, sizeof(name), "%s (1-byte feeds)", what);
        tu_recs_equal(name, out, &got);
        tu_recs_free(&got);
}

static void check_recs(const char *what, const struct tu_recs *got, const struct want_rec *want,
                       unsigned n)
{
        struct tu_recs w = { .n = n };

        for (unsigned i = 0; i < n; i++)
                w.r[i] = (struct frame_record){
                        .data = want[i].data.p, .len = want[i].data.len,
                        .offset = want[i].offset, .end_offset = want[i].end_offset,
                        .flags = want[i].flags, .lines = want[i].lines,
                };
        tu_recs_equal(what, &w, got);
}

/* ---- line endings, BOM, continuations, offsets ------------------------- */

struct frame_row {
        const char *name;
        struct bytes in;
        uint64_t base;          /* frame_reset offset */
        int partial;            /* frame_flush(with_partial) */
        unsigned n;
        struct want_rec want[3];
};

#define A "12:00:00.000 a"      /* 14 bytes */
#define B "12:00:01.000 b"      /* 14 bytes */
#define BOM "\xEF\xBB\xBF"

static const struct frame_row frame_rows[] = {
        { "LF", S(A "\n" B "\n"), 0, 0, 2,
          { { S(A), 0, 15, 0, 1 }, { S(B), 15, 30, 0, 1 } } },
        { "CRLF", S(A "\r\n" B "\r\n"), 0, 0, 2,
          { { S(A), 0, 16, 0, 1 }, { S(B), 16, 32, 0, 1 } } },
        { "CRLF then LF", S(A "\r\n" B "\n"), 0, 0, 2,
          { { S(A), 0, 16, 0, 1 }, { S(B), 16, 31, 0, 1 } } },
        { "BOM at offset 0: record starts at 3", S(BOM A "\r\n" B "\r\n"), 0, 0, 2,
          { { S(A), 3, 19, 0, 1 }, { S(B), 19, 35, 0, 1 } } },
        { "BOM alone on the first line", S(BOM "\r\n" A "\n"), 0, 0, 1,
          { { S(A), 5, 20, 0, 1 } } },
        { "BOM at a later file offset is data", S(BOM A "\n"), 100, 0, 1,
          { { S(BOM A), 100, 118, FRAME_NO_STAMP, 1 } } },
        { "BOM inside the file is data", S(A "\n" BOM B "\n"), 0, 0, 1,
          { { S(A "\n" BOM B), 0, 33, FRAME_MULTILINE, 2 } } },
        { "continuation lines: three spaces and 'at '",
          S("09:12:44.402 Exception: boom\r\n   at A.B()\r\n   at C.D(x)\r\n" B "\r\n"), 0, 0, 2,
          { { S("09:12:44.402 Exception: boom\n   at A.B()\n   at C.D(x)"), 0, 57,
              FRAME_MULTILINE, 3 },
            { S(B), 57, 73, 0, 1 } } },
        { "continuation line: TAB",
          S("12:30:05.250 [198.51.100.7] POP Login failed: Invalid password\n"
            "\tBrute force attempts increased to 2 of 10 in 5 minutes.\n"), 0, 0, 1,
          { { S("12:30:05.250 [198.51.100.7] POP Login failed: Invalid password\n"
                "\tBrute force attempts increased to 2 of 10 in 5 minutes."), 0, 120,
              FRAME_MULTILINE, 2 } } },
        { "first line without a stamp", S("   at X\r\nplain\n" A "\n"), 0, 0, 2,
          { { S("   at X\nplain"), 0, 15, FRAME_NO_STAMP | FRAME_MULTILINE, 2 },
            { S(A), 15, 30, 0, 1 } } },
        { "viewer stamps with a date", S("[2026.02.18] 01:27:54.048 x\n   at y\n"
                                         "[2018.05.07] 22:54:21 z\n"), 0, 0, 2,
          { { S("[2026.02.18] 01:27:54.048 x\n   at y"), 0, 36, FRAME_MULTILINE, 2 },
            { S("[2018.05.07] 22:54:21 z"), 36, 60, 0, 1 } } },
        { "a malformed date prefix continues the record", S(A "\n[2026.2.18] x\n"), 0, 0, 1,
          { { S(A "\n[2026.2.18] x"), 0, 29, FRAME_MULTILINE, 2 } } },
        { "an out-of-range stamp still starts a record", S(A "\n25:61:61.000 c\n"), 0, 0, 2,
          { { S(A), 0, 15, 0, 1 }, { S("25:61:61.000 c"), 15, 30, 0, 1 } } },
        { "a CR inside a line is kept", S("12:00:00.000 a\rb\n"), 0, 0, 1,
          { { S("12:00:00.000 a\rb"), 0, 17, 0, 1 } } },
        { "only one CR is a terminator", S(A "\r\r\n"), 0, 0, 1,
          { { S(A "\r"), 0, 17, 0, 1 } } },
        { "empty lines are skipped", S("\n" A "\n\n\r\n" B "\n\n"), 0, 0, 2,
          { { S(A), 1, 19, 0, 1 }, { S(B), 19, 35, 0, 1 } } },
        { "an empty line inside a record", S(A "\n\n   at b\n"), 0, 0, 1,
          { { S(A "\n   at b"), 0, 24, FRAME_MULTILINE, 2 } } },
        { "only empty lines", S("\r\n\n\r\n"), 0, 1, 0, { { S(""), 0, 0, 0, 0 } } },
        { "no input", S(""), 0, 1, 0, { { S(""), 0, 0, 0, 0 } } },
        { "partial last line flushed", S(A "\n" B), 0, 1, 2,
          { { S(A), 0, 15, 0, 1 }, { S(B), 15, 29, FRAME_NO_EOL, 1 } } },
        { "partial last line held back", S(A "\n" B), 0, 0, 1,
          { { S(A), 0, 15, 0, 1 } } },
        { "partial continuation flushed", S(A "\n   at b"), 0, 1, 1,
          { { S(A "\n   at b"), 0, 22, FRAME_MULTILINE | FRAME_NO_EOL, 2 } } },
        { "partial line ending in CR", S(A "\r"), 0, 1, 1,
          { { S(A), 0, 15, FRAME_NO_EOL, 1 } } },
        { "partial line without a stamp", S("hello"), 0, 1, 1,
          { { S("hello"), 0, 5, FRAME_NO_STAMP | FRAME_NO_EOL, 1 } } },
        { "offsets from a resumed position", S(A "\n" B "\n"), 1000, 0, 2,
          { { S(A), 1000, 1015, 0, 1 }, { S(B), 1015, 1030, 0, 1 } } },
};

static void test_frame_rows(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(frame_rows); i++) {
                const struct frame_row *row = &frame_rows[i];
                struct tu_feed fd = { .max = FRAME_MAX_RECORD_DEFAULT, .base = row->base,
                                      .partial = row->partial };
                struct tu_recs got;

                run_all_feeds(row->name, &fd, row->in.p, row->in.len, &got);
                check_recs(row->name, &got, row->want, row->n);
                tu_recs_free(&got);
        }
}

/* ---- the ceiling ------------------------------------------------------- */

/* One physical line: head, pad bytes of 'x', mid, pad2 bytes of 'x', eol. */
struct line_spec {
        const char *head;       /* NULL: no such line */
        size_t pad;
        const char *mid;
        size_t pad2;
        const char *eol;
};

struct ceiling_row {
        const char *name;
        size_t max;             /* frame_new argument */
        struct line_spec line[2];
        uint64_t want_offset;   /* 3 after a BOM */
        size_t want_len;        /* record bytes kept */
        unsigned want_flags;
};

#define ST "12:00:00.000 "      /* 13 bytes */

static const struct ceiling_row ceiling_rows[] = {
        { "max-1, LF", MAX_MIN, { { ST, 242, "", 0, "\n" } }, 0, 255, 0 },
        { "max, LF", MAX_MIN, { { ST, 243, "", 0, "\n" } }, 0, 256, 0 },
        { "max+1, LF", MAX_MIN, { { ST, 244, "", 0, "\n" } }, 0, 256, FRAME_TRUNCATED },
        { "max-1, CRLF", MAX_MIN, { { ST, 242, "", 0, "\r\n" } }, 0, 255, 0 },
        { "max, CRLF", MAX_MIN, { { ST, 243, "", 0, "\r\n" } }, 0, 256, 0 },
        { "max+1, CRLF", MAX_MIN, { { ST, 244, "", 0, "\r\n" } }, 0, 256, FRAME_TRUNCATED },
        { "BOM + max", MAX_MIN, { { BOM ST, 243, "", 0, "\r\n" } }, 3, 256, 0 },
        { "BOM + max+1", MAX_MIN, { { BOM ST, 244, "", 0, "\r\n" } }, 3, 256, FRAME_TRUNCATED },
        { "max, no EOL", MAX_MIN, { { ST, 243, "", 0, "" } }, 0, 256, FRAME_NO_EOL },
        { "max+1, no EOL", MAX_MIN, { { ST, 244, "", 0, "" } }, 0, 256,
          FRAME_NO_EOL | FRAME_TRUNCATED },
        { "max+1, CR, no LF", MAX_MIN, { { ST, 244, "", 0, "\r" } }, 0, 256,
          FRAME_NO_EOL | FRAME_TRUNCATED },
        { "max-1 over two lines", MAX_MIN, { { ST, 87, "", 0, "\n" }, { "\t", 153, "", 0, "\n" } },
          0, 255, FRAME_MULTILINE },
        { "max over two lines", MAX_MIN, { { ST, 87, "", 0, "\n" }, { "\t", 154, "", 0, "\n" } },
          0, 256, FRAME_MULTILINE },
        { "max+1 over two lines", MAX_MIN,
          { { ST, 87, "", 0, "\r\n" }, { "\t", 155, "", 0, "\r\n" } },
          0, 256, FRAME_MULTILINE | FRAME_TRUNCATED },
        { "a continuation after a full record", MAX_MIN,
          { { ST, 243, "", 0, "\n" }, { "\tmore", 0, "", 0, "\n" } },
          0, 256, FRAME_MULTILINE | FRAME_TRUNCATED },
        { "ceiling below the minimum is clamped: max", 1, { { ST, 243, "", 0, "\n" } }, 0, 256, 0 },
        { "ceiling below the minimum is clamped: max+1", 1, { { ST, 244, "", 0, "\n" } }, 0, 256,
          FRAME_TRUNCATED },
        { "ceiling 300: max+1", 300, { { ST, 288, "", 0, "\n" } }, 0, 300, FRAME_TRUNCATED },
        /* a cut never splits a UTF-8 sequence: the character starts at byte
         * 13 + pad of the record */
        { "2-byte char ends at max", MAX_MIN, { { ST, 241, "\xC3\xA9", 20, "\n" } }, 0, 256,
          FRAME_TRUNCATED },
        { "2-byte char across max", MAX_MIN, { { ST, 242, "\xC3\xA9", 20, "\n" } }, 0, 255,
          FRAME_TRUNCATED },
        { "2-byte char starts at max", MAX_MIN, { { ST, 243, "\xC3\xA9", 20, "\n" } }, 0, 256,
          FRAME_TRUNCATED },
        { "3-byte char ends at max", MAX_MIN, { { ST, 240, "\xE2\x82\xAC", 20, "\n" } }, 0, 256,
          FRAME_TRUNCATED },
        { "3-byte char, 2 bytes fit", MAX_MIN, { { ST, 241, "\xE2\x82\xAC", 20, "\r\n" } }, 0, 254,
          FRAME_TRUNCATED },
        { "3-byte char, 1 byte fits", MAX_MIN, { { ST, 242, "\xE2\x82\xAC", 20, "\n" } }, 0, 255,
          FRAME_TRUNCATED },
        { "4-byte char ends at max", MAX_MIN, { { ST, 239, "\xF0\x9F\x98\x80", 20, "\n" } }, 0,
          256, FRAME_TRUNCATED },
        { "4-byte char, 3 bytes fit", MAX_MIN, { { ST, 240, "\xF0\x9F\x98\x80", 20, "\n" } }, 0,
          253, FRAME_TRUNCATED },
        { "4-byte char, 2 bytes fit", MAX_MIN, { { ST, 241, "\xF0\x9F\x98\x80", 20, "\n" } }, 0,
          254, FRAME_TRUNCATED },
        { "4-byte char, 1 byte fits", MAX_MIN, { { ST, 242, "\xF0\x9F\x98\x80", 20, "\r\n" } }, 0,
          255, FRAME_TRUNCATED },
        { "4-byte char across max after a BOM", MAX_MIN,
          { { BOM ST, 241, "\xF0\x9F\x98\x80", 20, "\r\n" } }, 3, 254, FRAME_TRUNCATED },
        { "3-byte char across max in a continuation", MAX_MIN,
          { { ST, 87, "", 0, "\n" }, { "\t", 152, "\xE2\x82\xAC", 10, "\n" } },
          0, 254, FRAME_MULTILINE | FRAME_TRUNCATED },
        { "stray continuation bytes: at most 3 dropped", MAX_MIN,
          { { ST, 240, "\x80\x80\x80\x80\x80\x80\x80\x80", 20, "\n" } }, 0, 253, FRAME_TRUNCATED },
};

static const char next_line[] = "12:00:01.000 next\n";

/* Append one spec'd line to buf (its text without eol also to joined). */
static void put_line(char *buf, size_t *len, char *joined, size_t *jlen,
                     const struct line_spec *ls)
{
        size_t start = *len;

        memcpy(buf + *len, ls->head, strlen(ls->head));
        *len += strlen(ls->head);
        memset(buf + *len, 'x', ls->pad);
        *len += ls->pad;
        memcpy(buf + *len, ls->mid, strlen(ls->mid));
        *len += strlen(ls->mid);
        memset(buf + *len, 'x', ls->pad2);
        *len += ls->pad2;
        if (*jlen)
                joined[(*jlen)++] = '\n';
        memcpy(joined + *jlen, buf + start, *len - start);
        *jlen += *len - start;
        memcpy(buf + *len, ls->eol, strlen(ls->eol));
        *len += strlen(ls->eol);
}

static void test_frame_ceiling(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(ceiling_rows); i++) {
                const struct ceiling_row *row = &ceiling_rows[i];
                static char in[2048], joined[2048];
                size_t len = 0, jlen = 0, rec_end;
                unsigned nlines = 0;
                struct tu_feed fd = { .max = row->max, .partial = 1 };
                struct tu_recs got;
                struct want_rec want[2];

                for (; nlines < 2 && row->line[nlines].head; nlines++)
                        put_line(in, &len, joined, &jlen, &row->line[nlines]);
                rec_end = len;
                want[0] = (struct want_rec){
                        { joined + row->want_offset, row->want_len }, row->want_offset, rec_end,
                        row->want_flags, nlines,
                };
                want[1] = (struct want_rec){
                        { next_line, sizeof(next_line) - 2 }, rec_end,
                        rec_end + sizeof(next_line) - 1, 0, 1,
                };
                if (!(row->want_flags & FRAME_NO_EOL)) {
                        memcpy(in + len, next_line, sizeof(next_line) - 1);
                        len += sizeof(next_line) - 1;
                }
                run_all_feeds(row->name, &fd, in, len, &got);
                check_recs(row->name, &got, want, row->want_flags & FRAME_NO_EOL ? 1 : 2);
                tu_recs_free(&got);
        }
}

/* A 10 MB line under a 64 KiB ceiling, read in chunks of several sizes: the
 * record is cut at the ceiling (never inside a character) and the next one
 * comes out whole. */
struct big_row {
        const char *name;
        const char *fill;       /* repeated to fill the line */
        size_t piece;           /* feed size; 0: one feed */
        size_t want_len;
};

static const struct big_row big_rows[] = {
        { "ASCII, one feed", "y", 0, 65536 },
        { "ASCII, 64 KiB reads", "y", 65536, 65536 },
        { "ASCII, 4093-byte reads", "y", 4093, 65536 },
        { "2-byte chars, one feed", "\xC3\xA9", 0, 65535 },
        { "2-byte chars, 64 KiB reads", "\xC3\xA9", 65536, 65535 },
        { "2-byte chars, 65537-byte reads", "\xC3\xA9", 65537, 65535 },
};

static void test_frame_huge_line(void **state)
{
        const size_t body = 10u * 1024u * 1024u;
        size_t len = 0;
        char *in = malloc(body + 64);

        (void)state;
        assert_non_null(in);
        memcpy(in, ST, 13);
        len = 13;
        for (size_t i = 0; i < ARRAY_SIZE(big_rows); i++) {
                const struct big_row *row = &big_rows[i];
                size_t fl = strlen(row->fill), rec_end;
                struct tu_feed fd = { .max = 64u * 1024u, .piece = row->piece, .partial = 1 };
                struct tu_recs got;

                for (len = 13; len - 13 + fl <= body; len += fl)
                        memcpy(in + len, row->fill, fl);
                in[len++] = '\n';
                rec_end = len;
                memcpy(in + len, next_line, sizeof(next_line) - 1);
                len += sizeof(next_line) - 1;
                tu_frame_run(&fd, in, len, &got);
                {
                        struct want_rec want[2] = {
                                { { in, row->want_len }, 0, rec_end, FRAME_TRUNCATED, 1 },
                                { { next_line, sizeof(next_line) - 2 }, rec_end, len, 0, 1 },
                        };
                        check_recs(row->name, &got, want, 2);
                }
                tu_recs_free(&got);
        }
        free(in);
}

/* frame_pending_offset: where a restart would have to read again. */
struct pending_row {
        const char *name;
        struct bytes in;
        uint64_t base;
        uint64_t want;
};

static const struct pending_row pending_rows[] = {
        { "nothing fed", S(""), 0, 0 },
        { "nothing fed, resumed", S(""), 500, 500 },
        { "a record waits for the next line", S(A "\n"), 0, 0 },
        { "a record and a partial line", S(A "\n" B "\n12:00"), 0, 15 },
        { "a partial line only", S("\n\n12:00"), 0, 2 },
        { "empty lines only", S("\n\r\n"), 40, 43 },
};

static void test_frame_pending(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(pending_rows); i++) {
                const struct pending_row *row = &pending_rows[i];
                struct frame *f = frame_new(0);
                struct frame_record r;

                assert_non_null(f);
                frame_reset(f, row->base);
                frame_feed(f, row->in.p, row->in.len);
                while (frame_next(f, &r))
                        ;
                if (frame_pending_offset(f) != row->want) {
                        print_error("%s: pending %llu, want %llu\n", row->name,
                                    (unsigned long long)frame_pending_offset(f),
                                    (unsigned long long)row->want);
                        fail();
                }
                frame_free(f);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_frame_rows),
                cmocka_unit_test(test_frame_ceiling),
                cmocka_unit_test(test_frame_huge_line),
                cmocka_unit_test(test_frame_pending),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
