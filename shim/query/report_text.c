/* SPDX-License-Identifier: MIT */
/* The report as text for the terminal and as one JSON object (--json):
 * the numbers report.c counted, laid out; nothing here reads logs or
 * counts. The HTML page is report_html.c. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "base/buf.h"
#include "core/encode_json.h"
#include "query/report_int.h"

const char *const report_class_names[RC__COUNT] = {
        [RC_DELIVERED] = "delivered", [RC_DEFERRED] = "deferred", [RC_BOUNCED] = "bounced",
        [RC_FAILED] = "failed", [RC_UNKNOWN] = "unknown",
};

/* ---- output: text --------------------------------------------------------------- */

static void text_list(FILE *o, const struct report_list *l)
{
        fprintf(o, "\n%s\n", l->title);
        for (size_t i = 0; l->title[i]; i++)
                fputc('-', o);
        fputc('\n', o);
        if (!l->n) {
                fprintf(o, "  (none)\n");
                return;
        }
        for (size_t i = 0; i < l->n; i++)
                fprintf(o, "  %8" PRIu64 "  %s\n", l->rows[i].n, l->rows[i].key);
        if (l->distinct > l->n)
                fprintf(o, "  (%zu more)\n", l->distinct - l->n);
}

static void text_bar(FILE *o, uint64_t v, uint64_t max, int width, char c)
{
        int w = max ? (int)((v * (uint64_t)width + max - 1) / max) : 0;

        for (int i = 0; i < width; i++)
                fputc(i < w ? c : ' ', o);
}

void report_text_write(FILE *o, const struct report_data *d)
{
        const struct report_totals *t = &d->tot;
        uint64_t max = 0;

        fprintf(o, "SmarterMail report: %s (zone %s)\n", d->range, d->zone);
        fprintf(o, "%" PRIu64 " files, %" PRIu64 " records\n\n", t->files, t->records);
        fprintf(o, "Grand totals\n------------\n");
        fprintf(o, "  %8" PRIu64 "  messages received (SMTP)\n", t->received);
        fprintf(o, "  %8" PRIu64 "  SMTP sessions (%" PRIu64 " blocked, %" PRIu64
                " failed authentication, %" PRIu64 " rejected)\n", t->smtp_sessions,
                t->blocked_sessions, t->auth_failed_sessions, t->rejected_sessions);
        fprintf(o, "  %8" PRIu64 "  deliveries\n", t->deliveries);
        for (int i = 0; i < RC__COUNT; i++)
                fprintf(o, "  %8" PRIu64 "    %s\n", t->klass[i], report_class_names[i]);
        fprintf(o, "  %8" PRIu64 "  authentication failures\n", t->auth_failures);
        fprintf(o, "  %8" PRIu64 "  IDS blocks\n", t->ids_blocks);
        for (int h = 0; h < 24; h++) {
                if (d->hour_recv[h] > max)
                        max = d->hour_recv[h];
                if (d->hour_dlv[h] > max)
                        max = d->hour_dlv[h];
        }
        fprintf(o, "\nTraffic per hour (local time)\n-----------------------------\n"
                   "  hour  %-24s %8s  %-24s %8s\n", "received", "", "delivered", "");
        for (int h = 0; h < 24; h++) {
                fprintf(o, "  %02d    ", h);
                text_bar(o, d->hour_recv[h], max, 24, '#');
                fprintf(o, " %8" PRIu64 "  ", d->hour_recv[h]);
                text_bar(o, d->hour_dlv[h], max, 24, '=');
                fprintf(o, " %8" PRIu64 "\n", d->hour_dlv[h]);
        }
        if (d->ndays > 1) {
                fprintf(o, "\nMessages received per day\n-------------------------\n");
                for (size_t i = 0; i < d->ndays; i++)
                        fprintf(o, "  %s  %8" PRIu64 "\n", d->days[i].key, d->days[i].n);
        }
        for (int l = 0; l < RL__COUNT; l++)
                text_list(o, &d->lists[l]);
        fprintf(o, "\nSlowest deliveries\n------------------\n");
        if (!d->nslow)
                fprintf(o, "  (none)\n");
        for (size_t i = 0; i < d->nslow; i++) {
                const struct report_slow *s = &d->slow[i];
                fprintf(o, "  %8.1f s  %s  %s  %s -> %s  %s\n", (double)s->ms / 1000.0, s->when,
                        s->id, s->from[0] ? s->from : "-", s->to[0] ? s->to : "-",
                        s->status[0] ? s->status : "-");
        }
}

/* ---- output: JSON ---------------------------------------------------------------- */

static void json_str(struct buf *b, const char *p)
{
        buf_putc(b, '"');
        json_escape(b, p, strlen(p));
        buf_putc(b, '"');
}

static void json_u64(struct buf *b, const char *key, uint64_t v, int comma)
{
        if (comma)
                buf_putc(b, ',');
        json_str(b, key);
        buf_putc(b, ':');
        buf_int(b, (long long)v);
}

static void json_rows(struct buf *b, const struct tally_row *rows, size_t n)
{
        buf_putc(b, '[');
        for (size_t i = 0; i < n; i++) {
                if (i)
                        buf_putc(b, ',');
                buf_lit(b, "{\"key\":");
                json_str(b, rows[i].key);
                buf_lit(b, ",\"count\":");
                buf_int(b, (long long)rows[i].n);
                buf_putc(b, '}');
        }
        buf_putc(b, ']');
}

int report_json_write(FILE *o, const struct report_data *d)
{
        const struct report_totals *t = &d->tot;
        struct buf b;

        buf_init(&b, 64u << 20);
        buf_lit(&b, "{\"range\":");
        json_str(&b, d->range);
        buf_lit(&b, ",\"timezone\":");
        json_str(&b, d->zone);
        buf_lit(&b, ",\"totals\":{");
        json_u64(&b, "files", t->files, 0);
        json_u64(&b, "records", t->records, 1);
        json_u64(&b, "messages_received", t->received, 1);
        json_u64(&b, "smtp_sessions", t->smtp_sessions, 1);
        json_u64(&b, "smtp_sessions_blocked", t->blocked_sessions, 1);
        json_u64(&b, "smtp_sessions_auth_failed", t->auth_failed_sessions, 1);
        json_u64(&b, "smtp_sessions_rejected", t->rejected_sessions, 1);
        json_u64(&b, "deliveries", t->deliveries, 1);
        for (int i = 0; i < RC__COUNT; i++)
                json_u64(&b, report_class_names[i], t->klass[i], 1);
        json_u64(&b, "auth_failures", t->auth_failures, 1);
        json_u64(&b, "ids_blocks", t->ids_blocks, 1);
        buf_lit(&b, "},\"per_hour\":{\"received\":[");
        for (int h = 0; h < 24; h++) {
                if (h)
                        buf_putc(&b, ',');
                buf_int(&b, (long long)d->hour_recv[h]);
        }
        buf_lit(&b, "],\"delivered\":[");
        for (int h = 0; h < 24; h++) {
                if (h)
                        buf_putc(&b, ',');
                buf_int(&b, (long long)d->hour_dlv[h]);
        }
        buf_lit(&b, "]},\"per_day\":");
        json_rows(&b, d->days, d->ndays);
        for (int l = 0; l < RL__COUNT; l++) {
                buf_putc(&b, ',');
                json_str(&b, d->lists[l].name);
                buf_putc(&b, ':');
                json_rows(&b, d->lists[l].rows, d->lists[l].n);
        }
        buf_lit(&b, ",\"slowest_deliveries\":[");
        for (size_t i = 0; i < d->nslow; i++) {
                const struct report_slow *s = &d->slow[i];

                if (i)
                        buf_putc(&b, ',');
                buf_lit(&b, "{\"id\":");
                json_str(&b, s->id);
                buf_lit(&b, ",\"start\":");
                json_str(&b, s->when);
                buf_lit(&b, ",\"duration_ms\":");
                buf_int(&b, s->ms);
                buf_lit(&b, ",\"from\":");
                json_str(&b, s->from);
                buf_lit(&b, ",\"to\":");
                json_str(&b, s->to);
                buf_lit(&b, ",\"status\":");
                json_str(&b, s->status);
                buf_putc(&b, '}');
        }
        buf_lit(&b, "]}\n");
        return report_json_flush(o, &b);
}

int report_json_flush(FILE *o, struct buf *b)
{
        int r = b->failed || fwrite(b->p, 1, b->len, o) != b->len ? -EIO : 0;

        buf_done(b);
        return r;
}
