/* SPDX-License-Identifier: MIT */
/* Log files for search and report. A .log is mapped read-only (the page
 * cache is the buffer, and a search costs no copy); a .log.zip member is
 * unpacked into memory whole, up to LOGSET_UNZIP_MAX, since search reads a
 * file twice for --related. zip.h lives here only. */
#include "query/logset.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zip.h>

#include "core/logname.h"
#include "core/stamp.h"

#define STAMP_SCAN_MAX 40       /* a time stamp prefix is at most 27 bytes */

static int ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);

        return n >= m && strcmp(s + n - m, suffix) == 0;
}

int logset_add(struct logset *ls, const char *path)
{
        struct logset_file *f;
        struct logname ln;

        if (ls->n == ls->cap) {
                size_t cap = ls->cap ? ls->cap * 2 : 64;
                struct logset_file *nf = realloc(ls->f, cap * sizeof(*nf));

                if (!nf)
                        return -ENOMEM;
                ls->f = nf;
                ls->cap = cap;
        }
        f = &ls->f[ls->n];
        memset(f, 0, sizeof(*f));
        f->path = strdup(path);
        if (!f->path)
                return -ENOMEM;
        f->zipped = ends_with(path, ".log.zip");
        f->day = LOGSET_NO_DAY;
        if (logname_parse(path, &ln) == 0) {
                f->day = stamp_days_from_civil(ln.y, ln.mo, ln.d);
                snprintf(f->type, sizeof(f->type), "%s", ln.type);
        }
        ls->n++;
        return 0;
}

int logset_scan(struct logset *ls, const char *dir, struct diag *err)
{
        DIR *dh = opendir(dir);
        struct dirent *de;
        size_t added = 0;
        int r = 0;

        if (!dh) {
                int e = errno;
                return diag_set(err, e, dir, 0, NULL, "cannot read the log directory: %s",
                                strerror(e));
        }
        while ((de = readdir(dh))) {
                char path[4096];
                const char *n = de->d_name;
                struct logname ln;

                if (logname_parse(n, &ln) < 0)
                        continue;
                if (added++ >= LOGSET_FILES_MAX)
                        break;
                if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, n) >= sizeof(path))
                        continue;
                if ((r = logset_add(ls, path)) < 0)
                        break;
        }
        closedir(dh);
        return r;
}

static int file_cmp(const void *a, const void *b)
{
        const struct logset_file *x = a, *y = b;
        int c;

        if (x->day != y->day)
                return x->day < y->day ? -1 : 1;
        if ((c = strcmp(x->type, y->type)))
                return c;
        if (x->zipped != y->zipped)
                return x->zipped - y->zipped;   /* the .log first */
        return strcmp(x->path, y->path);
}

void logset_select(struct logset *ls, const char *types, int64_t from_day, int64_t to_day)
{
        size_t o = 0;

        for (size_t i = 0; i < ls->n; i++) {
                struct logset_file *f = &ls->f[i];
                int keep = logname_type_listed(types, f->type) &&
                           (f->day == LOGSET_NO_DAY ||
                            ((from_day == LOGSET_NO_DAY || f->day >= from_day - 1) &&
                             (to_day == LOGSET_NO_DAY || f->day <= to_day)));
                if (keep)
                        ls->f[o++] = *f;
                else
                        free(f->path);
        }
        ls->n = o;
        if (ls->n)
                qsort(ls->f, ls->n, sizeof(*ls->f), file_cmp);
        /* a day with both a .log and its archive: the .log is the live copy */
        o = 0;
        for (size_t i = 0; i < ls->n; i++) {
                struct logset_file *f = &ls->f[i];
                if (o && f->zipped && f->day != LOGSET_NO_DAY && !ls->f[o - 1].zipped &&
                    ls->f[o - 1].day == f->day && !strcmp(ls->f[o - 1].type, f->type)) {
                        free(f->path);
                        continue;
                }
                ls->f[o++] = *f;
        }
        ls->n = o;
}

void logset_done(struct logset *ls)
{
        for (size_t i = 0; i < ls->n; i++)
                free(ls->f[i].path);
        free(ls->f);
        memset(ls, 0, sizeof(*ls));
}

/* ---- bytes ---------------------------------------------------------------- */

static int load_plain(const struct logset_file *f, struct logset_data *d, struct diag *err)
{
        struct stat st;
        int fd = open(f->path, O_RDONLY | O_CLOEXEC), e;

        if (fd < 0 || fstat(fd, &st) < 0) {
                e = errno;
                if (fd >= 0)
                        close(fd);
                return diag_set(err, e, f->path, 0, NULL, "%s", strerror(e));
        }
        if (st.st_size > 0) {
                d->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
                if (d->map == MAP_FAILED) {
                        e = errno;
                        d->map = NULL;
                        close(fd);
                        return diag_set(err, e, f->path, 0, NULL, "mmap: %s", strerror(e));
                }
                d->map_len = (size_t)st.st_size;
                (void)madvise(d->map, d->map_len, MADV_SEQUENTIAL); /* a hint only */
                d->p = d->map;
                d->len = d->map_len;
        }
        close(fd);
        return 0;
}

/* The member that holds the log: the archive's name without .zip, else the
 * only .log in it, else its only member. */
static zip_int64_t pick_member(zip_t *z, const char *path)
{
        const char *base = strrchr(path, '/');
        char want[256];
        zip_int64_t n = zip_get_num_entries(z, 0), found = -1, logs = 0;

        snprintf(want, sizeof(want), "%s", base ? base + 1 : path);
        if (ends_with(want, ".zip"))
                want[strlen(want) - 4] = '\0';
        for (zip_int64_t i = 0; i < n; i++) {
                const char *name = zip_get_name(z, (zip_uint64_t)i, 0);
                const char *slash;

                if (!name)
                        continue;
                slash = strrchr(name, '/');
                if (!strcmp(slash ? slash + 1 : name, want))
                        return i;
                if (ends_with(name, ".log")) {
                        logs++;
                        found = i;
                }
        }
        if (logs == 1)
                return found;
        return n == 1 ? 0 : -1;
}

static int load_zip(const struct logset_file *f, struct logset_data *d, struct diag *err)
{
        zip_t *z;
        zip_file_t *zf = NULL;
        zip_stat_t st;
        zip_int64_t idx;
        size_t got = 0;
        int ze = 0, r = 0;

        z = zip_open(f->path, ZIP_RDONLY, &ze);
        if (!z) {
                zip_error_t zerr;

                zip_error_init_with_code(&zerr, ze);
                r = diag_set(err, EINVAL, f->path, 0, NULL, "cannot open the archive: %s",
                             zip_error_strerror(&zerr));
                zip_error_fini(&zerr);
                return r;
        }
        idx = pick_member(z, f->path);
        if (idx < 0 || zip_stat_index(z, (zip_uint64_t)idx, 0, &st) < 0 ||
            !(st.valid & ZIP_STAT_SIZE)) {
                r = diag_set(err, EINVAL, f->path, 0, NULL, "no log file in the archive");
                goto out;
        }
        if (st.size > LOGSET_UNZIP_MAX) {
                r = diag_set(err, EFBIG, f->path, 0, NULL, "the log in the archive is larger "
                             "than %zu bytes", LOGSET_UNZIP_MAX);
                goto out;
        }
        d->heap = malloc((size_t)st.size + 1);
        zf = zip_fopen_index(z, (zip_uint64_t)idx, 0);
        if (!d->heap || !zf) {
                r = diag_set(err, d->heap ? EINVAL : ENOMEM, f->path, 0, NULL,
                             "cannot unpack the archive: %s", d->heap ? zip_strerror(z)
                                                                     : "out of memory");
                goto out;
        }
        while (got < st.size) {
                zip_int64_t n = zip_fread(zf, d->heap + got, st.size - got);
                if (n <= 0) {
                        r = diag_set(err, EIO, f->path, 0, NULL, "cannot unpack the archive: %s",
                                     n < 0 ? zip_file_strerror(zf) : "short member");
                        goto out;
                }
                got += (size_t)n;
        }
        d->p = d->heap;
        d->len = got;
out:
        if (zf)
                zip_fclose(zf);
        zip_discard(z);
        if (r < 0) {
                free(d->heap);
                d->heap = NULL;
        }
        return r;
}

int logset_load(const struct logset_file *f, struct logset_data *ret, struct diag *err)
{
        struct logset_data d = { .p = "", .len = 0 };
        int r = f->zipped ? load_zip(f, &d, err) : load_plain(f, &d, err);

        if (r < 0)
                return r;
        *ret = d;
        return 0;
}

void logset_unload(struct logset_data *d)
{
        if (d->map)
                munmap(d->map, d->map_len);
        free(d->heap);
        memset(d, 0, sizeof(*d));
        d->p = "";
}

/* ---- time ----------------------------------------------------------------- */

static int digits(const char *p, size_t n, int *ret)
{
        int v = 0;

        for (size_t i = 0; i < n; i++) {
                if (p[i] < '0' || p[i] > '9')
                        return -1;
                v = v * 10 + (p[i] - '0');
        }
        *ret = v;
        return 0;
}

/* "YYYY-MM-DD", "YYYY.MM.DD" or "YYYY/MM/DD" at the start of s: its day. */
static int parse_day(const char *s, size_t n, int64_t *ret_day)
{
        int y, mo, d;

        if (n < 10 || (s[4] != '-' && s[4] != '.' && s[4] != '/') || s[7] != s[4] ||
            digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
            !stamp_date_valid(y, mo, d))
                return -EINVAL;
        *ret_day = stamp_days_from_civil(y, mo, d);
        return 0;
}

/* What follows the date: nothing (the whole day), " HH:MM" or "THH:MM"
 * (that minute), then ":SS" (that second). ret_ms: since midnight;
 * ret_span_ms: the length of the precision given. */
static int parse_time(const char *s, size_t n, int64_t *ret_ms, int64_t *ret_span_ms)
{
        int h, mi, sec = 0;

        if (n == 0) {
                *ret_ms = 0;
                *ret_span_ms = 86400000;
                return 0;
        }
        if ((s[0] != ' ' && s[0] != 'T') || n < 6 || s[3] != ':' || digits(s + 1, 2, &h) ||
            digits(s + 4, 2, &mi) || h > 23 || mi > 59)
                return -EINVAL;
        *ret_span_ms = 60000;
        if (n > 6) {
                if (n != 9 || s[6] != ':' || digits(s + 7, 2, &sec) || sec > 59)
                        return -EINVAL;
                *ret_span_ms = 1000;
        }
        *ret_ms = ((int64_t)h * 3600 + mi * 60 + sec) * 1000;
        return 0;
}

int logset_parse_when(const char *s, int is_end, int64_t today_day, int64_t *ret_ms)
{
        int64_t day, tod_ms, span_ms;
        size_t n = strlen(s);

        if (!strcmp(s, "today") || !strcmp(s, "yesterday")) {
                day = today_day - (s[0] == 'y');
                tod_ms = 0;
                span_ms = 86400000;
        } else if (parse_day(s, n, &day) < 0 || parse_time(s + 10, n - 10, &tod_ms, &span_ms) < 0) {
                return -EINVAL;
        }
        *ret_ms = day * 86400000 + tod_ms + (is_end ? span_ms - 1 : 0);
        return 0;
}

/* The stamp of the line that starts at p[off], or 0. */
static size_t line_stamp(const char *p, size_t len, size_t off, struct stamp *st)
{
        size_t n = len - off;
        const char *nl;

        if (off == 0 && n >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
            (unsigned char)p[2] == 0xBF)
                off += 3, n -= 3;
        if (n > STAMP_SCAN_MAX)
                n = STAMP_SCAN_MAX;
        if ((nl = memchr(p + off, '\n', n)))
                n = (size_t)(nl - (p + off));
        if (n && p[off + n - 1] == '\r')
                n--;
        return stamp_parse(p + off, n, st);
}

static size_t line_begin(const char *p, size_t at)
{
        const char *nl = at ? memrchr(p, '\n', at) : NULL;

        return nl ? (size_t)(nl - p) + 1 : 0;
}

static size_t line_after(const char *p, size_t len, size_t at)
{
        const char *nl = memchr(p + at, '\n', len - at);

        return nl ? (size_t)(nl - p) + 1 : len;
}

size_t logset_record_start(const char *p, size_t len, size_t at)
{
        size_t ls = line_begin(p, at);
        struct stamp st;

        while (ls > 0 && !line_stamp(p, len, ls, &st))
                ls = line_begin(p, ls - 1);
        return ls;
}

size_t logset_record_end(const char *p, size_t len, size_t at)
{
        size_t le = line_after(p, len, at);
        struct stamp st;

        while (le < len && !line_stamp(p, len, le, &st))
                le = line_after(p, len, le);
        return le;
}

size_t logset_rollover(const char *p, size_t len)
{
        size_t pos = len, next_start = len;
        int next_tod = -1;

        if (pos && p[pos - 1] == '\n')
                pos--;
        /* back from the end over the lines before noon: the next day's lines
         * are such lines, right after a line in the evening */
        while (pos > 0) {
                size_t ls = line_begin(p, pos);
                struct stamp st;

                if (line_stamp(p, len, ls, &st) && st.valid && !st.has_date) {
                        int tod = st.h * 3600 + st.mi * 60 + st.s;

                        if (tod >= 12 * 3600)
                                return next_tod >= 0 && next_tod + 12 * 3600 < tod ? next_start
                                                                                    : len;
                        next_tod = tod;
                        next_start = ls;
                }
                if (ls == 0)
                        break;
                pos = ls - 1;
        }
        return len;
}

int64_t logset_record_local_ms(const char *p, size_t len, size_t off, int64_t day, size_t roll)
{
        struct stamp st;

        if (!line_stamp(p, len, off, &st) || !st.valid)
                return LOGSET_NO_DAY;
        if (st.has_date)
                day = stamp_days_from_civil(st.y, st.mo, st.d);
        else if (day == LOGSET_NO_DAY)
                return LOGSET_NO_DAY;
        else if (off >= roll)
                day++;
        return day * 86400000 + ((int64_t)st.h * 3600 + st.mi * 60 + st.s) * 1000 + st.ms;
}
