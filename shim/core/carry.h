/* SPDX-License-Identifier: MIT */
/* What a record takes from the records before it in the same file: the
 * account a login attempt names ("Webmail Attempting to login user: X"),
 * for the failure lines after it that do not name one. One struct carry
 * per input file, of fixed size; it reads and sets fields of the event only
 * and keeps nothing across restarts. */
#ifndef SHIM_CARRY_H
#define SHIM_CARRY_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"

#define CARRY_SLOTS 16          /* login attempts remembered per file */
#define CARRY_LINK_MAX 128      /* bytes of what links an attempt to its result */
#define CARRY_USER_MAX 128      /* bytes of an account name kept */
#define CARRY_WINDOW_MS 60000   /* a result this long after its attempt no longer takes it */

struct carry_slot {
        int64_t ts_ms;
        uint16_t link_len, user_len;
        char link[CARRY_LINK_MAX];
        char user[CARRY_USER_MAX];
};

struct carry {
        const struct keys *keys;        /* the registry the ids below are of */
        int k_ip, k_session, k_id, k_service;   /* -1: not in the registry */
        unsigned next;                  /* the slot the next new link takes */
        struct carry_slot slot[CARRY_SLOTS];
};

/* An empty carry (all zero is one too). */
void carry_init(struct carry *c);

/* Call once per normalized record, after the mapping rules. A login
 * attempt (event.action "login-attempt" with user.name) is remembered
 * under its link: source.ip, the session id and the service. A login
 * result (event.action "login") without user.name takes the user of the
 * latest attempt with the same link, if it came at most CARRY_WINDOW_MS
 * before; the value is copied into the event's scratch. */
void carry_user(struct carry *c, struct event *ev);

#endif
