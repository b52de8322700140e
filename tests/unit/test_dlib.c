/* SPDX-License-Identifier: MIT */
/* dlib.c: a library loaded once with every symbol resolved; a missing
 * library or symbol is an error that names it, and keeps nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "base/dlib.h"

static void test_load(void **state)
{
        static void *handle;
        __typeof__(strlen) *my_strlen = NULL;
        const struct dlib_sym syms[] = { { "strlen", (void **)&my_strlen } };
        struct diag err = { 0 };
        void *first;

        (void)state;
        assert_int_equal(dlib_load(&handle, "libc.so.6", syms, 1, &err), 0);
        assert_non_null(handle);
        assert_int_equal(my_strlen("abc"), 3);
        first = handle;
        /* once: a second call keeps what the first loaded */
        assert_int_equal(dlib_load(&handle, "libc.so.6", syms, 1, &err), 0);
        assert_ptr_equal(handle, first);
}

static void test_missing(void **state)
{
        void *handle = NULL;
        void *fn = NULL;
        const struct dlib_sym nosym[] = { { "strlen", &fn }, { "no_such_function_here", &fn } };
        struct diag err = { 0 };

        (void)state;
        assert_int_equal(dlib_load(&handle, "libno-such-library.so.9", nosym, 1, &err), -ELIBACC);
        assert_null(handle);
        assert_non_null(strstr(err.text, "cannot load libno-such-library.so.9"));
        memset(&err, 0, sizeof(err));
        assert_int_equal(dlib_load(&handle, "libc.so.6", nosym, 2, &err), -ELIBACC);
        assert_null(handle);
        assert_string_equal(err.text, "libc.so.6 has no no_such_function_here");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_load),
                cmocka_unit_test(test_missing),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
