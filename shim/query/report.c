/* SPDX-License-Identifier: MIT */
/* The report: every record of the chosen files goes through norm_record
 * and the summary table, as in parse; the report counts from the record
 * events (response codes, IMAP/POP/webmail login failures, IDS blocks) and
 * from the summaries (messages, deliveries, SMTP authentication, senders,
 * recipients, durations). Counting is by key in tally.c; only the top
 * lists and the slowest deliveries are kept, so memory does not grow with
 * the logs beyond the distinct keys. */
#include "query/report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/exit.h"
#include "query/report_int.h"
#include "query/scan.h"
#include "core/stamp.h"

/* Fields the report reads. */
enum rk {
        RK_ACTION, RK_OUTCOME, RK_LOG_TYPE, RK_SOURCE_IP, RK_USER, RK_CODE, RK_STATUS,
        RK_MESSAGES, RK_FROM, RK_TO, RK_AUTH_FAILURES, RK_START, RK_DURATION, RK_DIRECTION,
        RK_DLV_ID, RK_DLV_STATUS, RK_PARTIAL, RK_BLOCK, RK_RULE, RK__COUNT
};

static const char *const rk_names[RK__COUNT] = {
        [RK_ACTION] = "event.action", [RK_OUTCOME] = "event.outcome",
        [RK_LOG_TYPE] = "smartermail.log_type", [RK_SOURCE_IP] = "source.ip",
        [RK_USER] = "user.name", [RK_CODE] = "smartermail.smtp.response.code",
        [RK_STATUS] = "smartermail.summary.status", [RK_MESSAGES] = "smartermail.summary.messages",
        [RK_FROM] = "email.from.address", [RK_TO] = "email.to.address",
        [RK_AUTH_FAILURES] = "smartermail.summary.auth_failures", [RK_START] = "event.start",
        [RK_DURATION] = "event.duration", [RK_DIRECTION] = "network.direction",
        [RK_DLV_ID] = "smartermail.delivery.id", [RK_DLV_STATUS] = "smartermail.delivery.status",
        [RK_PARTIAL] = "smartermail.summary.partial", [RK_BLOCK] = "smartermail.block.reason",
        [RK_RULE] = "smartermail.rule",
};

static const struct {
        const char *name, *title, *what;
} list_info[RL__COUNT] = {
        [RL_SENDERS] = { "top_senders", "Top senders (messages received)", "sender" },
        [RL_RECIPIENTS] = { "top_recipients", "Top recipients (messages received)", "recipient" },
        [RL_FAIL_DOMAINS] = { "top_failed_domains",
                              "Top remote domains by failed deliveries (bounced, failed, deferred)",
                              "domain" },
        [RL_AUTH_IP] = { "auth_failures_by_ip", "Authentication failures by IP", "IP" },
        [RL_AUTH_USER] = { "auth_failures_by_user", "Authentication failures by user", "user" },
        [RL_IDS_IP] = { "ids_blocks_by_ip", "IDS blocks by IP", "IP" },
        [RL_BLOCKS] = { "smtp_blocks", "SMTP sessions blocked, by reason", "reason" },
        [RL_CODES_IN] = { "response_codes_inbound", "Response codes given (SMTP log)", "code" },
        [RL_CODES_OUT] = { "response_codes_outbound", "Response codes received (delivery log)",
                           "code" },
};

struct report {
        struct scan s;
        const struct shim_opts *o;
        struct summary *sum;
        unsigned k[RK__COUNT];
        struct tally *t[RL__COUNT];
        struct tally *days;
        struct report_data d;
        struct report_slow *slow;       /* the top o->top, unsorted */
        size_t nslow;
        int oom;
};

/* ---- reading events ---------------------------------------------------------- */

static const char *str(const struct report *rp, const struct event *ev, enum rk k, size_t *n)
{
        return event_get_str(ev, rp->k[k], n);
}

static int is(const char *p, size_t n, const char *lit)
{
        return p && n == strlen(lit) && memcmp(p, lit, n) == 0;
}

static void count(struct report *rp, enum report_list_id l, const char *p, size_t n, uint64_t by)
{
        if (p && n && by && tally_add(rp->t[l], p, n, by) < 0)
                rp->oom = 1;
}

static int64_t num(const struct report *rp, const struct event *ev, enum rk k)
{
        int64_t v = 0;

        event_get_num(ev, rp->k[k], &v);
        return v;
}

/* Local time of a summary's event.start ("...Z" UTC). */
static int local_tm(const struct report *rp, const struct event *ev, struct tm *tm)
{
        size_t n;
        const char *p = str(rp, ev, RK_START, &n);
        int y, mo, d, h, mi, s;
        char t[32];
        time_t sec;

        if (!p || n >= sizeof(t))
                return -1;
        memcpy(t, p, n);
        t[n] = '\0';
        if (sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) != 6)
                return -1;
        sec = (time_t)(stamp_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s);
        return stamp_local_tm(sec, tm) < 0 ? -1 : 0;
}

/* ---- per record -------------------------------------------------------------- */

static void take_record(struct report *rp, const struct event *ev)
{
        size_t an, ln, on, n;
        const char *act = str(rp, ev, RK_ACTION, &an);
        const char *lt = str(rp, ev, RK_LOG_TYPE, &ln);
        const char *out = str(rp, ev, RK_OUTCOME, &on);
        const char *p;
        int64_t code;

        rp->d.tot.records++;
        if (is(act, an, "smtp-response") && event_get_num(ev, rp->k[RK_CODE], &code)) {
                char c[24];
                int cl = snprintf(c, sizeof(c), "%" PRId64, code);

                count(rp, is(lt, ln, "delivery") ? RL_CODES_OUT : RL_CODES_IN, c, (size_t)cl, 1);
        } else if (is(act, an, "login") && is(out, on, "failure")) {
                /* IMAP, POP, webmail; SMTP AUTH is counted from its session */
                rp->d.tot.auth_failures++;
                if ((p = str(rp, ev, RK_SOURCE_IP, &n)))
                        count(rp, RL_AUTH_IP, p, n, 1);
                if ((p = str(rp, ev, RK_USER, &n)))
                        count(rp, RL_AUTH_USER, p, n, 1);
        } else if (is(act, an, "ip-blocked")) {
                rp->d.tot.ids_blocks++;
                if ((p = str(rp, ev, RK_SOURCE_IP, &n)))
                        count(rp, RL_IDS_IP, p, n, 1);
        }
}

/* ---- per summary ------------------------------------------------------------- */

static void each_value(struct report *rp, const struct event *ev, enum rk k,
                       enum report_list_id l, uint64_t by, int domain)
{
        const struct field *v[16];
        unsigned n = event_get_all(ev, rp->k[k], v, 16);

        for (unsigned i = 0; i < n && i < 16; i++) {
                const char *p = v[i]->v.str;
                size_t len = v[i]->len;

                if (v[i]->kind != VAL_STR && v[i]->kind != VAL_SAFE)
                        continue;
                if (domain) {
                        const char *at = memchr(p, '@', len);
                        if (!at)
                                continue;
                        len -= (size_t)(at + 1 - p);
                        p = at + 1;
                }
                count(rp, l, p, len, by);
        }
}

static void take_smtp(struct report *rp, const struct event *ev)
{
        size_t n, un, sn;
        int64_t msgs = num(rp, ev, RK_MESSAGES), af = num(rp, ev, RK_AUTH_FAILURES);
        const char *st = str(rp, ev, RK_STATUS, &sn), *p;
        const struct field *from[2];
        struct tm tm;

        rp->d.tot.smtp_sessions++;
        rp->d.tot.received += (uint64_t)msgs;
        if (msgs > 0) {
                /* one sender: each message is its; several: one each */
                unsigned nfrom = event_get_all(ev, rp->k[RK_FROM], from, 2);
                each_value(rp, ev, RK_FROM, RL_SENDERS, nfrom == 1 ? (uint64_t)msgs : 1, 0);
                each_value(rp, ev, RK_TO, RL_RECIPIENTS, 1, 0);
                if (local_tm(rp, ev, &tm) == 0) {
                        char day[16];
                        int dl = snprintf(day, sizeof(day), "%04d.%02d.%02d", tm.tm_year + 1900,
                                          tm.tm_mon + 1, tm.tm_mday);

                        rp->d.hour_recv[tm.tm_hour] += (uint64_t)msgs;
                        if (tally_add(rp->days, day, (size_t)dl, (uint64_t)msgs) < 0)
                                rp->oom = 1;
                }
        }
        if (is(st, sn, "blocked")) {
                rp->d.tot.blocked_sessions++;
                if ((p = str(rp, ev, RK_BLOCK, &n)))
                        count(rp, RL_BLOCKS, p, n, 1);
        } else if (is(st, sn, "auth-failed")) {
                rp->d.tot.auth_failed_sessions++;
        } else if (is(st, sn, "rejected")) {
                rp->d.tot.rejected_sessions++;
        }
        if (af > 0) {
                rp->d.tot.auth_failures += (uint64_t)af;
                if ((p = str(rp, ev, RK_SOURCE_IP, &n)))
                        count(rp, RL_AUTH_IP, p, n, (uint64_t)af);
                if ((p = str(rp, ev, RK_USER, &un)))
                        count(rp, RL_AUTH_USER, p, un, (uint64_t)af);
        }
}

static void keep_slow(struct report *rp, const struct event *ev, int64_t ms)
{
        struct report_slow *sl;
        const struct field *v[1];
        size_t low = 0, n;
        const char *p;
        struct tm tm;

        if (rp->nslow == rp->o->top) {
                for (size_t i = 1; i < rp->nslow; i++)
                        if (rp->slow[i].ms < rp->slow[low].ms)
                                low = i;
                if (rp->slow[low].ms >= ms)
                        return;
                sl = &rp->slow[low];
        } else {
                sl = &rp->slow[rp->nslow++];
        }
        memset(sl, 0, sizeof(*sl));
        sl->ms = ms;
        if ((p = str(rp, ev, RK_DLV_ID, &n)))
                snprintf(sl->id, sizeof(sl->id), "%.*s", (int)n, p);
        if ((p = str(rp, ev, RK_DLV_STATUS, &n)))
                snprintf(sl->status, sizeof(sl->status), "%.*s", (int)n, p);
        if (event_get_all(ev, rp->k[RK_FROM], v, 1))
                snprintf(sl->from, sizeof(sl->from), "%.*s", (int)v[0]->len, v[0]->v.str);
        if (event_get_all(ev, rp->k[RK_TO], v, 1))
                snprintf(sl->to, sizeof(sl->to), "%.*s", (int)v[0]->len, v[0]->v.str);
        if (local_tm(rp, ev, &tm) == 0)
                strftime(sl->when, sizeof(sl->when), "%Y.%m.%d %H:%M:%S", &tm);
}

static void take_delivery(struct report *rp, const struct event *ev)
{
        size_t sn, dn;
        const char *st = str(rp, ev, RK_STATUS, &sn);
        const char *dir = str(rp, ev, RK_DIRECTION, &dn);
        enum report_class c = RC_UNKNOWN;
        struct tm tm;

        for (int i = 0; i < RC__COUNT; i++)
                if (is(st, sn, report_class_names[i]))
                        c = (enum report_class)i;
        rp->d.tot.deliveries++;
        rp->d.tot.klass[c]++;
        if (c == RC_DELIVERED && local_tm(rp, ev, &tm) == 0)
                rp->d.hour_dlv[tm.tm_hour]++;
        if ((c == RC_BOUNCED || c == RC_FAILED || c == RC_DEFERRED) && is(dir, dn, "outbound"))
                each_value(rp, ev, RK_TO, RL_FAIL_DOMAINS, 1, 1);
        if (!num(rp, ev, RK_PARTIAL))
                keep_slow(rp, ev, num(rp, ev, RK_DURATION) / 1000000);
}

static int on_summary(struct event *ev, void *data)
{
        struct report *rp = data;
        size_t n;
        const char *lt = str(rp, ev, RK_LOG_TYPE, &n);

        if (is(lt, n, "smtp"))
                take_smtp(rp, ev);
        else
                take_delivery(rp, ev);
        return 0;
}

/* ---- reading ------------------------------------------------------------------- */

static int read_file(void *arg, const struct logset_file *f)
{
        struct report *rp = arg;
        struct scan *s = &rp->s;
        struct scan_file sf;
        struct frame_record rec;
        size_t roll;

        if (scan_open(s, &sf, f) < 0)
                return -EIO;
        rp->d.tot.files++;
        roll = logset_rollover(sf.d.p, sf.d.len);
        reader_buffer(s->rd, sf.d.p, sf.d.len, 0);
        while (reader_next(s->rd, &rec)) {
                if (!scan_in_range(s, &sf, rec.offset))
                        continue;
                norm_record(&s->p.norm, &sf.nf[rec.offset >= roll], &rec, s->p.ev);
                take_record(rp, s->p.ev);
                summary_add(rp->sum, s->p.ev);
        }
        summary_flush_all(rp->sum, SUMMARY_END_INPUT);
        scan_close(&sf);
        return 0;
}

/* ---- the command ------------------------------------------------------------------ */

static int slow_cmp(const void *a, const void *b)
{
        const struct report_slow *x = a, *y = b;

        if (x->ms != y->ms)
                return x->ms > y->ms ? -1 : 1;
        return strcmp(x->id, y->id);
}

static int day_cmp(const void *a, const void *b)
{
        return strcmp(((const struct tally_row *)a)->key, ((const struct tally_row *)b)->key);
}

static void range_text(struct report *rp)
{
        char a[24] = "oldest", b[24] = "newest";
        int y, mo, d;

        if (rp->s.from_ms != INT64_MIN) {
                int64_t ms = rp->s.from_ms;
                stamp_civil_from_days(ms / 86400000, &y, &mo, &d);
                snprintf(a, sizeof(a), "%04d.%02d.%02d %02d:%02d", y, mo, d,
                         (int)(ms / 3600000 % 24), (int)(ms / 60000 % 60));
        }
        if (rp->s.to_ms != INT64_MAX) {
                int64_t ms = rp->s.to_ms;
                stamp_civil_from_days(ms / 86400000, &y, &mo, &d);
                snprintf(b, sizeof(b), "%04d.%02d.%02d %02d:%02d", y, mo, d,
                         (int)(ms / 3600000 % 24), (int)(ms / 60000 % 60));
        }
        snprintf(rp->d.range, sizeof(rp->d.range), "%s .. %s", a, b);
}

/* Sorted top lists into rp->d (rows allocated here). */
static int finish(struct report *rp)
{
        size_t top = rp->o->top;

        for (int l = 0; l < RL__COUNT; l++) {
                struct report_list *L = &rp->d.lists[l];

                L->name = list_info[l].name;
                L->title = list_info[l].title;
                L->what = list_info[l].what;
                L->rows = calloc(top, sizeof(*L->rows));
                if (!L->rows)
                        return -ENOMEM;
                L->n = tally_top(rp->t[l], L->rows, top);
                L->total = tally_sum(rp->t[l]);
                L->distinct = tally_keys(rp->t[l]);
        }
        rp->d.days = calloc(REPORT_DAYS_MAX, sizeof(*rp->d.days));
        if (!rp->d.days)
                return -ENOMEM;
        rp->d.ndays = tally_top(rp->days, rp->d.days, REPORT_DAYS_MAX);
        qsort(rp->d.days, rp->d.ndays, sizeof(*rp->d.days), day_cmp);
        qsort(rp->slow, rp->nslow, sizeof(*rp->slow), slow_cmp);
        rp->d.slow = rp->slow;
        rp->d.nslow = rp->nslow;
        return 0;
}

static int setup(struct report *rp, const struct shim_opts *o, int argc, char **argv)
{
        struct summary_cfg cfg;
        int st = scan_setup_events(&rp->s, o, argc, argv);

        if (st)
                return st;
        for (int i = 0; i < RK__COUNT; i++) {
                int id = keys_find(rp->s.p.keys, rk_names[i]);
                if (id < 0) {
                        log_msg(LOG_LVL_ERR, "report: the mappings in %s do not set %s",
                                rp->s.p.mappings_dir, rk_names[i]);
                        return SHIM_EXIT_USAGE;
                }
                rp->k[i] = (unsigned)id;
        }
        snprintf(rp->d.zone, sizeof(rp->d.zone), "%s", rp->s.p.tz.zone[0] ? rp->s.p.tz.zone
                                                                          : "system");
        /* a range of days at once: room for ten times the sessions */
        cfg = setup_summary_cfg(&rp->s.p, o);
        cfg.max_open = SUMMARY_MAX_OPEN_DEFAULT * 10;
        cfg.idle_ms = (int64_t)SUMMARY_IDLE_S_DEFAULT * 1000;
        if (summary_new(&rp->sum, rp->s.p.keys, &cfg, on_summary, rp) < 0)
                return SHIM_EXIT_FAIL;
        for (int l = 0; l < RL__COUNT; l++)
                if (!(rp->t[l] = tally_new()))
                        return SHIM_EXIT_FAIL;
        rp->days = tally_new();
        rp->slow = calloc(o->top, sizeof(*rp->slow));
        rp->s.rd = reader_new(o->max_record_bytes, 0);
        if (!rp->days || !rp->slow || !rp->s.rd)
                return SHIM_EXIT_FAIL;
        range_text(rp);
        return 0;
}

int report_main(const struct shim_opts *o, int argc, char **argv, FILE *out)
{
        struct report *rp = calloc(1, sizeof(*rp));
        int status;

        if (!rp)
                return SHIM_EXIT_FAIL;
        rp->o = o;
        rp->s.o = o;
        rp->s.out = out;
        status = setup(rp, o, argc, argv);
        if (status)
                goto out;
        status = scan_each(&rp->s, argc, read_file, rp);
        if (finish(rp) < 0 || rp->oom) {
                log_msg(LOG_LVL_ERR, "report: out of memory");
                status = SHIM_EXIT_FAIL;
                goto out;
        }
        if (o->json) {
                if (report_json_write(out, &rp->d) < 0)
                        status = SHIM_EXIT_FAIL;
        } else {
                report_text_write(out, &rp->d);
        }
        if (o->html[0] && report_html_write(&rp->d, o->html) < 0)
                status = SHIM_EXIT_FAIL;
        if (fflush(out) != 0) {
                log_msg(LOG_LVL_ERR, "writing the report: %s", strerror(errno));
                status = SHIM_EXIT_FAIL;
        }
out:
        for (int l = 0; l < RL__COUNT; l++) {
                tally_free(rp->t[l]);
                free(rp->d.lists[l].rows);
        }
        tally_free(rp->days);
        free(rp->d.days);
        free(rp->slow);
        summary_free(rp->sum);
        scan_done(&rp->s);
        free(rp);
        return status;
}
