/* SPDX-License-Identifier: MIT */
/* report --unparsed: the masking of a line into its shape and its example
 * (shape.c), row by row; and the report itself, run in-process on a small
 * log directory written here, read back as JSON and as text. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfastjson/json.h>

#include "base/options.h"
#include "query/unparsed.h"
#include "query/shape.h"
#include "testutil.h"

/* ---- masking ---------------------------------------------------------------- */

struct shape_row {
        const char *in;
        const char *shape;      /* SHAPE_DIGIT_RUNS */
        const char *example;    /* SHAPE_EACH_DIGIT */
};

static const struct shape_row shape_rows[] = {
        { "Odd line 12345 bytes", "Odd line 9 bytes", "Odd line 99999 bytes" },
        { "for anna@example.org.", "for user@example.com.", "for user@example.com." },
        { "MAIL From:<a.b+c@mx-1.example.net> SIZE=1024", "MAIL From:<user@example.com> SIZE=9",
          "MAIL From:<user@example.com> SIZE=9999" },
        { "From:x@example.net", "From:user@example.com", "From:user@example.com" },
        { "from 198.51.100.23:2525 ok", "from 192.0.2.1:9 ok", "from 192.0.2.1:9999 ok" },
        { "[198.51.100.23] said", "[192.0.2.1] said", "[192.0.2.1] said" },
        { "peer 2001:db8:5::77 gone", "peer 2001:db8::1 gone", "peer 2001:db8::1 gone" },
        { "peer ::ffff:198.51.100.7 gone", "peer 2001:db8::1 gone", "peer 2001:db8::1 gone" },
        { "at 04:22:17 PM", "at 9:9:9 PM", "at 99:99:99 PM" },
        { "id a1b2c3d4e5f6 and 0F9E8D7C-6B5A-4C3D-9E8F-7A6B5C4D3E2F", "id ID and ID",
          "id ID and ID" },
        { "SubSpool3 MAPI_IMAP4 version 1.2.3.4.5", "SubSpool9 MAPI_IMAP9 version 9.9.9.9.9",
          "SubSpool9 MAPI_IMAP9 version 9.9.9.9.9" },
        { "spool 51234567.eml", "spool 9.eml", "spool 99999999.eml" },
        { "a@ and @b and x@y", "a@ and @b and user@example.com", "a@ and @b and user@example.com" },
        { "first line\nsecond 1.2.3.4", "first line", "first line" },
        { "", "", "" },
};

static void test_shape_rows(void **state)
{
        char out[SHAPE_MAX];

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(shape_rows); i++) {
                const struct shape_row *r = &shape_rows[i];

                shape_mask(r->in, strlen(r->in), SHAPE_DIGIT_RUNS, out, sizeof(out));
                tu_str_equal(r->in, r->shape, out);
                shape_mask(r->in, strlen(r->in), SHAPE_EACH_DIGIT, out, sizeof(out));
                tu_str_equal(r->in, r->example, out);
        }
}

static void test_shape_cut(void **state)
{
        char in[1000], out[16];
        size_t n;

        (void)state;
        memset(in, 'a', sizeof(in));
        n = shape_mask(in, sizeof(in), SHAPE_DIGIT_RUNS, out, sizeof(out));
        assert_int_equal(n, sizeof(out) - 1);
        assert_int_equal(strlen(out), n);
        /* a stand-in that does not fit is cut too */
        n = shape_mask("x anna@example.org", 18, SHAPE_DIGIT_RUNS, out, 8);
        assert_int_equal(n, 7);
        assert_string_equal(out, "x user@");
        assert_int_equal(shape_mask("x", 1, SHAPE_DIGIT_RUNS, out, 0), 0);
}

/* ---- the report on a small directory ---------------------------------------- */

static const char smtp_log[] =
        "06:30:00.000 [203.0.113.77][51234567] rsp: 220 mail.example.com\n"
        "06:30:01.000 [203.0.113.77][51234567] Weird thing for anna@example.org from 198.51.100.23\n"
        "06:30:02.000 [203.0.113.78][51234568] Weird thing for bob@example.net from 198.51.100.99\n"
        "06:30:03.000 [203.0.113.78][51234568] Weird thing for carl@example.net from 198.51.100.1\n"
        "06:30:04.000 [203.0.113.78][51234568] Another odd line 12345 bytes\n"
        "06:30:05.000 [203.0.113.78][51234568] cmd: EHLO client.example.net\n"
        "06:30:06.000 [203.0.113.78][51234568] cmd: QUIT\n"
        "06:30:07.000 [203.0.113.78][51234568] rsp: 221 Bye\n";

static const char delivery_log[] =
        "06:30:00.000 [51234567] Delivery started for a@example.com at 6:30:00 AM\n"
        "06:31:00.000 [51234567] Something new at 6:31:00 AM queue 7\n"
        "06:32:00.000 [51234567] Something new at 6:32:00 AM queue 12\n";

static char *run_report(const char *dir, const char *const *extra)
{
        char *argv[16], *text;
        struct shim_opts o;
        struct diag err = { 0 };
        int argc = 0, first;
        FILE *f = tmpfile();
        size_t len;

        assert_non_null(f);
        argv[argc++] = "report";
        argv[argc++] = "--timezone";
        argv[argc++] = "America/Chicago";
        argv[argc++] = "--mappings";
        argv[argc++] = getenv("MAPPINGS") ? getenv("MAPPINGS") : "mappings";
        argv[argc++] = "--logs";
        argv[argc++] = (char *)dir;
        argv[argc++] = "--unparsed";
        for (; *extra; extra++)
                argv[argc++] = (char *)*extra;
        argv[argc] = NULL;
        assert_int_equal(opts_defaults(&o), 0);
        first = opts_parse(&o, MODE_REPORT, argc, argv, &err);
        assert_true(first > 0);
        assert_true(o.unparsed);
        assert_int_equal(unparsed_main(&o, argc - first, argv + first, f), 0);
        opts_free(&o);
        len = (size_t)ftell(f);
        rewind(f);
        text = calloc(1, len + 1);
        assert_non_null(text);
        assert_int_equal(fread(text, 1, len, f), len);
        fclose(f);
        return text;
}

static fjson_object *get(fjson_object *o, const char *key)
{
        fjson_object *v = NULL;

        if (!fjson_object_object_get_ex(o, key, &v))
                fail_msg("no %s in the report", key);
        return v;
}

static void check_type(fjson_object *t, const char *name, int records, int unparsed,
                       double pct, int shapes)
{
        assert_string_equal(fjson_object_get_string(get(t, "log_type")), name);
        assert_int_equal(fjson_object_get_int(get(t, "records")), records);
        assert_int_equal(fjson_object_get_int(get(t, "unparsed")), unparsed);
        assert_true(fjson_object_get_double(get(t, "unparsed_pct")) == pct);
        assert_int_equal(fjson_object_get_int(get(t, "shapes_total")), shapes);
}

static void test_report_unparsed(void **state)
{
        static const char *const json[] = { "--json", NULL };
        static const char *const text_top1[] = { "--top", "1", NULL };
        char dir[512], *out;
        fjson_object *root, *types, *smtp, *shapes, *first;

        (void)state;
        tu_tmpdir(dir, sizeof(dir));
        tu_write_file(dir, "2026.03.05-smtpLog.log", smtp_log);
        tu_write_file(dir, "2026.03.05-delivery.log", delivery_log);

        out = run_report(dir, json);
        root = fjson_tokener_parse(out);
        assert_non_null(root);
        assert_int_equal(fjson_object_get_int(get(root, "records")), 11);
        assert_int_equal(fjson_object_get_int(get(root, "unparsed")), 6);
        assert_true(fjson_object_get_double(get(root, "unparsed_pct")) == 54.54);
        types = get(root, "log_types");
        assert_int_equal(fjson_object_array_length(types), 2);
        check_type(fjson_object_array_get_idx(types, 0), "delivery", 3, 2, 66.66, 1);
        smtp = fjson_object_array_get_idx(types, 1);
        check_type(smtp, "smtp", 8, 4, 50.0, 2);
        /* the three "Weird" lines are one shape, first by count */
        shapes = get(smtp, "shapes");
        first = fjson_object_array_get_idx(shapes, 0);
        assert_int_equal(fjson_object_get_int(get(first, "count")), 3);
        assert_string_equal(fjson_object_get_string(get(first, "shape")),
                            "Weird thing for user@example.com from 192.0.2.1");
        assert_string_equal(fjson_object_get_string(get(first, "example")),
                            "Weird thing for user@example.com from 192.0.2.1");
        /* nothing of the lines' addresses or ids is shown */
        assert_null(strstr(out, "anna"));
        assert_null(strstr(out, "198.51.100"));
        assert_null(strstr(out, "12345"));
        fjson_object_put(root);
        free(out);

        out = run_report(dir, text_top1);
        assert_non_null(strstr(out, "smtp                        8            4    50.00\n"));
        assert_non_null(strstr(out, "all                        11            6    54.54\n"));
        assert_non_null(strstr(out, "smtp: 4 unparsed in 2 shapes\n"
                                    "         3  Weird thing for user@example.com from 192.0.2.1\n"));
        assert_non_null(strstr(out, "(1 more shapes; --top shows more)"));
        assert_null(strstr(out, "Another odd line"));
        free(out);
        tu_rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_shape_rows),
                cmocka_unit_test(test_shape_cut),
                cmocka_unit_test(test_report_unparsed),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
