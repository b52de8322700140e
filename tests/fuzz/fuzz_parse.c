/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the parse path: bytes -> frame (fed in one to three
 * pieces) -> norm_record -> encode_json in ECS, flat and GELF. Besides what
 * the sanitizers catch, it checks that every event is one line of valid
 * JSON and that framing loses nothing: a reference splitter lists the
 * non-empty lines, and each record must be its lines joined with '\n' (a
 * prefix of them within the ceiling when flagged truncated), with offsets
 * that tile the input. The same input is then framed again, whole, on the
 * same frame after frame_reset, and must give the same records.
 *
 * Input: four control bytes, then the log text.
 *   c0: bits 0-1 pieces (1 + c0 % 3 after masking), bits 2-3 ceiling,
 *       bit 4 --no-original, bits 5-7 log type
 *   c1, c2: where the pieces are cut, as fractions of 255
 *   c3: bits 0-1 the file's date, bit 2 standard input (no path) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "base/options.h"
#include "core/setup.h"
#include "core/stamp.h"

#define CTL_BYTES 4

struct ref_line {
        size_t off;             /* first byte of the content */
        size_t len;             /* content without terminator, CR or BOM */
        int stamped;            /* stamp_parse() sees a time prefix */
        int no_eol;             /* the input ends inside this line */
};

/* What the records must add up to, and how far they got. */
struct ref {
        const char *text;
        size_t text_len;
        size_t max;             /* the frame's ceiling */
        struct ref_line *lines;
        size_t nlines, next, nrec;
        char *join;             /* scratch: a record's lines joined */
};

static struct setup pl;
static struct buf out;

static const char *const types[] = {
        "smtpLog", "imapLog", "popLog", "delivery", "administrative",
        "generalErrors", "", "x\"mpp\\Log\xff",    /* --type takes any text */
};
static const struct { int y, mo, d; } dates[] = {
        { 2026, 3, 8 }, { 2026, 11, 1 }, { 2018, 5, 7 }, { 2026, 9, 18 },
};
static const size_t ceilings[] = { FRAME_MAX_RECORD_MIN, FRAME_MAX_RECORD_MIN + 1, 1024,
                                   FRAME_MAX_RECORD_DEFAULT };

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        static const struct { const char *key, *value; } set[] = {
                { "timezone", "America/Chicago" }, { "host-name", "mail01" },
        };
        struct shim_opts o;
        struct diag err = { 0 };

        (void)argc;
        (void)argv;
        if (opts_defaults(&o) < 0)
                abort();
        for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++)
                if (opts_set(&o, opts_find(set[i].key, MODE_PARSE), set[i].value, &err) < 0)
                        abort();
        if (opts_set(&o, opts_find("mappings", MODE_PARSE), fuzz_mappings_dir(), &err) < 0 ||
            setup_init(&pl, &o) < 0) {
                fprintf(stderr, "fuzz_parse: cannot load the mappings in %s "
                        "(run from the repository, or set SHIM_FUZZ_MAPPINGS)\n",
                        fuzz_mappings_dir());
                abort();
        }
        opts_free(&o);
        buf_init(&out, 64u << 20);
        return 0;
}

/* The reference framing: split on '\n', drop a CR before it and a BOM at
 * offset 0, skip what is then empty. */
static void ref_init(struct ref *r, const char *text, size_t len, size_t max)
{
        size_t s = 0;

        memset(r, 0, sizeof(*r));
        r->text = text;
        r->text_len = len;
        r->max = max;
        r->lines = calloc(len / 2 + 1, sizeof(*r->lines));
        r->join = malloc(len + 1);
        FUZZ_CHECK(r->lines && r->join, "out of memory");
        while (s < len) {
                const char *nl = memchr(text + s, '\n', len - s);
                size_t e = nl ? (size_t)(nl - text) : len, off = s, n = e - s;
                struct ref_line *l;
                struct stamp st;

                if (n && text[off + n - 1] == '\r')
                        n--;
                if (off == 0 && n >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
                        off = 3;
                        n -= 3;
                }
                if (n) {
                        l = &r->lines[r->nlines++];
                        l->off = off;
                        l->len = n;
                        l->stamped = stamp_parse(text + off, n, &st) > 0;
                        l->no_eol = !nl;
                }
                s = e + 1;
        }
}

static void ref_done(struct ref *r)
{
        free(r->lines);
        free(r->join);
}

static int has(const struct frame_record *rec, unsigned flag)
{
        return (rec->flags & flag) != 0;
}

/* One record against the reference. */
static void ref_check(struct ref *r, const struct frame_record *rec)
{
        const struct ref_line *first, *last;
        size_t k = rec->lines, jl = 0, end;
        int truncated;

        FUZZ_CHECK(k >= 1 && r->next + k <= r->nlines, "record claims lines the input lacks");
        first = &r->lines[r->next];
        last = &r->lines[r->next + k - 1];
        FUZZ_CHECK(rec->offset == first->off, "record offset is not its first line's");
        if (r->nrec == 0)
                FUZZ_CHECK(has(rec, FRAME_NO_STAMP) == !first->stamped,
                           "FRAME_NO_STAMP disagrees with the first line");
        else
                FUZZ_CHECK(first->stamped && !has(rec, FRAME_NO_STAMP),
                           "a later record starts without a time stamp");
        for (size_t j = 0; j < k; j++) {
                const struct ref_line *l = &r->lines[r->next + j];

                FUZZ_CHECK(j == 0 || !l->stamped, "a stamped line was taken as a continuation");
                if (j)
                        r->join[jl++] = '\n';
                memcpy(r->join + jl, r->text + l->off, l->len);
                jl += l->len;
        }
        FUZZ_CHECK(has(rec, FRAME_MULTILINE) == (k > 1), "FRAME_MULTILINE is wrong");
        FUZZ_CHECK(has(rec, FRAME_NO_EOL) == last->no_eol, "FRAME_NO_EOL is wrong");
        truncated = jl > r->max;
        FUZZ_CHECK(has(rec, FRAME_TRUNCATED) == truncated, "FRAME_TRUNCATED is wrong");
        if (truncated)
                FUZZ_CHECK(rec->len <= r->max && rec->len + 3 >= r->max &&
                           memcmp(rec->data, r->join, rec->len) == 0,
                           "a truncated record is not a prefix of its lines at the ceiling");
        else
                FUZZ_CHECK(rec->len == jl && memcmp(rec->data, r->join, jl) == 0,
                           "a record is not its lines joined with newlines");
        r->next += k;
        end = r->next < r->nlines ? r->lines[r->next].off : r->text_len;
        FUZZ_CHECK(rec->end_offset == end, "record end offset does not reach the next record");
        r->nrec++;
}

static void on_record(struct ref *r, struct norm_file *nf, const struct frame_record *rec)
{
        ref_check(r, rec);
        if (!nf)
                return;
        norm_record(&pl.norm, nf, rec, pl.ev);
        pl.ev->seq = r->nrec;
        fuzz_check_event(pl.ev, rec, pl.norm.keep_original, &out);
}

/* Feed text in the given pieces, each copied to a buffer of its exact size
 * so that a read past a piece is caught. */
static void run_frame(struct frame *f, struct ref *r, struct norm_file *nf,
                      const size_t *cut, size_t npieces)
{
        struct frame_record rec;

        frame_reset(f, 0);
        for (size_t i = 0; i < npieces; i++) {
                size_t a = cut[i], b = cut[i + 1];
                char *piece = malloc(b - a ? b - a : 1);

                FUZZ_CHECK(piece, "out of memory");
                memcpy(piece, r->text + a, b - a);
                frame_feed(f, piece, b - a);
                while (frame_next(f, &rec))
                        on_record(r, nf, &rec);
                free(piece);
        }
        while (frame_flush(f, 1, &rec))
                on_record(r, nf, &rec);
        FUZZ_CHECK(r->next == r->nlines, "lines were lost");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        uint8_t c[CTL_BYTES] = { 0 };
        const char *text = (const char *)data + (size < CTL_BYTES ? size : CTL_BYTES);
        size_t len = size < CTL_BYTES ? 0 : size - CTL_BYTES;
        size_t cut[4], whole[2] = { 0, len }, np, a, b;
        struct norm_file nf;
        struct ref r;
        struct frame *f;
        const char *type;
        char path[128];
        int date;

        memcpy(c, data, size < CTL_BYTES ? size : CTL_BYTES);
        np = 1 + (c[0] & 3) % 3;
        a = len * c[1] / 255;
        b = len * c[2] / 255;
        cut[0] = 0;
        cut[1] = np == 1 ? len : (a < b ? a : b);
        cut[2] = np == 2 ? len : (a < b ? b : a);
        cut[3] = len;
        type = types[c[0] >> 5];
        date = c[3] & 3;
        pl.norm.keep_original = !(c[0] & 0x10);
        snprintf(path, sizeof(path), "/var/lib/smartermail/Logs/%04d.%02d.%02d-%s.log",
                 dates[date].y, dates[date].mo, dates[date].d, type[0] ? type : "unknown");
        norm_file_init(&nf, &pl.norm, (c[3] & 4) ? NULL : path, type, 1,
                       dates[date].y, dates[date].mo, dates[date].d);

        f = frame_new(ceilings[(c[0] >> 2) & 3]);
        FUZZ_CHECK(f, "out of memory");
        ref_init(&r, text, len, ceilings[(c[0] >> 2) & 3]);
        run_frame(f, &r, &nf, cut, np);
        ref_done(&r);
        /* again on the same frame, whole: a reset frame keeps nothing */
        ref_init(&r, text, len, ceilings[(c[0] >> 2) & 3]);
        run_frame(f, &r, NULL, whole, 1);
        ref_done(&r);
        frame_free(f);
        return 0;
}
