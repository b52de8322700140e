/* SPDX-License-Identifier: MIT */
/* checkpoint.c: entries written by ckpt_commit read back the same (names
 * that need escaping, empty and full fingerprints, large numbers, the
 * reader's date state), a missing file loads as none, and each row of
 * malformed content is refused with -EINVAL. Failing I/O is in
 * tests/fault/test_ckpt_io.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/checkpoint.h"
#include "testutil.h"

static void entry(struct ckpt_entry *e, const char *name, uint64_t dev, uint64_t ino,
                  uint64_t offset, uint32_t fp_len, int64_t day, int32_t tod)
{
        memset(e, 0, sizeof(*e));
        snprintf(e->name, sizeof(e->name), "%s", name);
        e->dev = dev;
        e->ino = ino;
        e->offset = offset;
        e->fp_len = fp_len;
        for (uint32_t i = 0; i < fp_len; i++)
                e->fp[i] = (unsigned char)(i * 37 + 1);
        e->day = day;
        e->last_tod = tod;
}

static void test_ckpt_round_trip(void **state)
{
        struct ckpt_entry in[5], *out = NULL;
        struct diag err = { 0 };
        char dir[512], path[1024];

        (void)state;
        entry(&in[0], "2026.03.08-smtpLog.log", 2049, 1234567, 987654321, 40, 20520, 86399);
        entry(&in[1], "2026.03.08-delivery.log", 0, 1, 0, 0, 0, -1);
        entry(&in[2], "name \"with\" quotes\\and\ttab", 1, 2, 3, CKPT_FP_BYTES, 1, 0);
        entry(&in[3], "caf\xc3\xa9.log", INT64_MAX, INT64_MAX, INT64_MAX, 1, -5, 3600);
        entry(&in[4], "x", 7, 8, 9, CKPT_FP_BYTES - 1, 20000, 12);
        tu_tmpdir(dir, sizeof(dir));
        snprintf(path, sizeof(path), "%s/state.json", dir);
        assert_int_equal(ckpt_load(path, &out, &err), 0);
        assert_null(out);
        for (unsigned n = 0; n <= ARRAY_SIZE(in); n++) {
                assert_int_equal(ckpt_commit(path, in, n, &err), 0);
                assert_int_equal(ckpt_load(path, &out, &err), (int)n);
                assert_non_null(out);
                for (unsigned i = 0; i < n; i++) {
                        tu_str_equal("name", in[i].name, out[i].name);
                        assert_int_equal(out[i].dev, in[i].dev);
                        assert_int_equal(out[i].ino, in[i].ino);
                        assert_int_equal(out[i].offset, in[i].offset);
                        assert_int_equal(out[i].fp_len, in[i].fp_len);
                        assert_memory_equal(out[i].fp, in[i].fp, in[i].fp_len);
                        assert_int_equal(out[i].day, in[i].day);
                        assert_int_equal(out[i].last_tod, in[i].last_tod);
                }
                free(out);
                out = NULL;
        }
        tu_rmdir(dir);
}

struct bad_row {
        const char *name;
        const char *text;
        int want;               /* entries, or a negative errno */
};

#define E(body) "{\"version\":1,\"files\":[" body "]}"
#define OK_ENTRY "{\"name\":\"a.log\",\"dev\":1,\"ino\":2,\"offset\":3,\"fp\":\"00ff\"}"

static const struct bad_row bad_rows[] = {
        { "a good entry", E(OK_ENTRY), 1 },
        { "no day or tod: unknown", E("{\"name\":\"a\",\"dev\":1,\"ino\":2,\"offset\":3,"
                                      "\"fp\":\"\"}"), 1 },
        { "no files", "{\"version\":1,\"files\":[]}", 0 },
        { "empty file", "", -EINVAL },
        { "not JSON", "checkpoint", -EINVAL },
        { "no files key", "{\"version\":1}", -EINVAL },
        { "files not a list", "{\"files\":{}}", -EINVAL },
        { "an entry not an object", E("1"), -EINVAL },
        { "no name", E("{\"dev\":1,\"ino\":2,\"offset\":3,\"fp\":\"\"}"), -EINVAL },
        { "a name not a string", E("{\"name\":1,\"dev\":1,\"ino\":2,\"offset\":3,\"fp\":\"\"}"),
          -EINVAL },
        { "no offset", E("{\"name\":\"a\",\"dev\":1,\"ino\":2,\"fp\":\"\"}"), -EINVAL },
        { "a negative inode", E("{\"name\":\"a\",\"dev\":1,\"ino\":-2,\"offset\":3,\"fp\":\"\"}"),
          -EINVAL },
        { "an offset as text", E("{\"name\":\"a\",\"dev\":1,\"ino\":2,\"offset\":\"3\","
                                 "\"fp\":\"\"}"), -EINVAL },
        { "no fingerprint", E("{\"name\":\"a\",\"dev\":1,\"ino\":2,\"offset\":3}"), -EINVAL },
        { "an odd fingerprint", E("{\"name\":\"a\",\"dev\":1,\"ino\":2,\"offset\":3,"
                                  "\"fp\":\"abc\"}"), -EINVAL },
        { "a fingerprint not hex", E("{\"name\":\"a\",\"dev\":1,\"ino\":2,\"offset\":3,"
                                     "\"fp\":\"zz\"}"), -EINVAL },
        { "a good entry, then a bad one", E(OK_ENTRY ",{}"), -EINVAL },
};

static void test_ckpt_load_bad(void **state)
{
        char dir[512], path[1024];

        (void)state;
        tu_tmpdir(dir, sizeof(dir));
        snprintf(path, sizeof(path), "%s/state.json", dir);
        for (size_t i = 0; i < ARRAY_SIZE(bad_rows); i++) {
                const struct bad_row *row = &bad_rows[i];
                struct ckpt_entry *out = NULL;
                struct diag err = { 0 };
                int got;

                tu_write_file(dir, "state.json", row->text);
                got = ckpt_load(path, &out, &err);
                if (got != row->want) {
                        print_error("%s: ckpt_load %d, want %d (%s)\n", row->name, got,
                                    row->want, err.text);
                        fail();
                }
                if (got < 0) {
                        assert_null(out);
                        assert_true(err.text[0] != '\0');
                }
                free(out);
        }
        tu_rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ckpt_round_trip),
                cmocka_unit_test(test_ckpt_load_bad),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
