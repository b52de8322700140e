/* SPDX-License-Identifier: MIT */
/* Record -> event. Times: an on-disk line has only a time of day, so the
 * date comes from the file name and moves forward when the time of day
 * falls back by more than twelve hours (a file running past midnight). In
 * the repeated hour of a fall-back the first instant is taken, unless that
 * would put the record more than FALLBACK_SLACK_MS before the one above it
 * (the clock has then already gone back). */
#include "core/normalize.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/logname.h"

static const char tag_unparsed[] = "smartermail_unparsed";
static const char tag_bad_time[] = "smartermail_bad_timestamp";
static const char flag_multiline[] = "multiline";
static const char flag_truncated[] = "truncated";

#define STR(s) (s), (sizeof(s) - 1)

/* How far a record may step back in time and still be read in the first
 * instance of a repeated hour: threads write a little out of order. The two
 * instances are an hour apart, so a larger slack would send records logged
 * more than (1 h - slack) after the clock went back to the first one. */
#define FALLBACK_SLACK_MS (60 * 1000)

int norm_name_info(const char *path, char *type, size_t type_len, int *y, int *mo, int *d)
{
        struct logname ln;

        if (logname_parse(path, &ln) < 0 || ln.zipped || strlen(ln.type) >= type_len)
                return -EINVAL;
        memcpy(type, ln.type, strlen(ln.type) + 1);
        *y = ln.y;
        *mo = ln.mo;
        *d = ln.d;
        return 0;
}

void norm_file_init(struct norm_file *nf, const struct norm *n, const char *path,
                    const char *type, int has_date, int y, int mo, int d)
{
        size_t i, p;

        memset(nf, 0, sizeof(*nf));
        nf->path = path;
        snprintf(nf->type, sizeof(nf->type), "%s", type && type[0] ? type : "unknown");
        nf->map = mapping_for_type(n->maps, nf->type);
        nf->log_type = mapping_log_type(nf->map);
        if (!nf->log_type)
                nf->log_type = nf->type;
        p = (size_t)snprintf(nf->dataset, sizeof(nf->dataset), "smartermail.");
        for (i = 0; nf->log_type[i] && p + 1 < sizeof(nf->dataset); i++) {
                char c = nf->log_type[i];
                nf->dataset[p++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        nf->dataset[p] = '\0';
        nf->dataset_len = p;
        nf->path_len = path ? strlen(path) : 0;
        nf->zone_len = strlen(n->ctx.tz->zone);
        nf->host_len = strlen(n->host_name);
        nf->log_type_len = strlen(nf->log_type);
        /* the file's constant texts: escaped per event only if they must be */
        nf->set_text = event_text_safe(nf->dataset, nf->dataset_len) &&
                       event_text_safe(nf->path ? nf->path : "", nf->path_len) &&
                       event_text_safe(n->ctx.tz->zone, nf->zone_len) &&
                       event_text_safe(n->host_name, nf->host_len) &&
                       event_text_safe(nf->log_type, nf->log_type_len)
                       ? event_set_safe : event_set_str;
        nf->has_day = has_date;
        if (has_date)
                nf->day = stamp_days_from_civil(y, mo, d);
        nf->last_tod = -1;
        nf->last_ms = INT64_MIN;
}

/* UTC milliseconds of a parsed stamp, or INT64_MIN when it cannot be had. */
static int64_t record_time(struct norm *n, struct norm_file *nf, const struct stamp *st)
{
        int64_t day, local, first, second;
        int tod;

        if (!st->valid)
                return INT64_MIN;
        tod = st->h * 3600 + st->mi * 60 + st->s;
        if (st->has_date) {
                day = stamp_days_from_civil(st->y, st->mo, st->d);
        } else {
                if (!nf->has_day)
                        return INT64_MIN;
                if (nf->last_tod >= 0 && tod + 12 * 3600 < nf->last_tod)
                        nf->day++;
                nf->last_tod = tod;
                day = nf->day;
        }
        local = day * 86400 + tod;
        tz_local_to_utc(n->ctx.tz, local, &first, &second);
        if (first != second && nf->last_ms != INT64_MIN &&
            first * 1000 + st->ms < nf->last_ms - FALLBACK_SLACK_MS)
                first = second;
        return first * 1000 + st->ms;
}

static void set_common(struct norm *n, struct norm_file *nf, const struct frame_record *rec,
                       struct event *ev)
{
        event_set_safe(ev, K_EVENT_MODULE, STR("smartermail"));
        nf->set_text(ev, K_EVENT_DATASET, nf->dataset, nf->dataset_len);
        event_set_safe(ev, K_EVENT_KIND, STR("event"));
        nf->set_text(ev, K_EVENT_TIMEZONE, n->ctx.tz->zone, nf->zone_len);
        if (n->keep_original)
                event_set_str(ev, K_EVENT_ORIGINAL, rec->data, rec->len);
        if (nf->path)
                nf->set_text(ev, K_LOG_FILE_PATH, nf->path, nf->path_len);
        event_set_num(ev, K_LOG_OFFSET, (int64_t)rec->offset);
        if (rec->flags & FRAME_MULTILINE)
                event_set_safe(ev, K_LOG_FLAGS, STR(flag_multiline));
        if (rec->flags & FRAME_TRUNCATED)
                event_set_safe(ev, K_LOG_FLAGS, STR(flag_truncated));
        nf->set_text(ev, K_HOST_NAME, n->host_name, nf->host_len);
        nf->set_text(ev, K_SM_LOG_TYPE, nf->log_type, nf->log_type_len);
}

/* related.ip from every *.ip field, related.user from every user.name. */
static void set_related(struct event *ev)
{
        unsigned nf = ev->nfields;

        for (unsigned i = 0; i < nf; i++) {
                const struct field *fl = &ev->f[i];
                uint8_t rel = ev->keys->k[fl->key].related;

                if ((fl->kind != VAL_STR && fl->kind != VAL_SAFE) || rel == REL_NONE)
                        continue;
                (fl->kind == VAL_SAFE ? event_set_safe : event_set_str)(
                        ev, rel == REL_IP ? K_RELATED_IP : K_RELATED_USER, fl->v.str, fl->len);
        }
}

unsigned norm_record(struct norm *n, struct norm_file *nf, const struct frame_record *rec,
                 struct event *ev)
{
        struct bracket br[BRACKETS_MAX];
        struct stamp st;
        const char *body, *msg;
        size_t plen, blen, mlen;
        unsigned nbr;
        int64_t ms;
        char *ts;
        unsigned res = 0;

        event_reset(ev);
        ev->offset = rec->offset;
        ev->end_offset = rec->end_offset;
        plen = stamp_parse(rec->data, rec->len, &st);
        body = rec->data + plen;
        blen = rec->len - plen;

        ms = plen ? record_time(n, nf, &st) : INT64_MIN;
        if (ms == INT64_MIN) {
                /* no usable time: the record above it, else the file's date */
                event_set_safe(ev, K_TAGS, STR(tag_bad_time));
                res |= NORM_BAD_TIME;
                if (nf->last_ms != INT64_MIN) {
                        ms = nf->last_ms;
                } else {
                        int64_t first, second;
                        tz_local_to_utc(n->ctx.tz, nf->day * 86400, &first, &second);
                        ms = first * 1000;
                }
        }
        nf->last_ms = ms;
        ev->ts_ms = ms;
        if ((ts = event_scratch(ev, 24))) {
                stamp_format_utc(ms, ts);
                event_set_safe(ev, K_TIMESTAMP, ts, 24);
        }
        set_common(n, nf, rec, ev);

        nbr = mapping_brackets(body, blen, br, &msg);
        mlen = blen - (size_t)(msg - body);
        event_set_str(ev, K_MESSAGE, msg, mlen);
        n->ctx.day.known = nf->has_day;
        n->ctx.day.day = nf->day;
        if (!mapping_apply(nf->map, &n->ctx, ev, br, nbr, msg, mlen)) {
                event_set_safe(ev, K_TAGS, STR(tag_unparsed));
                res |= NORM_UNPARSED;
        }
        if (!event_has(ev, K_EVENT_TYPE))
                event_set_safe(ev, K_EVENT_TYPE, STR("info"));
        set_related(ev);
        event_set_level(ev);
        return res;
}
