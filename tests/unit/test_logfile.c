/* SPDX-License-Identifier: MIT */
/* logfile.c on real files in a temporary directory: a file is opened and
 * read, then changed on disk as a row says, and logfile_check must tell
 * growth (SAME) from truncation, replacement (rename over it, or a
 * copy-truncate that grew back with other first bytes) and removal. Then
 * logfile_matches against checkpoint entries, and a day's file read back
 * from its archive (logfile_open_zipped) from an offset. The name rules are
 * in test_logname.c. */
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
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "daemon/logfile.h"
#include "testutil.h"

#define NAME "2026.03.08-smtpLog.log"
#define FIRST "06:00:01 [1.2.3.4][1] connected\n"

enum change_how {
        HOW_NONE,
        HOW_APPEND,             /* text added at the end */
        HOW_TRUNCATE,           /* same inode cut to text (O_TRUNC, rewritten) */
        HOW_RENAME,             /* a new file with text renamed over the name */
        HOW_UNLINK,             /* the name removed */
};

struct check_row {
        const char *name;
        const char *before;     /* the file when opened; all of it is read */
        enum change_how how;
        const char *text;
        enum logfile_change want;
};

static const char *const change_names[] = {
        [LOGFILE_SAME] = "SAME", [LOGFILE_TRUNCATED] = "TRUNCATED",
        [LOGFILE_REPLACED] = "REPLACED", [LOGFILE_GONE] = "GONE",
};

static const struct check_row check_rows[] = {
        { "untouched", FIRST, HOW_NONE, NULL, LOGFILE_SAME },
        { "growth", FIRST, HOW_APPEND, "06:00:02 [1.2.3.4][1] cmd: QUIT\n", LOGFILE_SAME },
        { "an empty file grows", "", HOW_APPEND, FIRST, LOGFILE_SAME },
        { "truncated to nothing", FIRST, HOW_TRUNCATE, "", LOGFILE_TRUNCATED },
        { "truncated, shorter", FIRST FIRST, HOW_TRUNCATE, FIRST, LOGFILE_TRUNCATED },
        { "copy-truncate grown back, other first bytes", FIRST, HOW_TRUNCATE,
          "07:00:00 [5.6.7.8][2] connected, and more than before\n", LOGFILE_REPLACED },
        { "replaced by rename", FIRST, HOW_RENAME, FIRST FIRST, LOGFILE_REPLACED },
        { "replaced by rename, same bytes", FIRST, HOW_RENAME, FIRST, LOGFILE_REPLACED },
        { "removed", FIRST, HOW_UNLINK, NULL, LOGFILE_GONE },
};

static void write_at(const char *path, const char *text, int flags)
{
        int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        assert_int_equal(close(fd), 0);
}

static void change(const char *dir, const struct check_row *row)
{
        char path[1024], tmp[1024];

        snprintf(path, sizeof(path), "%s/%s", dir, NAME);
        switch (row->how) {
        case HOW_NONE:
                break;
        case HOW_APPEND:
                write_at(path, row->text, O_APPEND);
                break;
        case HOW_TRUNCATE:
                write_at(path, row->text, O_TRUNC);
                break;
        case HOW_RENAME:
                snprintf(tmp, sizeof(tmp), "%s/new.tmp", dir);
                write_at(tmp, row->text, O_TRUNC);
                assert_int_equal(rename(tmp, path), 0);
                break;
        case HOW_UNLINK:
                assert_int_equal(unlink(path), 0);
                break;
        }
}

/* Open NAME in dir and read all of it; returns how far. */
static uint64_t open_and_read(struct logfile *t, const char *dir)
{
        char buf[256];
        uint64_t off = 0;
        ssize_t r;

        memset(t, 0, sizeof(*t));
        t->fd = -1;
        assert_int_equal(logfile_open(t, dir, NAME), 0);
        while ((r = logfile_read(t, off, buf, sizeof(buf))) > 0)
                off += (uint64_t)r;
        assert_int_equal(r, 0);
        return off;
}

static void test_logfile_check(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(check_rows); i++) {
                const struct check_row *row = &check_rows[i];
                struct logfile t;
                char dir[512];
                uint64_t off;
                enum logfile_change got;

                tu_tmpdir(dir, sizeof(dir));
                tu_write_file(dir, NAME, row->before);
                off = open_and_read(&t, dir);
                assert_int_equal(off, strlen(row->before));
                tu_str_equal(row->name, NAME, t.name);
                assert_int_equal(t.fp_len, strlen(row->before));
                change(dir, row);
                got = logfile_check(&t, off);
                tu_str_equal(row->name, change_names[row->want], change_names[got]);
                logfile_close(&t);
                assert_int_equal(t.fd, -1);
                assert_int_equal(logfile_check(&t, off), LOGFILE_GONE);
                free(t.path);
                tu_rmdir(dir);
        }
}

/* The fingerprint follows a young file up to CKPT_FP_BYTES as it is read. */
static void test_logfile_fingerprint_grows(void **state)
{
        char dir[512], big[CKPT_FP_BYTES * 2 + 1];
        struct logfile t;

        (void)state;
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        tu_tmpdir(dir, sizeof(dir));
        tu_write_file(dir, NAME, "ab");
        open_and_read(&t, dir);
        assert_int_equal(t.fp_len, 2);
        change(dir, &(struct check_row){ "grow", NULL, HOW_APPEND, big, LOGFILE_SAME });
        assert_int_equal(logfile_read(&t, 2, big, 16), 16);
        assert_int_equal(t.fp_len, CKPT_FP_BYTES);
        assert_int_equal(logfile_check(&t, 18), LOGFILE_SAME);
        logfile_close(&t);
        free(t.path);
        tu_rmdir(dir);
}

struct match_row {
        const char *name;
        int d_dev, d_ino;       /* added to the entry's device and inode */
        int fp_len;             /* the entry's fingerprint length, -1: the file's */
        int flip;               /* byte of the entry's fingerprint changed, -1: none */
        int want;
};

static const struct match_row match_rows[] = {
        { "its own entry", 0, 0, -1, -1, 1 },
        { "another inode", 0, 1, -1, -1, 0 },
        { "another device", 1, 0, -1, -1, 0 },
        { "the first byte differs", 0, 0, -1, 0, 0 },
        { "the last byte differs", 0, 0, -1, (int)sizeof(FIRST) - 2, 0 },
        { "a shorter fingerprint that agrees", 0, 0, 5, -1, 1 },
        { "a shorter fingerprint that differs", 0, 0, 5, 4, 0 },
        { "a shorter fingerprint, a change past it", 0, 0, 5, 6, 1 },
        { "an empty fingerprint", 0, 0, 0, -1, 1 },
};

static void test_logfile_matches(void **state)
{
        char dir[512];
        struct logfile t;

        (void)state;
        tu_tmpdir(dir, sizeof(dir));
        tu_write_file(dir, NAME, FIRST);
        open_and_read(&t, dir);
        for (size_t i = 0; i < ARRAY_SIZE(match_rows); i++) {
                const struct match_row *row = &match_rows[i];
                struct ckpt_entry e;

                logfile_entry(&t, 42, &e);
                tu_str_equal(row->name, NAME, e.name);
                assert_int_equal(e.offset, 42);
                e.dev += (uint64_t)row->d_dev;
                e.ino += (uint64_t)row->d_ino;
                if (row->fp_len >= 0)
                        e.fp_len = (uint32_t)row->fp_len;
                if (row->flip >= 0)
                        e.fp[row->flip] ^= 0x20;
                if (logfile_matches(&t, &e) != row->want) {
                        print_error("%s: matches %d\n", row->name, !row->want);
                        fail();
                }
        }
        logfile_close(&t);
        free(t.path);
        tu_rmdir(dir);
}

static void test_logfile_open_missing(void **state)
{
        char dir[512];
        struct logfile t;

        (void)state;
        tu_tmpdir(dir, sizeof(dir));
        memset(&t, 0, sizeof(t));
        t.fd = -1;
        assert_int_equal(logfile_open(&t, dir, NAME), -ENOENT);
        assert_int_equal(t.fd, -1);
        free(t.path);
        tu_rmdir(dir);
}

/* dir/NAME.zip holding text under member. */
static void write_zip(const char *dir, const char *member, const char *text)
{
        char path[1024];
        zip_t *z;
        zip_source_t *src;
        int ze;

        snprintf(path, sizeof(path), "%s/%s.zip", dir, NAME);
        z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &ze);
        assert_non_null(z);
        src = zip_source_buffer(z, text, strlen(text), 0);
        assert_non_null(src);
        assert_true(zip_file_add(z, member, src, 0) >= 0);
        assert_int_equal(zip_close(z), 0);
}

struct zip_row {
        const char *name;
        const char *member;     /* NULL: no archive; "": a FIFO named like it */
        uint64_t offset;
        int want_rc;
};

#define ZTEXT FIRST "06:00:02 [1.2.3.4][1] cmd: QUIT\n"

static const struct zip_row zip_rows[] = {
        { "from the start", NAME, 0, 0 },
        { "from the middle", NAME, sizeof(FIRST) - 1, 0 },
        { "one byte left", NAME, sizeof(ZTEXT) - 2, 0 },
        { "at the end", NAME, sizeof(ZTEXT) - 1, -ENODATA },
        { "past the end", NAME, sizeof(ZTEXT), -ENODATA },
        { "the only .log, under another name", "logs/other.log", 3, 0 },
        { "no .log in it", "readme.txt", 0, -ENOENT },
        { "no archive", NULL, 0, -ENOENT },
        { "a FIFO named like one", "", 0, -ENOENT },
};

static void check_zip_row(const char *dir, const struct zip_row *row)
{
        char path[1024], buf[256];
        struct logfile t;
        struct ckpt_entry e;
        int rc;

        snprintf(path, sizeof(path), "%s/%s.zip", dir, NAME);
        unlink(path);
        if (row->member && row->member[0])
                write_zip(dir, row->member, ZTEXT);
        else if (row->member)
                assert_int_equal(mkfifo(path, 0644), 0);
        memset(&t, 0, sizeof(t));
        t.fd = -1;
        rc = logfile_open_zipped(&t, dir, NAME, row->offset);
        if (rc != row->want_rc) {
                print_error("%s: rc %d, want %d\n", row->name, rc, row->want_rc);
                fail();
        }
        if (rc == 0) {
                size_t n = strlen(ZTEXT) - row->offset;

                /* the tail at its own offsets, and the first bytes as the
                 * identity of the file the checkpoint knew */
                assert_int_equal(t.size, strlen(ZTEXT));
                assert_int_equal(logfile_read(&t, row->offset, buf, sizeof(buf)), (ssize_t)n);
                assert_memory_equal(buf, ZTEXT + row->offset, n);
                memset(&e, 0, sizeof(e));
                e.fp_len = (uint32_t)strlen(FIRST);
                memcpy(e.fp, FIRST, e.fp_len);
                assert_true(logfile_same_start(&t, &e));
                e.fp[0] ^= 1;
                assert_false(logfile_same_start(&t, &e));
        } else {
                assert_int_equal(t.fd, -1);
        }
        logfile_close(&t);
        free(t.path);
        unlink(path);
}

static void test_logfile_open_zipped(void **state)
{
        char dir[512];

        (void)state;
        tu_tmpdir(dir, sizeof(dir));
        for (size_t i = 0; i < ARRAY_SIZE(zip_rows); i++)
                check_zip_row(dir, &zip_rows[i]);
        tu_rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_logfile_check),
                cmocka_unit_test(test_logfile_fingerprint_grows),
                cmocka_unit_test(test_logfile_matches),
                cmocka_unit_test(test_logfile_open_missing),
                cmocka_unit_test(test_logfile_open_zipped),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
