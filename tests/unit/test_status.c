/* SPDX-License-Identifier: MIT */
/* status.c: delivery status words. Each row is a status text as SmarterMail
 * writes it in "has completed (...)" and the class, event.outcome and
 * log.level it must give; then status_apply on an event. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/status.h"
#include "testutil.h"

struct status_case {
        const char *text;
        const char *klass;      /* status_class_name */
        const char *outcome;    /* NULL: none */
        int severity;           /* 0: none */
};

static const struct status_case status_cases[] = {
        { "Delivered", "delivered", "success", SEV_INFO },
        { "Forwarded Delivered", "delivered", "success", SEV_INFO },
        { "delivered", "delivered", "success", SEV_INFO },
        { "Deferred", "deferred", "unknown", SEV_NOTICE },
        { "Delayed", "deferred", "unknown", SEV_NOTICE },
        { "Will retry", "deferred", "unknown", SEV_NOTICE },
        { "Greylisted", "deferred", "unknown", SEV_NOTICE },
        { "Requeued", "deferred", "unknown", SEV_NOTICE },
        { "Deleted", "deleted", "failure", SEV_NOTICE },
        { "Bounced", "bounced", "failure", SEV_ERR },
        { "Failed", "failed", "failure", SEV_ERR },
        { "Rejected", "failed", "failure", SEV_ERR },
        { "Expired", "failed", "failure", SEV_ERR },            /* a word the table lacks */
        { "Delivered Bounced", "bounced", "failure", SEV_ERR }, /* the worst word wins */
        { "", "unknown", NULL, 0 },
        { " ", "unknown", NULL, 0 },
};

static void test_status_words(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(status_cases); i++) {
                const struct status_case *c = &status_cases[i];
                enum status_class k = status_classify(c->text, strlen(c->text));
                const char *o = status_outcome(k);

                tu_str_equal(c->text, c->klass, status_class_name(k));
                tu_str_equal(c->text, c->outcome ? c->outcome : "(none)", o ? o : "(none)");
                assert_int_equal(status_severity(k), c->severity);
        }
}

/* status_apply sets event.outcome and raises the severity, never lowers it. */
static void test_status_apply(void **state)
{
        struct keys *keys = keys_new();
        struct event *ev;
        const char *o;
        size_t n;
        int k;

        (void)state;
        assert_non_null(keys);
        k = keys_intern(keys, "smartermail.delivery.status", 27);
        assert_true(k >= 0);
        assert_int_equal(keys_finish(keys, NULL), 0);
        ev = event_new(keys);
        assert_non_null(ev);

        event_reset(ev);
        assert_int_equal(status_apply(ev, (unsigned)k), STATUS_NONE);
        assert_false(event_has(ev, K_EVENT_OUTCOME));

        event_reset(ev);
        event_set_str(ev, (unsigned)k, "Forwarded Delivered", 19);
        event_set_str(ev, K_EVENT_OUTCOME, "failure", 7);
        assert_int_equal(status_apply(ev, (unsigned)k), STATUS_DELIVERED);
        o = event_get_str(ev, K_EVENT_OUTCOME, &n);
        tu_bytes_equal("Forwarded Delivered", "success", 7, o, n);
        assert_int_equal(ev->severity, SEV_INFO);

        event_reset(ev);
        ev->severity = SEV_WARNING;
        event_set_str(ev, (unsigned)k, "Deleted", 7);
        assert_int_equal(status_apply(ev, (unsigned)k), STATUS_DELETED);
        assert_int_equal(ev->severity, SEV_WARNING);

        event_free(ev);
        keys_free(keys);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_status_words),
                cmocka_unit_test(test_status_apply),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
