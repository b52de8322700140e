/* SPDX-License-Identifier: MIT */
/* Session and delivery summaries. Open sessions live in a binary tree
 * (<search.h> tsearch: balanced in glibc, O(log n) per record) keyed by
 * (kind, id), and on a TAILQ per kind in order of their last record, so
 * that the idle timeout and the cap on open sessions look at the heads
 * only. Idle time is measured on each kind's own clock (the latest record
 * of that log type): parse reads a day's SMTP log, then its delivery log,
 * and run reads files in turns, so one clock for all would expire sessions
 * of the file read second at once. Each
 * session keeps fixed-size facts plus a small text arena for addresses; both
 * have ceilings, so memory is bounded by max_open. What a record means comes
 * from the fields the mappings set (event.action, smartermail.*), not from
 * its text. */
#include "core/summary.h"

#include <errno.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "core/stamp.h"

#define SUMMARY_STR_MAX 320     /* one address or name */
#define SUMMARY_RSP_MAX 200     /* the last response kept */
#define SUMMARY_SHORT_MAX 64    /* ip, status word */
#define SUMMARY_MSG_MAX 1024    /* the summary's message text */

/* Every field a summary reads or writes, besides the built-in keys. */
enum sk {
        SK_SESSION_ID, SK_DELIVERY_ID, SK_SOURCE_IP, SK_FROM, SK_TO, SK_RSP_CODE,
        SK_SPOOL_ID, SK_MESSAGE_ID, SK_BLOCK_REASON, SK_DLV_STATUS, SK_SPOOL_FAILED,
        SK_REASON, SK_DEST_IP, SK_DIRECTION, SK_PROTOCOL, SK_START, SK_END, SK_DURATION,
        SK_LOCAL_ID, SK_PARTIAL, SK_END_REASON, SK_STATUS, SK_RECORDS, SK_CODES,
        SK_SPOOL_IDS, SK_MESSAGES, SK_AUTH_OUTCOME, SK_AUTH_FAILURES, SK_LAST_RESPONSE,
        SK_RECIPIENT_COUNT, SK_RESPONSE_COUNT,
        SK__COUNT
};

static const char *const sk_names[SK__COUNT] = {
        [SK_SESSION_ID] = "smartermail.session_id",
        [SK_DELIVERY_ID] = "smartermail.delivery.id",
        [SK_SOURCE_IP] = "source.ip",
        [SK_FROM] = "email.from.address",
        [SK_TO] = "email.to.address",
        [SK_RSP_CODE] = "smartermail.smtp.response.code",
        [SK_SPOOL_ID] = "smartermail.spool.id",
        [SK_MESSAGE_ID] = "email.message_id",
        [SK_BLOCK_REASON] = "smartermail.block.reason",
        [SK_DLV_STATUS] = "smartermail.delivery.status",
        [SK_SPOOL_FAILED] = "smartermail.spool.failed",
        [SK_REASON] = "event.reason",
        [SK_DEST_IP] = "destination.ip",
        [SK_DIRECTION] = "network.direction",
        [SK_PROTOCOL] = "network.protocol",
        [SK_START] = "event.start",
        [SK_END] = "event.end",
        [SK_DURATION] = "event.duration",
        [SK_LOCAL_ID] = "email.local_id",
        [SK_PARTIAL] = "smartermail.summary.partial",
        [SK_END_REASON] = "smartermail.summary.end_reason",
        [SK_STATUS] = "smartermail.summary.status",
        [SK_RECORDS] = "smartermail.summary.records",
        [SK_CODES] = "smartermail.summary.response_codes",
        [SK_SPOOL_IDS] = "smartermail.summary.spool_ids",
        [SK_MESSAGES] = "smartermail.summary.messages",
        [SK_AUTH_OUTCOME] = "smartermail.summary.auth_outcome",
        [SK_AUTH_FAILURES] = "smartermail.summary.auth_failures",
        [SK_LAST_RESPONSE] = "smartermail.summary.last_response",
        [SK_RECIPIENT_COUNT] = "smartermail.summary.recipient_count",
        [SK_RESPONSE_COUNT] = "smartermail.summary.response_count",
};

static const char *const end_names[] = {
        [SUMMARY_END_CLOSED] = "closed",
        [SUMMARY_END_IDLE] = "idle-timeout",
        [SUMMARY_END_INPUT] = "end-of-input",
        [SUMMARY_END_SHUTDOWN] = "shutdown",
        [SUMMARY_END_EVICTED] = "evicted",
};

enum sum_kind { KIND_SMTP, KIND_DELIVERY };
enum sum_auth { AUTH_NONE, AUTH_OK, AUTH_FAILED };
enum sum_dir { DIR_NONE, DIR_INTERNAL, DIR_OUTBOUND };
/* delivery outcomes, worse is larger: the summary keeps the worst */
enum sum_class { CLASS_NONE, CLASS_DELIVERED, CLASS_DEFERRED, CLASS_BOUNCED, CLASS_FAILED };

static const char *const class_names[] = {
        [CLASS_NONE] = "unknown", [CLASS_DELIVERED] = "delivered", [CLASS_DEFERRED] = "deferred",
        [CLASS_BOUNCED] = "bounced", [CLASS_FAILED] = "failed",
};

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

/* ---- keys ---------------------------------------------------------------- */

int summary_keys_register(struct keys *keys)
{
        for (unsigned i = 0; i < SK__COUNT; i++) {
                int r = keys_intern(keys, sk_names[i], strlen(sk_names[i]));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int resolve_keys(struct summary *s, const struct keys *keys)
{
        unsigned k[SK__COUNT];
        struct event *ev;

        for (unsigned i = 0; i < SK__COUNT; i++) {
                int id = keys_find(keys, sk_names[i]);
                if (id < 0)
                        return -EINVAL;
                k[i] = (unsigned)id;
        }
        ev = event_new(keys);
        if (!ev)
                return keys->finished ? -ENOMEM : -EINVAL;
        event_free(s->ev);
        s->ev = ev;
        s->keys = keys;
        memcpy(s->k, k, sizeof(k));
        return 0;
}

int summary_set_keys(struct summary *s, const struct keys *keys)
{
        return resolve_keys(s, keys);
}

static int key_cmp(const void *a, const void *b)
{
        const struct sum_key *x = a, *y = b;

        if (x->kind != y->kind)
                return (int)x->kind - (int)y->kind;
        if (x->len != y->len)
                return (int)x->len - (int)y->len;
        return memcmp(x->id, y->id, x->len);
}

int summary_new(struct summary **ret, const struct keys *keys, const struct summary_cfg *cfg,
                summary_emit_fn fn, void *data)
{
        struct summary *s = calloc(1, sizeof(*s));
        int r;

        if (!s)
                return -ENOMEM;
        s->cfg = *cfg;
        if (s->cfg.max_open == 0)
                s->cfg.max_open = 1;
        s->fn = fn;
        s->data = data;
        TAILQ_INIT(&s->open[KIND_SMTP]);
        TAILQ_INIT(&s->open[KIND_DELIVERY]);
        TAILQ_INIT(&s->done);
        s->clock[KIND_SMTP] = s->clock[KIND_DELIVERY] = INT64_MIN;
        r = resolve_keys(s, keys);
        if (r < 0) {
                free(s);
                return r;
        }
        *ret = s;
        return 0;
}

static void sess_free(struct sum_sess *ss)
{
        free(ss->l.text);
        free(ss);
}

static void no_free(void *p)
{
        (void)p;        /* sessions are freed through the lists */
}

void summary_free(struct summary *s)
{
        struct sum_sess *ss;

        if (!s)
                return;
        tdestroy(s->root, no_free);
        for (int k = 0; k < 2; k++)
                while ((ss = TAILQ_FIRST(&s->open[k]))) {
                        TAILQ_REMOVE(&s->open[k], ss, link);
                        sess_free(ss);
                }
        while ((ss = TAILQ_FIRST(&s->done))) {
                TAILQ_REMOVE(&s->done, ss, link);
                sess_free(ss);
        }
        event_free(s->ev);
        free(s);
}

size_t summary_open_count(const struct summary *s)
{
        return s->nopen;
}

size_t summary_waiting_count(const struct summary *s)
{
        return s->ndone;
}

int64_t summary_clock_ms(const struct summary *s)
{
        return s->clock[KIND_SMTP] > s->clock[KIND_DELIVERY] ? s->clock[KIND_SMTP]
                                                             : s->clock[KIND_DELIVERY];
}

int64_t summary_idle_at_ms(const struct summary *s)
{
        const struct sum_sess *a = TAILQ_FIRST(&s->open[KIND_SMTP]);
        const struct sum_sess *b = TAILQ_FIRST(&s->open[KIND_DELIVERY]);
        int64_t at = INT64_MAX;

        if (a)
                at = a->end_ms + s->cfg.idle_ms;
        if (b && b->end_ms + s->cfg.idle_ms < at)
                at = b->end_ms + s->cfg.idle_ms;
        return at;
}

/* ---- session text -------------------------------------------------------- */

static struct sum_ref text_add_max(struct sum_lists *l, const char *p, size_t n, size_t max)
{
        struct sum_ref r = { 0, 0 };

        if (n > max)
                n = max;
        if (n == 0 || (size_t)l->text_len + n > SUMMARY_TEXT_MAX)
                return r;
        if ((size_t)l->text_len + n > l->text_cap) {
                size_t cap = l->text_cap ? l->text_cap : 256;
                char *np;

                while (cap < (size_t)l->text_len + n)
                        cap *= 2;
                if (cap > SUMMARY_TEXT_MAX)
                        cap = SUMMARY_TEXT_MAX;
                np = realloc(l->text, cap);
                if (!np)
                        return r;       /* the value is left out, like a full arena */
                l->text = np;
                l->text_cap = (uint16_t)cap;
        }
        memcpy(l->text + l->text_len, p, n);
        r.off = l->text_len;
        r.len = (uint16_t)n;
        l->text_len = (uint16_t)(l->text_len + n);
        return r;
}

static struct sum_ref text_add(struct sum_lists *l, const char *p, size_t n)
{
        return text_add_max(l, p, n, SUMMARY_STR_MAX);
}

static int ref_is(const struct sum_lists *l, struct sum_ref r, const char *p, size_t n)
{
        return r.len == n && memcmp(l->text + r.off, p, n) == 0;
}

/* Add p to a list unless it is there; returns 1 when it is new (counted
 * even when the list is full). */
static int list_add(struct sum_lists *l, struct sum_ref *list, uint8_t *nlist, unsigned max,
                    const char *p, size_t n)
{
        size_t cut = n > SUMMARY_STR_MAX ? SUMMARY_STR_MAX : n;

        for (unsigned i = 0; i < *nlist; i++)
                if (ref_is(l, list[i], p, cut))
                        return 0;
        if (*nlist < max) {
                struct sum_ref r = text_add(l, p, n);
                if (r.len)
                        list[(*nlist)++] = r;
        }
        return 1;
}

static void set_once(struct sum_lists *l, struct sum_ref *r, const char *p, size_t n)
{
        if (!r->len && p && n)
                *r = text_add(l, p, n);
}

static void copy_latest(char *dst, size_t cap, const char *p, size_t n)
{
        if (n >= cap)
                n = cap - 1;
        memcpy(dst, p, n);
        dst[n] = '\0';
}

/* ---- accounting one record ----------------------------------------------- */

static int str_is(const char *p, size_t n, const char *lit)
{
        size_t l = strlen(lit);

        return p && n == l && memcmp(p, lit, l) == 0;
}

static int has_ci(const char *p, size_t n, const char *word)
{
        size_t l = strlen(word);

        for (size_t i = 0; i + l <= n; i++) {
                size_t j = 0;
                while (j < l && (p[i + j] | 0x20) == word[j])
                        j++;
                if (j == l)
                        return 1;
        }
        return 0;
}

/* The word of "has completed (...)" as an outcome class. */
static enum sum_class classify(const char *w, size_t n)
{
        if (n == 9 && has_ci(w, n, "delivered"))
                return CLASS_DELIVERED;
        if (has_ci(w, n, "defer") || has_ci(w, n, "delay") || has_ci(w, n, "retry") ||
            has_ci(w, n, "queued") || has_ci(w, n, "greylist"))
                return CLASS_DEFERRED;
        if (has_ci(w, n, "bounce"))
                return CLASS_BOUNCED;
        return CLASS_FAILED;
}

static void add_values(struct summary *s, const struct event *ev, unsigned key,
                       struct sum_lists *l, struct sum_ref *list, uint8_t *nlist, unsigned max,
                       uint32_t *total)
{
        const struct field *v[8];
        unsigned n = event_get_all(ev, s->k[key], v, 8);

        for (unsigned i = 0; i < n && i < 8; i++)
                if ((v[i]->kind == VAL_STR || v[i]->kind == VAL_SAFE) && v[i]->len &&
                    list_add(l, list, nlist, max, v[i]->v.str, v[i]->len) && total)
                        (*total)++;
}

static void take_response(struct sum_sess *ss, const struct event *ev, int64_t code)
{
        struct sum_counts *c = &ss->c;
        const char *m;
        size_t ml;
        unsigned i;

        c->responses++;
        for (i = 0; i < c->ncodes && c->codes[i] != code; i++)
                ;
        if (i == c->ncodes && c->ncodes < SUMMARY_CODES_MAX)
                c->codes[c->ncodes++] = (uint16_t)code;
        /* the answer to QUIT says nothing about the session's outcome */
        if ((m = event_get_str(ev, K_MESSAGE, &ml)) && (code != 221 || !ss->t.rsp[0])) {
                if (ml >= 5 && (m[0] | 0x20) == 'r' && (m[1] | 0x20) == 's' &&
                    (m[2] | 0x20) == 'p' && m[3] == ':' && m[4] == ' ')
                        m += 5, ml -= 5;
                copy_latest(ss->t.rsp, sizeof(ss->t.rsp), m, ml);
        }
}

static void take_smtp(struct summary *s, struct sum_sess *ss, const struct event *ev,
                      const char *act, size_t alen)
{
        struct sum_counts *c = &ss->c;
        struct sum_lists *l = &ss->l;
        const char *p;
        size_t n;
        int64_t code;

        if ((p = event_get_str(ev, s->k[SK_SOURCE_IP], &n)))
                set_once(l, &l->ip, p, n);
        if (event_get_num(ev, s->k[SK_RSP_CODE], &code)) {
                take_response(ss, ev, code);
                if (code == 235) {
                        c->auth = AUTH_OK;
                } else if (code == 535 || code == 534) {
                        c->auth_failures++;
                        if (c->auth != AUTH_OK)
                                c->auth = AUTH_FAILED;
                } else if (code >= 400) {
                        c->rejected = 1;
                }
        }
        if (str_is(act, alen, "authentication-attempt") ||
            str_is(act, alen, "authentication-success")) {
                if ((p = event_get_str(ev, K_USER_NAME, &n)))
                        copy_latest(ss->t.user, sizeof(ss->t.user), p, n);
                if (str_is(act, alen, "authentication-success"))
                        c->auth = AUTH_OK;
        } else if (str_is(act, alen, "authentication-failure")) {
                c->auth_failures++;
                if (c->auth != AUTH_OK)
                        c->auth = AUTH_FAILED;
        }
        add_values(s, ev, SK_FROM, l, l->from, &l->nfrom, SUMMARY_FROM_MAX, NULL);
        add_values(s, ev, SK_TO, l, l->to, &l->nto, SUMMARY_TO_MAX, &l->to_total);
        if ((p = event_get_str(ev, s->k[SK_SPOOL_ID], &n)) &&
            list_add(l, l->spool, &l->nspool, SUMMARY_SPOOL_MAX, p, n))
                l->spool_total++;
        if ((p = event_get_str(ev, s->k[SK_MESSAGE_ID], &n)))
                set_once(l, &l->message_id, p, n);
        if ((p = event_get_str(ev, s->k[SK_BLOCK_REASON], &n)))
                set_once(l, &l->block, p, n);
}

static void take_delivery(struct summary *s, struct sum_sess *ss, const struct event *ev)
{
        struct sum_counts *c = &ss->c;
        struct sum_lists *l = &ss->l;
        const char *p;
        size_t n;
        int64_t v;

        add_values(s, ev, SK_FROM, l, l->from, &l->nfrom, SUMMARY_FROM_MAX, NULL);
        add_values(s, ev, SK_TO, l, l->to, &l->nto, SUMMARY_TO_MAX, &l->to_total);
        if ((p = event_get_str(ev, s->k[SK_DIRECTION], &n))) {
                if (str_is(p, n, "outbound"))
                        c->dir = DIR_OUTBOUND;
                else if (str_is(p, n, "internal") && c->dir == DIR_NONE)
                        c->dir = DIR_INTERNAL;
        }
        if ((p = event_get_str(ev, s->k[SK_DEST_IP], &n)))
                copy_latest(ss->t.dest_ip, sizeof(ss->t.dest_ip), p, n);
        if (event_get_num(ev, s->k[SK_RSP_CODE], &v))
                take_response(ss, ev, v);
        if ((p = event_get_str(ev, s->k[SK_DLV_STATUS], &n)) && n) {
                enum sum_class k = classify(p, n);
                copy_latest(ss->t.status, sizeof(ss->t.status), p, n);
                if (k > c->klass)
                        c->klass = (uint8_t)k;
        }
        if (event_get_num(ev, s->k[SK_SPOOL_FAILED], &v) && v)
                c->spool_failed = 1;
        if ((p = event_get_str(ev, s->k[SK_REASON], &n)))
                copy_latest(ss->t.reason, sizeof(ss->t.reason), p, n);
}

/* ---- building the summary event ------------------------------------------- */

static const char *smtp_status(const struct sum_sess *ss)
{
        if (ss->l.spool_total)
                return "accepted";
        if (ss->l.block.len)
                return "blocked";
        if (ss->c.auth == AUTH_FAILED)
                return "auth-failed";
        if (ss->c.rejected)
                return "rejected";
        return "no-mail";
}

static enum sum_class delivery_class(const struct sum_sess *ss)
{
        if (ss->c.klass == CLASS_NONE && ss->c.spool_failed)
                return CLASS_FAILED;
        return (enum sum_class)ss->c.klass;
}

static const char *ref_str(const struct sum_sess *ss, struct sum_ref r)
{
        return ss->l.text + r.off;
}

static void set_ref(struct event *ev, unsigned key, const struct sum_sess *ss, struct sum_ref r)
{
        if (r.len)
                event_set_str(ev, key, ref_str(ss, r), r.len);
}

static void set_cstr(struct event *ev, unsigned key, const char *p)
{
        if (p && p[0])
                event_set_str(ev, key, p, strlen(p));
}

static void set_date(struct event *ev, unsigned key, int64_t ms)
{
        char *ts = event_scratch(ev, 24);

        if (ts) {
                stamp_format_utc(ms, ts);
                event_set_safe(ev, key, ts, 24);
        }
}

/* "a, b and 3 more" from a list, into out. */
static size_t fmt_list(char *out, size_t cap, const struct sum_sess *ss, const struct sum_ref *list,
                       unsigned n, uint32_t total)
{
        size_t o = 0;

        out[0] = '\0';
        for (unsigned i = 0; i < n && o < cap; i++)
                o += (size_t)snprintf(out + o, cap - o, "%s%.*s", i ? ", " : "", (int)list[i].len,
                                      ref_str(ss, list[i]));
        if (total > n && o < cap)
                o += (size_t)snprintf(out + o, cap - o, " and %u more", (unsigned)(total - n));
        return o < cap ? o : cap - 1;
}

static void set_message(struct event *ev, const struct sum_sess *ss, const char *status,
                        enum summary_end why)
{
        char *m = event_scratch(ev, SUMMARY_MSG_MAX);
        char from[256], to[256];
        size_t o;

        if (!m)
                return;
        fmt_list(from, sizeof(from), ss, ss->l.from, ss->l.nfrom, ss->l.nfrom);
        fmt_list(to, sizeof(to), ss, ss->l.to, ss->l.nto, ss->l.to_total);
        if (ss->key.kind == KIND_SMTP) {
                char ids[128];

                fmt_list(ids, sizeof(ids), ss, ss->l.spool, ss->l.nspool, ss->l.spool_total);
                o = (size_t)snprintf(m, SUMMARY_MSG_MAX, "SMTP session %s from %.*s: ", ss->key.id,
                                     (int)ss->l.ip.len, ref_str(ss, ss->l.ip));
                if (ss->l.spool_total)
                        o += (size_t)snprintf(m + o, SUMMARY_MSG_MAX - o,
                                              "%u message%s accepted (%s) from %s to %s",
                                              (unsigned)ss->l.spool_total,
                                              ss->l.spool_total == 1 ? "" : "s", ids,
                                              from[0] ? from : "-", to[0] ? to : "-");
                else if (!strcmp(status, "auth-failed"))
                        o += (size_t)snprintf(m + o, SUMMARY_MSG_MAX - o,
                                              "authentication failed for %s (%s)",
                                              ss->t.user[0] ? ss->t.user : "-", ss->t.rsp);
                else
                        o += (size_t)snprintf(m + o, SUMMARY_MSG_MAX - o, "%s%s%s", status,
                                              ss->t.rsp[0] ? ", last answer " : "", ss->t.rsp);
        } else {
                o = (size_t)snprintf(m, SUMMARY_MSG_MAX, "Delivery %s from %s to %s: %s",
                                     ss->key.id, from[0] ? from : "-", to[0] ? to : "-",
                                     ss->t.status[0] ? ss->t.status : status);
                if (ss->t.rsp[0] && o < SUMMARY_MSG_MAX)
                        o += (size_t)snprintf(m + o, SUMMARY_MSG_MAX - o, ", last answer %s",
                                              ss->t.rsp);
        }
        if (o < SUMMARY_MSG_MAX)
                o += (size_t)snprintf(m + o, SUMMARY_MSG_MAX - o, "; %u record%s%s%s",
                                      (unsigned)ss->c.records, ss->c.records == 1 ? "" : "s",
                                      why == SUMMARY_END_CLOSED ? "" : ", cut short: ",
                                      why == SUMMARY_END_CLOSED ? "" : end_names[why]);
        if (o >= SUMMARY_MSG_MAX)
                o = SUMMARY_MSG_MAX - 1;
        event_set_str(ev, K_MESSAGE, m, o);
}

static const char *const level_names[] = {
        [SEV_ERR] = "error", [SEV_WARNING] = "warning", [SEV_NOTICE] = "notice",
        [SEV_INFO] = "info",
};

static void build_smtp(struct summary *s, struct event *ev, const struct sum_sess *ss,
                       const char **ret_status)
{
        const char *st = smtp_status(ss);

        event_set_safe(ev, K_EVENT_DATASET, "smartermail.smtp", 16);
        event_set_safe(ev, K_SM_LOG_TYPE, "smtp", 4);
        event_set_safe(ev, K_EVENT_ACTION, "smtp-session", 12);
        event_set_safe(ev, K_EVENT_CATEGORY, "email", 5);
        event_set_safe(ev, K_EVENT_CATEGORY, "network", 7);
        if (ss->c.auth != AUTH_NONE)
                event_set_safe(ev, K_EVENT_CATEGORY, "authentication", 14);
        event_set_safe(ev, K_EVENT_CATEGORY, "session", 7);
        event_set_safe(ev, s->k[SK_PROTOCOL], "smtp", 4);
        event_set_safe(ev, s->k[SK_DIRECTION], "inbound", 7);
        event_set_str(ev, s->k[SK_SESSION_ID], ss->key.id, ss->key.len);
        set_ref(ev, s->k[SK_SOURCE_IP], ss, ss->l.ip);
        set_ref(ev, K_RELATED_IP, ss, ss->l.ip);
        if (ss->l.nspool) {
                set_ref(ev, s->k[SK_SPOOL_ID], ss, ss->l.spool[0]);
                for (unsigned i = 0; i < ss->l.nspool; i++)
                        set_ref(ev, s->k[SK_SPOOL_IDS], ss, ss->l.spool[i]);
        }
        event_set_num(ev, s->k[SK_MESSAGES], ss->l.spool_total);
        set_ref(ev, s->k[SK_MESSAGE_ID], ss, ss->l.message_id);
        set_ref(ev, s->k[SK_BLOCK_REASON], ss, ss->l.block);
        if (ss->c.auth != AUTH_NONE)
                set_cstr(ev, s->k[SK_AUTH_OUTCOME], ss->c.auth == AUTH_OK ? "success" : "failure");
        if (ss->c.auth_failures)
                event_set_num(ev, s->k[SK_AUTH_FAILURES], ss->c.auth_failures);
        if (!strcmp(st, "accepted")) {
                event_set_safe(ev, K_EVENT_OUTCOME, "success", 7);
        } else if (strcmp(st, "no-mail")) {
                event_set_safe(ev, K_EVENT_OUTCOME, "failure", 7);
                ev->severity = SEV_WARNING;
        } else {
                event_set_safe(ev, K_EVENT_OUTCOME, "unknown", 7);
        }
        *ret_status = st;
}

static void build_delivery(struct summary *s, struct event *ev, const struct sum_sess *ss,
                           const char **ret_status)
{
        enum sum_class k = delivery_class(ss);

        event_set_safe(ev, K_EVENT_DATASET, "smartermail.delivery", 20);
        event_set_safe(ev, K_SM_LOG_TYPE, "delivery", 8);
        event_set_safe(ev, K_EVENT_ACTION, "delivery", 8);
        event_set_safe(ev, K_EVENT_CATEGORY, "email", 5);
        event_set_safe(ev, K_EVENT_CATEGORY, "session", 7);
        event_set_str(ev, s->k[SK_DELIVERY_ID], ss->key.id, ss->key.len);
        event_set_str(ev, s->k[SK_LOCAL_ID], ss->key.id, ss->key.len);
        event_set_str(ev, s->k[SK_SPOOL_ID], ss->key.id, ss->key.len);
        if (ss->c.dir == DIR_OUTBOUND) {
                event_set_safe(ev, s->k[SK_DIRECTION], "outbound", 8);
                event_set_safe(ev, s->k[SK_PROTOCOL], "smtp", 4);
        } else if (ss->c.dir == DIR_INTERNAL) {
                event_set_safe(ev, s->k[SK_DIRECTION], "internal", 8);
        }
        set_cstr(ev, s->k[SK_DEST_IP], ss->t.dest_ip);
        set_cstr(ev, K_RELATED_IP, ss->t.dest_ip);
        set_cstr(ev, s->k[SK_DLV_STATUS], ss->t.status);
        set_cstr(ev, s->k[SK_REASON], ss->t.reason);
        switch (k) {
        case CLASS_DELIVERED:
                event_set_safe(ev, K_EVENT_OUTCOME, "success", 7);
                break;
        case CLASS_DEFERRED:
                event_set_safe(ev, K_EVENT_OUTCOME, "unknown", 7);
                ev->severity = SEV_NOTICE;
                break;
        case CLASS_BOUNCED:
        case CLASS_FAILED:
                event_set_safe(ev, K_EVENT_OUTCOME, "failure", 7);
                ev->severity = SEV_ERR;
                break;
        case CLASS_NONE:
                break;
        }
        *ret_status = class_names[k];
}

static void build(struct summary *s, const struct sum_sess *ss)
{
        struct event *ev = s->ev;
        const char *status = "";
        enum summary_end why = (enum summary_end)ss->why;

        event_reset(ev);
        ev->ts_ms = ss->start_ms;
        ev->offset = ev->end_offset = 0;
        ev->seq = 0;
        set_date(ev, K_TIMESTAMP, ss->start_ms);
        event_set_safe(ev, K_EVENT_MODULE, "smartermail", 11);
        event_set_safe(ev, K_EVENT_KIND, "event", 5);
        event_set_safe(ev, K_EVENT_TYPE, "end", 3);
        set_cstr(ev, K_EVENT_TIMEZONE, s->cfg.zone);
        set_cstr(ev, K_HOST_NAME, s->cfg.host_name);
        set_ref(ev, K_LOG_FILE_PATH, ss, ss->l.path);
        if (ss->key.kind == KIND_SMTP)
                build_smtp(s, ev, ss, &status);
        else
                build_delivery(s, ev, ss, &status);
        set_date(ev, s->k[SK_START], ss->start_ms);
        set_date(ev, s->k[SK_END], ss->end_ms);
        event_set_num(ev, s->k[SK_DURATION], (ss->end_ms - ss->start_ms) * 1000000);
        for (unsigned i = 0; i < ss->l.nfrom; i++)
                set_ref(ev, s->k[SK_FROM], ss, ss->l.from[i]);
        for (unsigned i = 0; i < ss->l.nto; i++)
                set_ref(ev, s->k[SK_TO], ss, ss->l.to[i]);
        if (ss->l.to_total)
                event_set_num(ev, s->k[SK_RECIPIENT_COUNT], ss->l.to_total);
        if (ss->t.user[0]) {
                set_cstr(ev, K_USER_NAME, ss->t.user);
                set_cstr(ev, K_RELATED_USER, ss->t.user);
        }
        for (unsigned i = 0; i < ss->c.ncodes; i++)
                event_set_num(ev, s->k[SK_CODES], ss->c.codes[i]);
        event_set_num(ev, s->k[SK_RESPONSE_COUNT], ss->c.responses);
        set_cstr(ev, s->k[SK_LAST_RESPONSE], ss->t.rsp);
        set_cstr(ev, s->k[SK_STATUS], status);
        event_set_num(ev, s->k[SK_RECORDS], ss->c.records);
        event_set_bool(ev, s->k[SK_PARTIAL], why != SUMMARY_END_CLOSED);
        set_cstr(ev, s->k[SK_END_REASON], end_names[why]);
        set_message(ev, ss, status, why);
        event_set_safe(ev, K_LOG_LEVEL, level_names[ev->severity], strlen(level_names[ev->severity]));
        event_set_num(ev, K_EVENT_SEVERITY, ev->severity);
}

/* ---- the table ------------------------------------------------------------ */

/* Hand the finished sessions to the callback, oldest first. */
static int emit_done(struct summary *s)
{
        struct sum_sess *ss;

        while ((ss = TAILQ_FIRST(&s->done))) {
                int r;

                build(s, ss);
                r = s->fn ? s->fn(s->ev, s->data) : 0;
                if (r == -EAGAIN)
                        return -EAGAIN;
                TAILQ_REMOVE(&s->done, ss, link);
                s->ndone--;
                sess_free(ss);
        }
        return 0;
}

int summary_retry(struct summary *s)
{
        return emit_done(s);
}

static void finish(struct summary *s, struct sum_sess *ss, enum summary_end why)
{
        tdelete(&ss->key, &s->root, key_cmp);
        TAILQ_REMOVE(&s->open[ss->key.kind], ss, link);
        s->nopen--;
        ss->why = (uint8_t)why;
        /* a callback that keeps refusing must not grow memory past the cap:
         * the oldest waiting summary is dropped */
        if (s->ndone >= s->cfg.max_open) {
                struct sum_sess *old = TAILQ_FIRST(&s->done);
                TAILQ_REMOVE(&s->done, old, link);
                s->ndone--;
                sess_free(old);
        }
        TAILQ_INSERT_TAIL(&s->done, ss, link);
        s->ndone++;
}

static struct sum_sess *lookup(struct summary *s, uint8_t kind, const char *id, size_t n,
                               int64_t ts)
{
        struct sum_key probe;
        struct sum_sess *ss;
        void *node;

        if (n == 0 || n > SUMMARY_ID_MAX)
                return NULL;
        probe.kind = kind;
        probe.len = (uint8_t)n;
        memcpy(probe.id, id, n);
        probe.id[n] = '\0';
        node = tfind(&probe, &s->root, key_cmp);
        if (node) {
                ss = *(struct sum_sess **)node;
                TAILQ_REMOVE(&s->open[kind], ss, link);
                TAILQ_INSERT_TAIL(&s->open[kind], ss, link);
                ss->touched = ++s->records;
                return ss;
        }
        if (s->nopen >= s->cfg.max_open) {
                /* the one whose last record is oldest, of either kind */
                struct sum_sess *a = TAILQ_FIRST(&s->open[KIND_SMTP]);
                struct sum_sess *b = TAILQ_FIRST(&s->open[KIND_DELIVERY]);
                finish(s, !b || (a && a->touched < b->touched) ? a : b, SUMMARY_END_EVICTED);
        }
        ss = calloc(1, sizeof(*ss));
        if (!ss)
                return NULL;
        ss->key = probe;
        ss->start_ms = ss->end_ms = ts;
        node = tsearch(&ss->key, &s->root, key_cmp);
        if (!node) {
                free(ss);
                return NULL;
        }
        TAILQ_INSERT_TAIL(&s->open[kind], ss, link);
        ss->touched = ++s->records;
        s->nopen++;
        return ss;
}

/* A session is idle when its last record is older than now - idle. The
 * head is the least recently touched; records written a little out of
 * order may leave a later one idle longer, which the next call catches. */
static void expire_kind(struct summary *s, int kind, int64_t now_ms)
{
        struct sum_sess *ss;

        while ((ss = TAILQ_FIRST(&s->open[kind])) && now_ms != INT64_MIN &&
               ss->end_ms < now_ms - s->cfg.idle_ms)
                finish(s, ss, SUMMARY_END_IDLE);
}

void summary_add(struct summary *s, const struct event *ev)
{
        const char *lt, *id, *act, *p;
        size_t ltl, idl, al = 0, n;
        struct sum_sess *ss;
        uint8_t kind;
        int closes;

        lt = event_get_str(ev, K_SM_LOG_TYPE, &ltl);
        if (str_is(lt, ltl, "smtp")) {
                kind = KIND_SMTP;
                id = event_get_str(ev, s->k[SK_SESSION_ID], &idl);
        } else if (str_is(lt, ltl, "delivery")) {
                kind = KIND_DELIVERY;
                id = event_get_str(ev, s->k[SK_DELIVERY_ID], &idl);
        } else {
                return;
        }
        if (!id || !(ss = lookup(s, kind, id, idl, ev->ts_ms))) {
                emit_done(s);
                return;
        }
        act = event_get_str(ev, K_EVENT_ACTION, &al);
        ss->c.records++;
        if (ev->ts_ms < ss->start_ms)
                ss->start_ms = ev->ts_ms;       /* threads write a little out of order */
        if (ev->ts_ms > ss->end_ms)
                ss->end_ms = ev->ts_ms;
        if (!ss->l.path.len && (p = event_get_str(ev, K_LOG_FILE_PATH, &n)))
                ss->l.path = text_add_max(&ss->l, p, n, SUMMARY_TEXT_MAX / 2);
        if (kind == KIND_SMTP) {
                take_smtp(s, ss, ev, act, al);
                closes = str_is(act, al, "connection-closed");
        } else {
                take_delivery(s, ss, ev);
                closes = str_is(act, al, "delivery-finished");
        }
        if (closes)
                finish(s, ss, SUMMARY_END_CLOSED);
        if (ev->ts_ms > s->clock[kind])
                s->clock[kind] = ev->ts_ms;
        expire_kind(s, kind, s->clock[kind]);
        emit_done(s);
}

void summary_expire(struct summary *s, int64_t now_ms)
{
        expire_kind(s, KIND_SMTP, now_ms);
        expire_kind(s, KIND_DELIVERY, now_ms);
        emit_done(s);
}

void summary_flush_all(struct summary *s, enum summary_end why)
{
        struct sum_sess *ss;

        /* oldest first, across both kinds */
        for (;;) {
                struct sum_sess *a = TAILQ_FIRST(&s->open[KIND_SMTP]);
                struct sum_sess *b = TAILQ_FIRST(&s->open[KIND_DELIVERY]);

                ss = !b || (a && a->touched < b->touched) ? a : b;
                if (!ss)
                        break;
                finish(s, ss, why);
        }
        emit_done(s);
}
