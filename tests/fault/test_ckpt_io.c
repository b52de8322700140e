/* SPDX-License-Identifier: MIT */
/* ckpt_commit against failing I/O (open, write, fsync, close and rename
 * wrapped; see inject.h). Each row replaces a checkpoint of 3 entries with
 * one of 24 (about 10 KiB) under one fault, then checks the return code,
 * which checkpoint loads (the old one after every failure before the
 * rename), whether a temporary file is left, that no descriptor leaked, and
 * that the next commit (2 entries, shorter than anything before) succeeds
 * and reads back exactly. Short writes must still give the file a clean
 * commit writes, byte for byte. A crash is a child process that _exit()s at
 * the wrapped call: between write and rename the old checkpoint must load
 * unchanged beside a stale .tmp, which the next commit overwrites. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/checkpoint.h"
#include "inject.h"
#include "testutil.h"

#define N_OLD 3
#define N_NEW 24
#define N_NEXT 2

/* What is on disk after the faulty commit. */
enum after {
        AFTER_OLD,              /* the old checkpoint, no .tmp */
        AFTER_NEW,              /* the new one, no .tmp */
        AFTER_OLD_STALE_TMP,    /* crashed: the old one, and a .tmp */
        AFTER_NEW_NOT_SYNCED,   /* renamed, but the directory could not be
                                   opened or synced */
};

struct io_row {
        const char *name;
        struct inject_io plan;
        int want_r;             /* ckpt_commit's return (crash rows: none) */
        enum after after;
        size_t tmp_len;         /* AFTER_OLD_STALE_TMP: bytes in the .tmp */
};

#define WHOLE SIZE_MAX          /* tmp_len: the whole new checkpoint */

#define FAIL(f, n, e) .fn = (f), .nth = (n), .err = (e)
#define CRASH(f, n) .fn = (f), .nth = (n), .crash = 1

static const struct io_row rows[] = {
        /* creating the temporary file */
        { "open: EACCES", { FAIL(INJ_OPEN, 1, EACCES) }, -EACCES, AFTER_OLD, 0 },
        { "open: ENOSPC (no inode left)", { FAIL(INJ_OPEN, 1, ENOSPC) }, -ENOSPC, AFTER_OLD, 0 },
        { "open: EMFILE", { FAIL(INJ_OPEN, 1, EMFILE) }, -EMFILE, AFTER_OLD, 0 },
        /* writing it */
        { "write: ENOSPC at once", { FAIL(INJ_WRITE, 1, ENOSPC) }, -ENOSPC, AFTER_OLD, 0 },
        { "write: ENOSPC after two short writes",
          { FAIL(INJ_WRITE, 3, ENOSPC), .write_max = 1000 }, -ENOSPC, AFTER_OLD, 0 },
        { "write: ENOSPC from the 5th write on",
          { FAIL(INJ_WRITE, 5, ENOSPC), .persist = 1, .write_max = 512 }, -ENOSPC,
          AFTER_OLD, 0 },
        { "write: EDQUOT", { FAIL(INJ_WRITE, 1, EDQUOT) }, -EDQUOT, AFTER_OLD, 0 },
        { "write: EIO", { FAIL(INJ_WRITE, 2, EIO), .write_max = 4096 }, -EIO, AFTER_OLD, 0 },
        { "write: returns 0", { FAIL(INJ_WRITE, 1, 0) }, -EIO, AFTER_OLD, 0 },
        { "write: EINTR once, retried", { FAIL(INJ_WRITE, 1, EINTR) }, 0, AFTER_NEW, 0 },
        { "write: EINTR after a short write, retried",
          { FAIL(INJ_WRITE, 2, EINTR), .write_max = 333 }, 0, AFTER_NEW, 0 },
        { "short writes: 1 byte each", { .write_max = 1 }, 0, AFTER_NEW, 0 },
        { "short writes: 7 bytes each", { .write_max = 7 }, 0, AFTER_NEW, 0 },
        { "short writes: 4095 bytes each", { .write_max = 4095 }, 0, AFTER_NEW, 0 },
        /* making it durable and putting it in place */
        { "fsync of the file: EIO", { FAIL(INJ_FSYNC, 1, EIO) }, -EIO, AFTER_OLD, 0 },
        { "fsync of the file: ENOSPC", { FAIL(INJ_FSYNC, 1, ENOSPC) }, -ENOSPC, AFTER_OLD, 0 },
        { "close of the file: EIO", { FAIL(INJ_CLOSE, 1, EIO) }, -EIO, AFTER_OLD, 0 },
        { "rename: EIO", { FAIL(INJ_RENAME, 1, EIO) }, -EIO, AFTER_OLD, 0 },
        { "rename: ENOSPC", { FAIL(INJ_RENAME, 1, ENOSPC) }, -ENOSPC, AFTER_OLD, 0 },
        { "rename: EXDEV", { FAIL(INJ_RENAME, 1, EXDEV) }, -EXDEV, AFTER_OLD, 0 },
        /* the rename is done: the new file is in place, but not known to
         * survive a power loss, and the caller is told */
        { "fsync of the directory: EIO", { FAIL(INJ_FSYNC, 2, EIO) }, -EIO,
          AFTER_NEW_NOT_SYNCED, 0 },
        { "open of the directory: EACCES", { FAIL(INJ_OPEN, 2, EACCES) }, -EACCES,
          AFTER_NEW_NOT_SYNCED, 0 },
        { "open of the directory: EMFILE", { FAIL(INJ_OPEN, 2, EMFILE) }, -EMFILE,
          AFTER_NEW_NOT_SYNCED, 0 },
        /* crashes */
        { "crash after open", { CRASH(INJ_WRITE, 1) }, 0, AFTER_OLD_STALE_TMP, 0 },
        { "crash in the middle of the writes", { CRASH(INJ_WRITE, 3), .write_max = 64 }, 0,
          AFTER_OLD_STALE_TMP, 2 * 64 },
        { "crash between fsync and close", { CRASH(INJ_CLOSE, 1) }, 0, AFTER_OLD_STALE_TMP,
          WHOLE },
        { "crash between write and rename", { CRASH(INJ_RENAME, 1) }, 0,
          AFTER_OLD_STALE_TMP, WHOLE },
        { "crash before the directory fsync", { CRASH(INJ_FSYNC, 2) }, 0, AFTER_NEW, 0 },
};

struct fixture {
        struct ckpt_entry old[N_OLD], new[N_NEW], next[N_NEXT];
        char *new_bytes;        /* what a clean commit of new writes */
        size_t new_len;
        char *next_bytes;
        size_t next_len;
};

static void fill(struct ckpt_entry *e, unsigned i, unsigned salt)
{
        memset(e, 0, sizeof(*e));
        snprintf(e->name, sizeof(e->name), "2026.03.%02u-%s.log", i + 1,
                 salt == 2 ? "delivery" : "smtpLog");
        e->dev = 64768 + salt;
        e->ino = 4000000u + i * 104729u + salt;
        e->offset = (uint64_t)i * 999983u + salt;
        e->day = 20520 + i;
        e->last_tod = (int32_t)((i * 4000 + salt) % 86400);
        e->fp_len = CKPT_FP_BYTES - (i % 5);
        for (uint32_t k = 0; k < e->fp_len; k++)
                e->fp[k] = (unsigned char)(k * 13 + i * 7 + salt);
}

static char *slurp(const char *path, size_t *ret_len)
{
        FILE *f = fopen(path, "rb");
        char *p = NULL;
        size_t n = 0, cap = 0, got;

        assert_non_null(f);
        do {
                if (cap - n < 4096) {
                        cap = cap ? cap * 2 : 8192;
                        p = realloc(p, cap);
                        assert_non_null(p);
                }
                got = fread(p + n, 1, cap - n, f);
                n += got;
        } while (got);
        fclose(f);
        *ret_len = n;
        return p;
}

static void commit_ok(const char *path, const struct ckpt_entry *e, unsigned n)
{
        struct diag err = { 0 };
        int r = ckpt_commit(path, e, n, &err);

        if (r != 0) {
                print_error("ckpt_commit: %d: %s\n", r, err.text);
                fail();
        }
}

/* The bytes a clean commit of e writes. */
static char *clean_bytes(const char *dir, const struct ckpt_entry *e, unsigned n,
                         size_t *ret_len)
{
        char path[300];
        char *p;

        snprintf(path, sizeof(path), "%s/reference.json", dir);
        commit_ok(path, e, n);
        p = slurp(path, ret_len);
        assert_int_equal(unlink(path), 0);
        return p;
}

static void loads_as(const char *what, const char *path, const struct ckpt_entry *want,
                     unsigned n)
{
        struct ckpt_entry *e = NULL;
        struct diag err = { 0 };
        int got = ckpt_load(path, &e, &err);

        if (got != (int)n) {
                print_error("%s: ckpt_load gave %d entries (%s), want %u\n", what, got,
                            got < 0 ? err.text : "", n);
                fail();
        }
        for (unsigned i = 0; i < n; i++)
                if (strcmp(want[i].name, e[i].name) != 0 || want[i].dev != e[i].dev ||
                    want[i].ino != e[i].ino || want[i].offset != e[i].offset ||
                    want[i].day != e[i].day || want[i].last_tod != e[i].last_tod ||
                    want[i].fp_len != e[i].fp_len ||
                    memcmp(want[i].fp, e[i].fp, want[i].fp_len) != 0) {
                        print_error("%s: entry %u differs\n", what, i);
                        fail();
                }
        free(e);
}

static void bytes_are(const char *what, const char *path, const char *want, size_t want_len)
{
        size_t len;
        char *p = slurp(path, &len);

        tu_bytes_equal(what, want, want_len, p, len);
        free(p);
}

static unsigned open_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        unsigned n = 0;

        assert_non_null(d);
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

/* The faulty commit, in a child process when the row crashes. Returns
 * ckpt_commit's result (crash rows: 0 once the child crashed). */
static int faulty_commit(const struct io_row *row, const char *path,
                         const struct fixture *fx)
{
        struct diag err = { 0 };
        int r, status;
        pid_t pid;

        if (!row->plan.crash) {
                inject_io_arm(&row->plan);
                r = ckpt_commit(path, fx->new, N_NEW, &err);
                inject_io_disarm();
                return r;
        }
        fflush(NULL);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                inject_io_arm(&row->plan);
                (void)ckpt_commit(path, fx->new, N_NEW, &err);
                _exit(0);       /* it should not get here */
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != INJECT_CRASH_STATUS) {
                print_error("%s: the child did not crash where planned (status %#x)\n",
                            row->name, status);
                fail();
        }
        return 0;
}

static void run_row(const struct io_row *row, const struct fixture *fx)
{
        char dir[256], path[300], tmp[320];
        unsigned fds;
        int r;

        tu_tmpdir(dir, sizeof(dir));
        snprintf(path, sizeof(path), "%s/checkpoint.json", dir);
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        commit_ok(path, fx->old, N_OLD);
        fds = open_fds();

        r = faulty_commit(row, path, fx);
        if (r != row->want_r) {
                print_error("%s: ckpt_commit returned %d (%s), want %d\n", row->name, r,
                            strerror(-r), row->want_r);
                fail();
        }
        switch (row->after) {
        case AFTER_OLD:
                loads_as(row->name, path, fx->old, N_OLD);
                assert_int_equal(access(tmp, F_OK), -1);
                break;
        case AFTER_NEW:
        case AFTER_NEW_NOT_SYNCED:
                bytes_are(row->name, path, fx->new_bytes, fx->new_len);
                loads_as(row->name, path, fx->new, N_NEW);
                assert_int_equal(access(tmp, F_OK), -1);
                break;
        case AFTER_OLD_STALE_TMP:
                loads_as(row->name, path, fx->old, N_OLD);
                /* the .tmp holds what was written before the crash */
                bytes_are(row->name, tmp, fx->new_bytes,
                          row->tmp_len == WHOLE ? fx->new_len : row->tmp_len);
                break;
        }
        assert_int_equal(open_fds(), fds);

        /* the next commit succeeds and overwrites whatever is left */
        commit_ok(path, fx->next, N_NEXT);
        bytes_are(row->name, path, fx->next_bytes, fx->next_len);
        loads_as(row->name, path, fx->next, N_NEXT);
        assert_int_equal(access(tmp, F_OK), -1);
        assert_int_equal(open_fds(), fds);
        tu_rmdir(dir);
}

static void test_ckpt_io(void **state)
{
        struct fixture fx;
        char dir[256];

        (void)state;
        for (unsigned i = 0; i < N_OLD; i++)
                fill(&fx.old[i], i, 1);
        for (unsigned i = 0; i < N_NEW; i++)
                fill(&fx.new[i], i, 2);
        for (unsigned i = 0; i < N_NEXT; i++)
                fill(&fx.next[i], i, 3);
        tu_tmpdir(dir, sizeof(dir));
        fx.new_bytes = clean_bytes(dir, fx.new, N_NEW, &fx.new_len);
        fx.next_bytes = clean_bytes(dir, fx.next, N_NEXT, &fx.next_len);
        assert_true(fx.next_len < fx.new_len);
        for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
                run_row(&rows[i], &fx);
        free(fx.new_bytes);
        free(fx.next_bytes);
        tu_rmdir(dir);
        printf("checkpoint I/O: %zu faults, the old checkpoint intact after each failure "
               "before the rename\n", ARRAY_SIZE(rows));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ckpt_io),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
