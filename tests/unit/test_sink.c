/* SPDX-License-Identifier: MIT */
/* outputs/sink.c: --output parsed once into the outputs it names, each
 * handed its own settings, and the problems it names (an item that is no
 * output, too many, none) with where --output was set. Nothing is opened. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/options.h"
#include "outputs/registry.h"
#include "outputs/sink.h"
#include "testutil.h"

struct row {
        const char *list;
        int rc;
        unsigned n;                     /* outputs set up */
        const char *ops[SINKS_MAX];     /* their names, in order */
        const char *text;               /* err->text, when rc < 0 */
};

static const struct row rows[] = {
        { "stdout", 0, 1, { "file" }, NULL },
        { "journald,syslog,kafka", 0, 3, { "journald", "syslog", "kafka" }, NULL },
        { " stdout, file:/tmp/x", 0, 2, { "file", "file" }, NULL },
        { "stdout,nowhere,syslog", -EINVAL, 2, { "file", "syslog" },
          "'nowhere' is not an output (stdout, file:PATH, journald, syslog, kafka)" },
        { "stdout,stdout,stdout,stdout,stdout", -E2BIG, 4, { "file", "file", "file", "file" },
          "at most 4 outputs" },
        { "", -EINVAL, 0, { NULL }, "no output given" },
        { ",,", -EINVAL, 0, { NULL }, "no output given" },
};

static void test_parse_outputs(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
                const struct row *row = &rows[i];
                struct sink sinks[SINKS_MAX];
                struct shim_opts o;
                struct diag err = { 0 };
                unsigned n = 99;
                int rc;

                assert_int_equal(opts_defaults(&o), 0);
                assert_int_equal(opts_set(&o, opts_find("output", MODE_RUN), row->list, &err), 0);
                rc = sink_parse_outputs(&o, sinks, SINKS_MAX, &n, &err);
                if (rc != row->rc || n != row->n) {
                        print_error("'%s': rc %d, %u outputs; want %d, %u\n", row->list, rc, n,
                                    row->rc, row->n);
                        fail();
                }
                for (unsigned k = 0; k < n; k++) {
                        tu_str_equal(row->list, row->ops[k], sinks[k].ops->name);
                        /* each output gets its own settings, and only those */
                        if (sinks[k].ops == &sink_syslog_ops)
                                assert_ptr_equal(sinks[k].cfg, &o.syslog);
                        else if (sinks[k].ops == &sink_kafka_ops)
                                assert_ptr_equal(sinks[k].cfg, &o.kafka);
                        else
                                assert_null(sinks[k].cfg);
                        assert_int_equal(sinks[k].max_record_bytes, o.max_record_bytes);
                }
                if (row->text) {
                        tu_str_equal(row->list, row->text, err.text);
                        /* set here with opts_set: named by the option alone */
                        tu_str_equal(row->list, "output", err.key);
                }
                opts_free(&o);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_outputs),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
