/* SPDX-License-Identifier: MIT */
/* logname.c: which file names are SmarterMail logs and what they say (type
 * word, date, archive), through logname_parse and the two callers that
 * keep their own shape of it: norm_name_info (no archives) and
 * logfile_is_log (a type list too); then lists of type words. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/logname.h"
#include "core/normalize.h"
#include "daemon/logfile.h"
#include "testutil.h"

#define T63 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"

struct name_row {
        const char *path;
        int ok;                 /* logname_parse accepts it */
        const char *type;
        int y, mo, d, zipped;
};

static const struct name_row name_rows[] = {
        { "2026.03.08-smtpLog.log", 1, "smtpLog", 2026, 3, 8, 0 },
        { "2026.03.08-delivery.log", 1, "delivery", 2026, 3, 8, 0 },
        { "/var/log/sm/2024.02.29-imapLog.log", 1, "imapLog", 2024, 2, 29, 0 },
        { "2026.03.08-spam_checks-2.log", 1, "spam_checks-2", 2026, 3, 8, 0 },
        { "2026.03.08-x.log", 1, "x", 2026, 3, 8, 0 },
        { "2026.03.08-smtpLog.log.zip", 1, "smtpLog", 2026, 3, 8, 1 },
        { "dir/2026.12.31-popLog.log.zip", 1, "popLog", 2026, 12, 31, 1 },
        /* a type word of 63 bytes fits, 64 does not */
        { "2026.03.08-" T63 ".log", 1, T63, 2026, 3, 8, 0 },
        { "2026.03.08-" T63 "l.log", 0, NULL, 0, 0, 0, 0 },
        /* not logs */
        { "2026.03.08-.log", 0, NULL, 0, 0, 0, 0 },
        { "2026.03.08-smtpLog.txt", 0, NULL, 0, 0, 0, 0 },
        { "2026.03.08-smtpLog.log.gz", 0, NULL, 0, 0, 0, 0 },
        { "2026.03.08-smtpLog.zip", 0, NULL, 0, 0, 0, 0 },
        { "2026.03.08_smtpLog.log", 0, NULL, 0, 0, 0, 0 },
        { "2026-03-08-smtpLog.log", 0, NULL, 0, 0, 0, 0 },
        { "2026.02.30-smtpLog.log", 0, NULL, 0, 0, 0, 0 },
        { "2025.02.29-smtpLog.log", 0, NULL, 0, 0, 0, 0 },
        { "2026.13.01-smtpLog.log", 0, NULL, 0, 0, 0, 0 },
        { "2026.03.08-smtp Log.log", 0, NULL, 0, 0, 0, 0 },
        { "2026.03.08-smtp.Log.log", 0, NULL, 0, 0, 0, 0 },
        { "2026.03.08-smtpLog.log/", 0, NULL, 0, 0, 0, 0 },
        { "2026.03.08-smtpLog.log/x", 0, NULL, 0, 0, 0, 0 },
        { "smtpLog.log", 0, NULL, 0, 0, 0, 0 },
        { ".log.zip", 0, NULL, 0, 0, 0, 0 },
        { "", 0, NULL, 0, 0, 0, 0 },
};

static void test_logname_parse(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(name_rows); i++) {
                const struct name_row *row = &name_rows[i];
                struct logname ln;
                char type[64] = "";
                int y = 0, mo = 0, d = 0, rc;
                int norm_ok = row->ok && !row->zipped;

                rc = logname_parse(row->path, &ln);
                if ((rc == 0) != row->ok) {
                        print_error("%s: logname_parse %d, want %s\n", row->path, rc,
                                    row->ok ? "0" : "-EINVAL");
                        fail();
                }
                if (row->ok) {
                        tu_str_equal(row->path, row->type, ln.type);
                        assert_int_equal(ln.y, row->y);
                        assert_int_equal(ln.mo, row->mo);
                        assert_int_equal(ln.d, row->d);
                        assert_int_equal(ln.zipped, row->zipped);
                } else {
                        assert_int_equal(rc, -EINVAL);
                }
                /* norm_name_info: the same, but an archive is no log to parse */
                rc = norm_name_info(row->path, type, sizeof(type), &y, &mo, &d);
                assert_int_equal(rc, norm_ok ? 0 : -EINVAL);
                if (norm_ok) {
                        tu_str_equal(row->path, row->type, type);
                        assert_int_equal(y * 10000 + mo * 100 + d,
                                         row->y * 10000 + row->mo * 100 + row->d);
                }
                /* logfile_is_log with no list: exactly the names norm_name_info takes */
                assert_int_equal(logfile_is_log(row->path, NULL, type, sizeof(type), &y, &mo, &d),
                                 norm_ok);
        }
}

/* norm_name_info's type buffer: type_len - 1 bytes at most. */
static void test_norm_name_info_type_len(void **state)
{
        char type[8];
        int y, mo, d;

        (void)state;
        assert_int_equal(norm_name_info("2026.03.08-1234567.log", type, sizeof(type), &y, &mo, &d),
                         0);
        tu_str_equal("7 bytes", "1234567", type);
        assert_int_equal(norm_name_info("2026.03.08-12345678.log", type, sizeof(type), &y, &mo,
                                        &d), -EINVAL);
}

struct list_row {
        const char *types;
        const char *type;
        int listed;
};

static const struct list_row list_rows[] = {
        { NULL, "smtpLog", 1 },
        { "", "smtpLog", 1 },
        { "smtpLog", "smtpLog", 1 },
        { "smtpLog,delivery", "delivery", 1 },
        { "smtpLog, delivery", "delivery", 1 },
        { " smtpLog ,delivery", "smtpLog", 1 },
        { "smtpLog,,delivery", "delivery", 1 },
        { "smtpLog,", "smtpLog", 1 },
        { "smtpLog", "smtp", 0 },
        { "smtp", "smtpLog", 0 },
        { "SMTPLOG", "smtpLog", 0 },
        { "imapLog,popLog", "smtpLog", 0 },
        { ",", "smtpLog", 0 },
        { " ", "smtpLog", 0 },
};

static void test_logname_type_listed(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(list_rows); i++) {
                const struct list_row *row = &list_rows[i];
                char type[64];
                char name[128];
                int y, mo, d;

                if (logname_type_listed(row->types, row->type) != row->listed) {
                        print_error("\"%s\" lists %s: got %d\n", row->types ? row->types : "(null)",
                                    row->type, !row->listed);
                        fail();
                }
                snprintf(name, sizeof(name), "2026.03.08-%s.log", row->type);
                assert_int_equal(logfile_is_log(name, row->types, type, sizeof(type), &y, &mo, &d),
                                 row->listed);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_logname_parse),
                cmocka_unit_test(test_norm_name_info_type_len),
                cmocka_unit_test(test_logname_type_listed),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
