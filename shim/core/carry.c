/* SPDX-License-Identifier: MIT */
/* Login attempts and their results. SmarterMail writes the account in the
 * attempt line and, on some builds, only the reason in the failure lines
 * that follow (one per domain tried, then the counters), with the same
 * client address, session and service. The attempts live in a small ring
 * per file: a link seen again takes its old slot, a new one the oldest, so
 * memory is fixed and a burst of other clients only forgets. */
#include "core/carry.h"

#include <string.h>

void carry_init(struct carry *c)
{
        memset(c, 0, sizeof(*c));
}

static void bind_keys(struct carry *c, const struct keys *keys)
{
        c->keys = keys;
        c->k_ip = keys_find(keys, "source.ip");
        c->k_session = keys_find(keys, "smartermail.session_id");
        c->k_id = keys_find(keys, "smartermail.id");
        c->k_service = keys_find(keys, "smartermail.service");
}

/* Append field k's text and a separator to out; returns the new length. */
static size_t link_part(const struct event *ev, int k, char *out, size_t o)
{
        const char *p;
        size_t n = 0;

        if (k >= 0 && (p = event_get_str(ev, (unsigned)k, &n)) && o + n + 1 < CARRY_LINK_MAX) {
                memcpy(out + o, p, n);
                o += n;
        }
        if (o < CARRY_LINK_MAX)
                out[o++] = '\n';
        return o;
}

/* The record's link into out; returns its length, 0 when it has no
 * client address (nothing could tell two clients apart). */
static size_t make_link(const struct carry *c, const struct event *ev, char *out)
{
        size_t o;

        if (c->k_ip < 0 || !event_has(ev, (unsigned)c->k_ip))
                return 0;
        o = link_part(ev, c->k_ip, out, 0);
        o = link_part(ev, c->k_session, out, o);
        o = link_part(ev, c->k_id, out, o);
        return link_part(ev, c->k_service, out, o);
}

static struct carry_slot *find(struct carry *c, const char *link, size_t n)
{
        for (unsigned i = 0; i < CARRY_SLOTS; i++)
                if (c->slot[i].link_len == n && memcmp(c->slot[i].link, link, n) == 0)
                        return &c->slot[i];
        return NULL;
}

static void remember(struct carry *c, const struct event *ev, const char *link, size_t n)
{
        struct carry_slot *s = find(c, link, n);
        const char *u;
        size_t ul;

        if (!(u = event_get_str(ev, K_USER_NAME, &ul)) || !ul || ul > CARRY_USER_MAX)
                return;
        if (!s) {
                s = &c->slot[c->next];
                c->next = (c->next + 1) % CARRY_SLOTS;
                memcpy(s->link, link, n);
                s->link_len = (uint16_t)n;
        }
        memcpy(s->user, u, ul);
        s->user_len = (uint16_t)ul;
        s->ts_ms = ev->ts_ms;
}

static void recall(struct carry *c, struct event *ev, const char *link, size_t n)
{
        const struct carry_slot *s = find(c, link, n);
        char *u;

        if (!s || ev->ts_ms < s->ts_ms || ev->ts_ms - s->ts_ms > CARRY_WINDOW_MS)
                return;
        /* the slot may be taken by the next record while ev is still held */
        if ((u = event_scratch(ev, s->user_len))) {
                memcpy(u, s->user, s->user_len);
                event_set_str(ev, K_USER_NAME, u, s->user_len);
        }
}

void carry_user(struct carry *c, struct event *ev)
{
        char link[CARRY_LINK_MAX];
        const char *act;
        size_t al, n;
        int attempt;

        act = event_get_str(ev, K_EVENT_ACTION, &al);
        attempt = act && al == 13 && memcmp(act, "login-attempt", 13) == 0;
        if (!attempt && !(act && al == 5 && memcmp(act, "login", 5) == 0 &&
                          !event_has(ev, K_USER_NAME)))
                return;
        if (c->keys != ev->keys)
                bind_keys(c, ev->keys);
        if (!(n = make_link(c, ev, link)))
                return;
        if (attempt)
                remember(c, ev, link, n);
        else
                recall(c, ev, link, n);
}
