/* SPDX-License-Identifier: MIT */
/* carry.c: the account of a login attempt carried to the result lines that
 * do not name one. Each row feeds records (as the fields the mappings would
 * set) through one struct carry and lists the user.name each must end
 * with ("" for none). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/carry.h"
#include "testutil.h"

#define RECS_MAX 6

struct carry_rec {
        int64_t ts_ms;
        const char *action, *ip, *session, *service, *user;
        const char *want;       /* user.name afterwards */
};

struct carry_row {
        const char *name;
        struct carry_rec recs[RECS_MAX];
};

static const struct carry_row carry_rows[] = {
        { "an attempt and its failures",
          { { 0, "login-attempt", "192.0.2.1", NULL, "Webmail", "admin", "admin" },
            { 0, "login", "192.0.2.1", NULL, "Webmail", NULL, "admin" },
            { 10, "login", "192.0.2.1", NULL, "Webmail", NULL, "admin" } } },
        { "another client, another service, another session",
          { { 0, "login-attempt", "192.0.2.1", "7", "Webmail", "anna", "anna" },
            { 0, "login", "192.0.2.2", "7", "Webmail", NULL, "" },
            { 0, "login", "192.0.2.1", "7", "IMAP", NULL, "" },
            { 0, "login", "192.0.2.1", "8", "Webmail", NULL, "" },
            { 0, "login", "192.0.2.1", "7", "Webmail", NULL, "anna" } } },
        { "a result that names its user keeps it",
          { { 0, "login-attempt", "192.0.2.1", NULL, "POP", "anna", "anna" },
            { 0, "login", "192.0.2.1", NULL, "POP", "bob", "bob" } } },
        { "the window: at the limit, and past it",
          { { 0, "login-attempt", "192.0.2.1", NULL, "Webmail", "anna", "anna" },
            { CARRY_WINDOW_MS, "login", "192.0.2.1", NULL, "Webmail", NULL, "anna" },
            { CARRY_WINDOW_MS + 1, "login", "192.0.2.1", NULL, "Webmail", NULL, "" } } },
        { "the latest attempt of a client wins",
          { { 0, "login-attempt", "192.0.2.1", NULL, "Webmail", "anna", "anna" },
            { 5, "login-attempt", "192.0.2.1", NULL, "Webmail", "bob", "bob" },
            { 6, "login", "192.0.2.1", NULL, "Webmail", NULL, "bob" } } },
        { "no client address, nothing carried",
          { { 0, "login-attempt", NULL, NULL, "Webmail", "anna", "anna" },
            { 0, "login", NULL, NULL, "Webmail", NULL, "" } } },
};

struct carry_keys {
        unsigned ip, session, service;
};

static void set_opt(struct event *ev, unsigned k, const char *v)
{
        if (v)
                assert_int_equal(event_set_str(ev, k, v, strlen(v)), 0);
}

static void feed(struct carry *c, struct event *ev, const struct carry_keys *ck,
                 const struct carry_rec *r)
{
        event_reset(ev);
        ev->ts_ms = r->ts_ms;
        set_opt(ev, K_EVENT_ACTION, r->action);
        set_opt(ev, ck->ip, r->ip);
        set_opt(ev, ck->session, r->session);
        set_opt(ev, ck->service, r->service);
        set_opt(ev, K_USER_NAME, r->user);
        carry_user(c, ev);
}

static unsigned intern(struct keys *keys, const char *name)
{
        int k = keys_intern(keys, name, strlen(name));

        assert_true(k >= 0);
        return (unsigned)k;
}

/* A registry with the fields a link is made of, and an event on it. */
static struct event *make_event(struct keys *keys, struct carry_keys *ck)
{
        struct event *ev;

        assert_non_null(keys);
        ck->ip = intern(keys, "source.ip");
        ck->session = intern(keys, "smartermail.session_id");
        ck->service = intern(keys, "smartermail.service");
        assert_int_equal(keys_finish(keys, NULL), 0);
        ev = event_new(keys);
        assert_non_null(ev);
        return ev;
}

static void test_carry_rows(void **state)
{
        struct keys *keys = keys_new();
        struct carry_keys ck;
        struct event *ev;

        (void)state;
        ev = make_event(keys, &ck);
        for (size_t i = 0; i < ARRAY_SIZE(carry_rows); i++) {
                struct carry c;

                carry_init(&c);
                for (unsigned j = 0; j < RECS_MAX && carry_rows[i].recs[j].action; j++) {
                        const struct carry_rec *r = &carry_rows[i].recs[j];
                        char what[160], got[CARRY_USER_MAX + 1];
                        const char *u;
                        size_t n = 0;

                        feed(&c, ev, &ck, r);
                        u = event_get_str(ev, K_USER_NAME, &n);
                        snprintf(got, sizeof(got), "%.*s", u ? (int)n : 0, u ? u : "");
                        snprintf(what, sizeof(what), "%s, record %u", carry_rows[i].name, j);
                        tu_str_equal(what, r->want, got);
                }
        }
        event_free(ev);
        keys_free(keys);
}

/* More clients than slots: the oldest attempt is forgotten, the newest
 * kept; memory stays CARRY_SLOTS. */
static void test_carry_ring(void **state)
{
        struct keys *keys = keys_new();
        struct carry_keys ck;
        struct event *ev;
        struct carry c;
        char ip[32];
        size_t n;

        (void)state;
        ev = make_event(keys, &ck);
        carry_init(&c);
        for (unsigned i = 0; i <= CARRY_SLOTS; i++) {
                struct carry_rec r = { 0, "login-attempt", ip, NULL, "Webmail", ip, NULL };

                snprintf(ip, sizeof(ip), "192.0.2.%u", i + 1);
                feed(&c, ev, &ck, &r);
        }
        {
                struct carry_rec first = { 1, "login", "192.0.2.1", NULL, "Webmail", NULL, NULL };
                struct carry_rec last = { 1, "login", ip, NULL, "Webmail", NULL, NULL };

                feed(&c, ev, &ck, &first);
                assert_false(event_has(ev, K_USER_NAME));
                feed(&c, ev, &ck, &last);
                assert_non_null(event_get_str(ev, K_USER_NAME, &n));
                assert_int_equal(n, strlen(ip));
        }
        event_free(ev);
        keys_free(keys);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_carry_rows),
                cmocka_unit_test(test_carry_ring),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
