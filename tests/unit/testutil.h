/* SPDX-License-Identifier: MIT */
/* Helpers shared by the unit tests: byte-exact comparison with a readable
 * report, C-string escaping for messages, framing a whole input in chosen
 * pieces into an array of owned records, and temporary directories. Every
 * function is static inline so that a test uses only what it needs. Include
 * it after <cmocka.h>. */
#ifndef SHIM_TESTUTIL_H
#define SHIM_TESTUTIL_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/frame.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A byte string with its length, for table rows that hold NUL or that must
 * not be read with strlen: { S("a\0b") }. */
struct bytes {
        const char *p;
        size_t len;
};

#define S(lit) ((struct bytes){ (lit), sizeof(lit) - 1 })

/* p[0..n) as a C literal body, cut with "..." to fit out_len (>= 16). */
static inline const char *tu_escape(const char *p, size_t n, char *out, size_t out_len)
{
        size_t o = 0, i;

        for (i = 0; i < n && o + 8 < out_len; i++) {
                unsigned char c = (unsigned char)p[i];

                if (c == '\\' || c == '"')
                        o += (size_t)snprintf(out + o, out_len - o, "\\%c", c);
                else if (c == '\n')
                        o += (size_t)snprintf(out + o, out_len - o, "\\n");
                else if (c < 0x20 || c >= 0x7F)
                        o += (size_t)snprintf(out + o, out_len - o, "\\x%02x", c);
                else
                        out[o++] = (char)c;
        }
        if (i < n)
                o += (size_t)snprintf(out + o, out_len - o, "...");
        out[o] = '\0';
        return out;
}

/* Fail the test unless got[0..glen) equals want[0..wlen) byte for byte;
 * what names the row. The report shows where the two first differ. */
static inline void tu_bytes_equal(const char *what, const char *want, size_t wlen,
                                  const char *got, size_t glen)
{
        char a[512], b[512];
        size_t at = 0, from;

        while (at < wlen && at < glen && want[at] == got[at])
                at++;
        if (at == wlen && at == glen)
                return;
        from = at > 40 ? at - 40 : 0;
        print_error("%s: differs at byte %zu (shown from byte %zu)\n"
                    "  want (%zu) \"%s\"\n  got  (%zu) \"%s\"\n", what, at, from, wlen,
                    tu_escape(want + from, wlen - from, a, sizeof(a)), glen,
                    tu_escape(got + from, glen - from, b, sizeof(b)));
        fail();
}

static inline void tu_str_equal(const char *what, const char *want, const char *got)
{
        tu_bytes_equal(what, want, strlen(want), got ? got : "(null)",
                       strlen(got ? got : "(null)"));
}

/* ---- framing ---------------------------------------------------------- */

#define TU_RECS_MAX 64

/* Records copied out of the frame (their data is owned here). */
struct tu_recs {
        unsigned n;
        struct frame_record r[TU_RECS_MAX];
};

static inline void tu_recs_free(struct tu_recs *rs)
{
        for (unsigned i = 0; i < rs->n; i++)
                free((char *)rs->r[i].data);
        rs->n = 0;
}

static inline void tu_recs_add(struct tu_recs *rs, const struct frame_record *r)
{
        char *copy = malloc(r->len + 1);

        assert_non_null(copy);
        assert_true(rs->n < TU_RECS_MAX);
        memcpy(copy, r->data, r->len);
        copy[r->len] = '\0';
        rs->r[rs->n] = *r;
        rs->r[rs->n].data = copy;
        rs->n++;
}

/* How tu_frame_run feeds an input. */
struct tu_feed {
        size_t max;             /* record ceiling for frame_new */
        uint64_t base;          /* file offset of the first byte */
        size_t split;           /* cut here first (0: no cut there) */
        size_t piece;           /* then every piece bytes (0: no more cuts) */
        int partial;            /* frame_flush(with_partial) at the end */
};

/* Feed in[0..len) to a new frame as fd says. Each piece sits in its own
 * allocation of exactly its size, freed as soon as frame_next has returned
 * 0, so that the sanitizers catch a read past a piece or a pointer kept too
 * long. frame_flush is drained at the end. Records land in out. */
static inline void tu_frame_run(const struct tu_feed *fd, const char *in, size_t len,
                                struct tu_recs *out)
{
        struct frame *f = frame_new(fd->max);
        struct frame_record r;
        size_t pos = 0;

        assert_non_null(f);
        out->n = 0;
        frame_reset(f, fd->base);
        while (pos < len) {
                size_t n = len - pos;
                char *copy;

                if (fd->split > pos && fd->split - pos < n)
                        n = fd->split - pos;
                else if (fd->piece && fd->piece < n)
                        n = fd->piece;
                copy = malloc(n);
                assert_non_null(copy);
                memcpy(copy, in + pos, n);
                frame_feed(f, copy, n);
                while (frame_next(f, &r))
                        tu_recs_add(out, &r);
                free(copy);
                pos += n;
        }
        while (frame_flush(f, fd->partial, &r))
                tu_recs_add(out, &r);
        frame_free(f);
}

/* Fail unless two runs gave the same records (data, offsets, flags, lines). */
static inline void tu_recs_equal(const char *what, const struct tu_recs *want,
                                 const struct tu_recs *got)
{
        if (want->n != got->n) {
                print_error("%s: %u records, want %u\n", what, got->n, want->n);
                fail();
        }
        for (unsigned i = 0; i < want->n; i++) {
                const struct frame_record *a = &want->r[i], *b = &got->r[i];

                tu_bytes_equal(what, a->data, a->len, b->data, b->len);
                if (a->offset != b->offset || a->end_offset != b->end_offset ||
                    a->flags != b->flags || a->lines != b->lines) {
                        print_error("%s: record %u: offset %llu..%llu flags %#x lines %u, "
                                    "want %llu..%llu flags %#x lines %u\n", what, i,
                                    (unsigned long long)b->offset,
                                    (unsigned long long)b->end_offset, b->flags, b->lines,
                                    (unsigned long long)a->offset,
                                    (unsigned long long)a->end_offset, a->flags, a->lines);
                        fail();
                }
        }
}

/* ---- files ------------------------------------------------------------ */

/* A new empty directory under TMPDIR (or /tmp), its path in out. */
static inline void tu_tmpdir(char *out, size_t out_len)
{
        const char *t = getenv("TMPDIR");

        snprintf(out, out_len, "%s/shim-test.XXXXXX", t && t[0] ? t : "/tmp");
        assert_non_null(mkdtemp(out));
}

/* Write text to dir/name. */
static inline void tu_write_file(const char *dir, const char *name, const char *text)
{
        char path[1024];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "w");
        assert_non_null(f);
        assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
        assert_int_equal(fclose(f), 0);
}

/* Copy the file at src to dir/name. */
static inline void tu_copy_file(const char *src, const char *dir, const char *name)
{
        FILE *f = fopen(src, "r");
        char *text;
        long n;

        assert_non_null(f);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        n = ftell(f);
        assert_true(n >= 0);
        rewind(f);
        text = malloc((size_t)n + 1);
        assert_non_null(text);
        assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
        text[n] = '\0';
        fclose(f);
        tu_write_file(dir, name, text);
        free(text);
}

/* Remove the files in dir (no subdirectories) and dir itself. */
static inline void tu_rmdir(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        char path[1024];

        if (!d)
                return;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                (void)unlink(path);     /* best effort: a leftover is harmless */
        }
        closedir(d);
        (void)rmdir(dir);               /* likewise */
}

#endif
