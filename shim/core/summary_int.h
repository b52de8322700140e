/* SPDX-License-Identifier: MIT */
/* What the summary files share: a session's facts, the table, and the
 * helpers each part calls. summary.c keeps the table (lookup, eviction,
 * expiry, emit), summary_text.c the session's text arena, summary_smtp.c
 * and summary_delivery.c what a record of each log type means and how its
 * summary reads, summary_event.c the summary event common to both. Private
 * to those files. */
#ifndef SHIM_SUMMARY_INT_H
#define SHIM_SUMMARY_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/queue.h>

#include "core/summary.h"

#define SUMMARY_STR_MAX 320     /* one address or name */
#define SUMMARY_RSP_MAX 200     /* the last response kept */
#define SUMMARY_SHORT_MAX 64    /* ip, status word */
#define SUMMARY_MSG_MAX 1024    /* the summary's message text */

enum sk {
        SK_SESSION_ID, SK_DELIVERY_ID, SK_SOURCE_IP, SK_FROM, SK_TO, SK_RSP_CODE,
        SK_SPOOL_ID, SK_MESSAGE_ID, SK_BLOCK_REASON, SK_DLV_STATUS, SK_SPOOL_FAILED,
        SK_REASON, SK_DEST_IP, SK_DIRECTION, SK_PROTOCOL, SK_START, SK_END, SK_DURATION,
        SK_LOCAL_ID, SK_PARTIAL, SK_END_REASON, SK_STATUS, SK_RECORDS, SK_CODES,
        SK_SPOOL_IDS, SK_MESSAGES, SK_AUTH_OUTCOME, SK_AUTH_FAILURES, SK_LAST_RESPONSE,
        SK_RECIPIENT_COUNT, SK_RESPONSE_COUNT,
        SK__COUNT
};

enum sum_kind { KIND_SMTP, KIND_DELIVERY };
enum sum_auth { AUTH_NONE, AUTH_OK, AUTH_FAILED };
enum sum_dir { DIR_NONE, DIR_INTERNAL, DIR_OUTBOUND };
/* delivery outcomes, worse is larger: the summary keeps the worst */
enum sum_class { CLASS_NONE, CLASS_DELIVERED, CLASS_DEFERRED, CLASS_BOUNCED, CLASS_FAILED };

/* The tree's key; first member of a session, so a session is its key. */
struct sum_key {
        uint8_t kind;           /* enum sum_kind */
        uint8_t len;
        char id[SUMMARY_ID_MAX + 1];
};

struct sum_ref {
        uint16_t off, len;      /* into the session's text; len 0 = none */
};

/* Text that is replaced as records come: kept inline, cut to size. */
struct sum_latest {
        char rsp[SUMMARY_RSP_MAX];
        char reason[SUMMARY_RSP_MAX];
        char user[SUMMARY_STR_MAX];
        char dest_ip[SUMMARY_SHORT_MAX];
        char status[SUMMARY_SHORT_MAX];
};

/* Addresses and names that accumulate: refs into the arena. */
struct sum_lists {
        struct sum_ref path, ip, message_id, block;
        struct sum_ref from[SUMMARY_FROM_MAX], to[SUMMARY_TO_MAX], spool[SUMMARY_SPOOL_MAX];
        uint8_t nfrom, nto, nspool;
        uint32_t to_total, spool_total;
        char *text;             /* grows up to SUMMARY_TEXT_MAX */
        uint16_t text_len, text_cap;
};

struct sum_counts {
        uint32_t records, responses, auth_failures;
        uint16_t codes[SUMMARY_CODES_MAX];
        uint8_t ncodes;
        uint8_t auth;           /* enum sum_auth */
        uint8_t dir;            /* enum sum_dir */
        uint8_t klass;          /* enum sum_class */
        uint8_t spool_failed;
        uint8_t rejected;       /* a 4xx/5xx answer other than to AUTH */
};

struct sum_sess {
        struct sum_key key;
        TAILQ_ENTRY(sum_sess) link;     /* open: by last record; done: by finish */
        uint64_t touched;               /* when its last record came, in records */
        int64_t start_ms, end_ms;
        uint8_t why;                    /* enum summary_end, once done */
        struct sum_counts c;
        struct sum_lists l;
        struct sum_latest t;
};

TAILQ_HEAD(sum_list, sum_sess);

struct summary {
        struct summary_cfg cfg;
        const struct keys *keys;
        unsigned k[SK__COUNT];
        struct event *ev;
        void *root;                     /* tsearch tree of open sessions */
        struct sum_list open[2], done;  /* open: per enum sum_kind */
        int64_t clock[2];               /* latest record time per kind */
        uint64_t records;
        size_t nopen, ndone;
        summary_emit_fn fn;
        void *data;
};

/* ---- summary_text.c: the session's text ---------------------------------- */

/* Copy p (cut to max bytes) into the session's arena. Returns its ref, or
 * len 0 when the arena is full or out of memory: the value is left out. */
struct sum_ref sum_text_add(struct sum_lists *l, const char *p, size_t n, size_t max);
/* Add p to a list unless it is there; returns 1 when it is new (counted
 * even when the list is full). */
int sum_list_add(struct sum_lists *l, struct sum_ref *list, uint8_t *nlist, unsigned max,
                 const char *p, size_t n);
/* Keep p in *r unless *r is already set. */
void sum_set_once(struct sum_lists *l, struct sum_ref *r, const char *p, size_t n);
/* Replace dst (cap bytes with its NUL) with p, cut to size. */
void sum_copy_latest(char *dst, size_t cap, const char *p, size_t n);
/* 1 when p[0..n) is lit; p may be NULL. Inline: it runs for every record,
 * and the length of a literal folds to a constant. */
static inline int sum_str_is(const char *p, size_t n, const char *lit)
{
        size_t l = strlen(lit);

        return p && n == l && memcmp(p, lit, l) == 0;
}
/* 1 when p[0..n) contains word (lower case) in any case. */
int sum_has_ci(const char *p, size_t n, const char *word);
/* Add the record's senders and recipients to the session's lists. */
void sum_take_addresses(const struct summary *s, struct sum_sess *ss, const struct event *ev);
/* Account a response code and keep its text as the latest answer. */
void sum_take_response(struct sum_sess *ss, const struct event *ev, int64_t code);
/* The text a ref points to (not NUL-terminated: r.len bytes). */
const char *sum_ref_str(const struct sum_sess *ss, struct sum_ref r);
/* "a, b and 3 more" from a list, into out; returns the length. */
size_t sum_fmt_list(char *out, size_t cap, const struct sum_sess *ss, const struct sum_ref *list,
                    unsigned n, uint32_t total);

/* ---- summary_event.c: the summary event ----------------------------------- */

/* Set key to a ref's text / a C string, when not empty. */
void sum_set_ref(struct event *ev, unsigned key, const struct sum_sess *ss, struct sum_ref r);
void sum_set_cstr(struct event *ev, unsigned key, const char *p);
/* Build ss's summary into s->ev. */
void sum_build(struct summary *s, const struct sum_sess *ss);

/* ---- summary_smtp.c, summary_delivery.c: per log type --------------------- */

/* Account one record of the session (act: its event.action, may be NULL). */
void sum_take_smtp(const struct summary *s, struct sum_sess *ss, const struct event *ev,
                   const char *act, size_t alen);
void sum_take_delivery(const struct summary *s, struct sum_sess *ss, const struct event *ev);
/* Set the fields of this log type's summary; returns its status word
 * (static storage). */
const char *sum_build_smtp(const struct summary *s, struct event *ev, const struct sum_sess *ss);
const char *sum_build_delivery(const struct summary *s, struct event *ev,
                               const struct sum_sess *ss);
/* Write the log type's part of the message; returns the bytes written
 * (snprintf's count: may pass cap). */
size_t sum_message_smtp(char *m, size_t cap, const struct sum_sess *ss, const char *status,
                        const char *from, const char *to);
size_t sum_message_delivery(char *m, size_t cap, const struct sum_sess *ss, const char *status,
                            const char *from, const char *to);

#endif
