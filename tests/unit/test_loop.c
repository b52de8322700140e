/* SPDX-License-Identifier: MIT */
/* loop.c: descriptors and one-shot timers. Timers fire in a table of
 * arm-times (due, not yet due, disarmed, re-armed from inside their own
 * function); a descriptor wakes the wait before a far timer; the table
 * limits are tested at max and max+1. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <unistd.h>

#include "daemon/loop.h"
#include "testutil.h"

struct hit {
        struct loop *l;
        int id;
        int count;
        int64_t rearm_ms;       /* >0: arm again this far ahead from inside */
};

static void on_timer(void *data)
{
        struct hit *h = data;

        h->count++;
        if (h->rearm_ms) {
                loop_timer_arm(h->l, h->id, loop_now_ms() + h->rearm_ms);
                h->rearm_ms = 0;
        }
}

/* Rows: when the timer is armed (relative to now; 0 = disarmed), how long
 * the wait may last, and whether it must have fired. */
static void test_timer_table(void **state)
{
        static const struct {
                int64_t arm_in_ms;
                int disarm_after_arm;
                int max_ms;
                int fired;
        } rows[] = {
                { -5, 0, 1000, 1 },     /* overdue: fires without waiting */
                { 0 + 1, 0, 1000, 1 },  /* 1 ms ahead: the wait ends for it */
                { 5000, 0, 20, 0 },     /* far: max_ms ends the wait first */
                { 1, 1, 30, 0 },        /* disarmed: never */
        };

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
                struct loop *l = loop_new();
                struct hit h = { .l = l };
                int64_t t0;

                assert_non_null(l);
                h.id = loop_timer_new(l, on_timer, &h);
                assert_true(h.id >= 0);
                t0 = loop_now_ms();
                loop_timer_arm(l, h.id, t0 + rows[i].arm_in_ms);
                if (rows[i].disarm_after_arm)
                        loop_timer_arm(l, h.id, 0);
                loop_wait(l, rows[i].max_ms);
                if (h.count != rows[i].fired)
                        fail_msg("row %zu: fired %d times, want %d", i, h.count, rows[i].fired);
                /* a one-shot timer is disarmed once fired */
                if (rows[i].fired)
                        assert_int_equal(loop_timer_when(l, h.id), 0);
                loop_free(l);
        }
}

static void test_timer_rearm_inside(void **state)
{
        struct loop *l = loop_new();
        struct hit h = { .l = l, .rearm_ms = 5 };

        (void)state;
        h.id = loop_timer_new(l, on_timer, &h);
        loop_timer_arm(l, h.id, loop_now_ms());
        loop_wait(l, 1000);
        assert_int_equal(h.count, 1);
        assert_true(loop_timer_when(l, h.id) != 0);     /* armed again from inside */
        loop_wait(l, 1000);
        assert_int_equal(h.count, 2);
        assert_int_equal(loop_timer_when(l, h.id), 0);
        loop_free(l);
}

static void on_fd(int fd, uint32_t events, void *data)
{
        char b;

        (void)events;
        (void)!read(fd, &b, 1);
        (*(int *)data)++;
}

/* A descriptor that becomes ready wakes the wait long before a far timer. */
static void test_fd_before_timer(void **state)
{
        struct loop *l = loop_new();
        struct hit h = { .l = l };
        int p[2], fd_hits = 0;
        int64_t t0;

        (void)state;
        assert_int_equal(pipe(p), 0);
        assert_int_equal(loop_add(l, p[0], EPOLLIN, on_fd, &fd_hits), 0);
        h.id = loop_timer_new(l, on_timer, &h);
        loop_timer_arm(l, h.id, loop_now_ms() + 60000);
        assert_int_equal(write(p[1], "x", 1), 1);
        t0 = loop_now_ms();
        assert_int_equal(loop_wait(l, -1), 1);
        assert_true(loop_now_ms() - t0 < 1000);
        assert_int_equal(fd_hits, 1);
        assert_int_equal(h.count, 0);
        loop_del(l, p[0]);
        close(p[0]);
        close(p[1]);
        loop_free(l);
}

static void noop(void *data)
{
        (void)data;
}

/* The timer table holds LOOP_TIMERS_MAX timers: one more is refused. */
static void test_timer_limit(void **state)
{
        struct loop *l = loop_new();

        (void)state;
        for (int i = 0; i < LOOP_TIMERS_MAX; i++)
                assert_int_equal(loop_timer_new(l, noop, NULL), i);
        assert_int_equal(loop_timer_new(l, noop, NULL), -ENOSPC);
        loop_free(l);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_timer_table),
                cmocka_unit_test(test_timer_rearm_inside),
                cmocka_unit_test(test_fd_before_timer),
                cmocka_unit_test(test_timer_limit),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
