/* SPDX-License-Identifier: MIT */
/* reader.c: the record loop. Follower rows feed pieces, drain after each,
 * and flush at chosen points, as the daemon does; the records handed out
 * (joined with '|') and the pending offset at the end are compared with the
 * row. A whole file read through reader_read in small chunks, and a buffer
 * given to reader_buffer, must give the records frame.c gives for the same
 * bytes; a drain stopped after each record must lose none. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/reader.h"
#include "testutil.h"

#define A "12:00:00.000 a"      /* 14 bytes */
#define B "12:00:01.000 b"
#define C "12:00:02.000 c"

#define STEPS_MAX 6
#define FEED 0                  /* a step that feeds text */
#define FLUSH 1                 /* reader_flush(rd, 0) */
#define FLUSH_PARTIAL 2         /* reader_flush(rd, 1) */

struct step {
        int op;
        const char *text;       /* FEED only */
};

struct follow_row {
        const char *name;
        uint64_t base;
        struct step steps[STEPS_MAX];
        const char *want;       /* the records' data, joined with '|' */
        uint64_t pending;       /* reader_pending_offset at the end */
};

static const struct follow_row follow_rows[] = {
        { "complete records only: the last is held back", 0,
          { { FEED, A "\n" B "\n" } }, A, 15 },
        { "a quiet flush gives the held-back record", 0,
          { { FEED, A "\n" B "\n" }, { FLUSH, NULL } }, A "|" B, 30 },
        { "a quiet flush keeps a partial line", 0,
          { { FEED, A "\n" B }, { FLUSH, NULL } }, A, 15 },
        { "a longer quiet flush gives the partial line", 0,
          { { FEED, A "\n" B }, { FLUSH_PARTIAL, NULL } }, A "|" B, 29 },
        { "feeding after a flush goes on with the input", 100,
          { { FEED, A "\n" }, { FLUSH, NULL }, { FEED, "   at x\n" B "\n" }, { FLUSH, NULL } },
          A "|   at x|" B, 138 },
        { "a continuation split over feeds", 0,
          { { FEED, A "\n   a" }, { FEED, "t y\n" C "\n" }, { FLUSH, NULL } },
          A "\n   at y|" C, 38 },
        { "a flush with nothing pending", 0,
          { { FLUSH_PARTIAL, NULL }, { FEED, A "\n" }, { FLUSH_PARTIAL, NULL } }, A, 15 },
        { "no flush, no record", 7, { { FEED, A } }, "", 7 },
};

/* Drain rd, appending each record's data to out ('|' between records). */
static void drain(struct reader *rd, char *out, size_t cap)
{
        struct frame_record r;

        while (reader_next(rd, &r)) {
                size_t o = strlen(out);

                snprintf(out + o, cap - o, "%s%.*s", o ? "|" : "", (int)r.len, r.data);
        }
}

static void test_reader_follow(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(follow_rows); i++) {
                const struct follow_row *row = &follow_rows[i];
                struct reader *rd = reader_new(0, 0);
                char got[512] = "";

                assert_non_null(rd);
                reader_start(rd, row->base);
                for (size_t k = 0; k < STEPS_MAX; k++) {
                        const struct step *st = &row->steps[k];

                        if (st->op == FEED && !st->text)
                                break;  /* the end of the row's steps */
                        if (st->op == FEED)
                                reader_feed(rd, st->text, strlen(st->text));
                        else
                                reader_flush(rd, st->op == FLUSH_PARTIAL);
                        drain(rd, got, sizeof(got));
                }
                tu_str_equal(row->name, row->want, got);
                if (reader_pending_offset(rd) != row->pending) {
                        print_error("%s: pending %llu, want %llu\n", row->name,
                                    (unsigned long long)reader_pending_offset(rd),
                                    (unsigned long long)row->pending);
                        fail();
                }
                reader_free(rd);
        }
}

/* ---- whole inputs: the same records as frame.c ---------------------------- */

static const struct bytes whole_rows[] = {
        S(""),
        S(A),
        S(A "\n"),
        S(A "\r\n   at x\r\n" B "\r\n" C),
        S("\xEF\xBB\xBF" A "\n\n\n" B "\n   at y\n   at z"),
        S("no stamp\n" A "\n" B "\n" C "\n"),
};

static void test_reader_read_fd(void **state)
{
        char dir[256], path[300];

        (void)state;
        tu_tmpdir(dir, sizeof(dir));
        snprintf(path, sizeof(path), "%s/in.log", dir);
        for (size_t i = 0; i < ARRAY_SIZE(whole_rows); i++) {
                const struct bytes *in = &whole_rows[i];
                struct tu_feed fd = { .partial = 1 };
                struct tu_recs want, got = { 0 };
                /* 7-byte reads: lines and CRLFs cut everywhere */
                struct reader *rd = reader_new(0, 7);
                struct frame_record r;
                FILE *f = fopen(path, "w");
                ssize_t n;
                int fdes;

                assert_non_null(rd);
                assert_non_null(f);
                assert_int_equal(fwrite(in->p, 1, in->len, f), in->len);
                assert_int_equal(fclose(f), 0);
                fdes = open(path, O_RDONLY);
                assert_true(fdes >= 0);
                reader_start(rd, 0);
                do {
                        n = reader_read(rd, fdes);
                        assert_true(n >= 0);
                        while (reader_next(rd, &r))
                                tu_recs_add(&got, &r);
                } while (n > 0);
                close(fdes);
                tu_frame_run(&fd, in->p, in->len, &want);
                tu_recs_equal("reader_read", &want, &got);
                tu_recs_free(&want);
                tu_recs_free(&got);
                reader_free(rd);
        }
        unlink(path);
        rmdir(dir);
}

static void test_reader_buffer(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(whole_rows); i++) {
                const struct bytes *in = &whole_rows[i];
                struct tu_feed fd = { .partial = 1, .base = 500 };
                struct tu_recs want, got = { 0 }, stepwise = { 0 };
                struct reader *rd = reader_new(0, 0);
                struct frame_record r;

                assert_non_null(rd);
                reader_buffer(rd, in->p, in->len, 500);
                while (reader_next(rd, &r))
                        tu_recs_add(&got, &r);
                tu_frame_run(&fd, in->p, in->len, &want);
                tu_recs_equal("reader_buffer", &want, &got);
                /* a drain stopped after every record (an output that is
                 * full) and a flush asked for again: nothing lost */
                reader_buffer(rd, in->p, in->len, 500);
                for (;;) {
                        if (!reader_next(rd, &r))
                                break;
                        tu_recs_add(&stepwise, &r);
                        reader_flush(rd, 1);
                }
                tu_recs_equal("reader_buffer, one record per drain", &want, &stepwise);
                tu_recs_free(&want);
                tu_recs_free(&got);
                tu_recs_free(&stepwise);
                reader_free(rd);
        }
}

static void test_reader_no_chunk(void **state)
{
        struct reader *rd = reader_new(0, 0);

        (void)state;
        assert_non_null(rd);
        assert_int_equal(reader_read(rd, 0), -EINVAL);
        reader_free(rd);
        reader_free(NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_reader_follow),
                cmocka_unit_test(test_reader_read_fd),
                cmocka_unit_test(test_reader_buffer),
                cmocka_unit_test(test_reader_no_chunk),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
