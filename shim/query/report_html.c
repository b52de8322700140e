/* SPDX-License-Identifier: MIT */
/* The report as one HTML page: inline CSS and inline SVG charts, no
 * script, font, image or style sheet from anywhere else, so it opens the
 * same offline, from a mail attachment or behind a proxy. Text is escaped;
 * nothing from the logs becomes markup. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "query/report_int.h"

#define CHART_W 720
#define CHART_H 220

static void esc(FILE *f, const char *s)
{
        for (; *s; s++) {
                switch (*s) {
                case '<': fputs("&lt;", f); break;
                case '>': fputs("&gt;", f); break;
                case '&': fputs("&amp;", f); break;
                case '"': fputs("&quot;", f); break;
                case '\'': fputs("&#39;", f); break;
                default: fputc(*s, f);
                }
        }
}

static const char css[] =
        "body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222;"
        "background:#fff;padding:0 1em}"
        "h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:2em;"
        "border-bottom:1px solid #ccc}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{padding:.15em .8em;text-align:left}"
        "td.n{text-align:right;font-variant-numeric:tabular-nums}"
        "tr:nth-child(even){background:#f4f6f8}"
        ".bar{display:inline-block;height:.8em;background:#4a78b0;vertical-align:middle}"
        ".grid{display:flex;flex-wrap:wrap;gap:1em}.card{border:1px solid #ddd;border-radius:6px;"
        "padding:.6em 1em;min-width:9em}.card b{display:block;font-size:1.6em}"
        ".muted{color:#777}svg text{font:11px system-ui,sans-serif;fill:#333}";

static void card(FILE *f, const char *label, uint64_t v)
{
        fprintf(f, "<div class=\"card\"><b>%" PRIu64 "</b>", v);
        esc(f, label);
        fputs("</div>\n", f);
}

/* Two series of 24 bars (received, delivered) per hour. */
static void hour_chart(FILE *f, const struct report_data *d)
{
        uint64_t max = 1;
        const int left = 40, bottom = 24, plot_h = CHART_H - bottom - 10;
        const double slot = (double)(CHART_W - left - 10) / 24.0;

        for (int h = 0; h < 24; h++) {
                if (d->hour_recv[h] > max)
                        max = d->hour_recv[h];
                if (d->hour_dlv[h] > max)
                        max = d->hour_dlv[h];
        }
        fprintf(f, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
                "aria-label=\"Messages per hour\">\n", CHART_W, CHART_H, CHART_W, CHART_H);
        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>\n", left,
                CHART_H - bottom, CHART_W - 10, CHART_H - bottom);
        fprintf(f, "<text x=\"%d\" y=\"14\">%" PRIu64 "</text><text x=\"%d\" y=\"%d\">0</text>\n",
                2, max, 2, CHART_H - bottom);
        for (int h = 0; h < 24; h++) {
                double x = left + h * slot;
                double hr = (double)d->hour_recv[h] * plot_h / (double)max;
                double hd = (double)d->hour_dlv[h] * plot_h / (double)max;

                fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                        "fill=\"#4a78b0\"><title>%02d:00 received %" PRIu64 "</title></rect>\n",
                        x + 2, CHART_H - bottom - hr, slot / 2 - 2, hr, h, d->hour_recv[h]);
                fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                        "fill=\"#6fb06a\"><title>%02d:00 delivered %" PRIu64 "</title></rect>\n",
                        x + slot / 2, CHART_H - bottom - hd, slot / 2 - 2, hd, h, d->hour_dlv[h]);
                if (h % 2 == 0)
                        fprintf(f, "<text x=\"%.1f\" y=\"%d\">%02d</text>\n", x + 2,
                                CHART_H - 8, h);
        }
        fputs("</svg>\n<p class=\"muted\"><span class=\"bar\" style=\"width:1em\"></span> "
              "received &nbsp; <span class=\"bar\" style=\"width:1em;background:#6fb06a\"></span>"
              " delivered (local time)</p>\n", f);
}

/* One horizontal bar per outcome. */
static void outcome_chart(FILE *f, const struct report_data *d)
{
        static const char *const colors[RC__COUNT] = { "#6fb06a", "#e0b040", "#d0703a",
                                                       "#c03a3a", "#999999" };
        uint64_t max = 1;
        int y = 4;

        for (int i = 0; i < RC__COUNT; i++)
                if (d->tot.klass[i] > max)
                        max = d->tot.klass[i];
        fprintf(f, "<svg width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"Deliveries by "
                "outcome\">\n", CHART_W, RC__COUNT * 26 + 8);
        for (int i = 0; i < RC__COUNT; i++, y += 26) {
                double w = (double)d->tot.klass[i] * (CHART_W - 200) / (double)max;

                fprintf(f, "<text x=\"0\" y=\"%d\">%s</text>", y + 14, report_class_names[i]);
                fprintf(f, "<rect x=\"90\" y=\"%d\" width=\"%.1f\" height=\"18\" fill=\"%s\"/>", y,
                        w, colors[i]);
                fprintf(f, "<text x=\"%.1f\" y=\"%d\">%" PRIu64 "</text>\n", 96 + w, y + 14,
                        d->tot.klass[i]);
        }
        fputs("</svg>\n", f);
}

static void list_table(FILE *f, const struct report_list *l)
{
        uint64_t max = l->n ? l->rows[0].n : 1;

        fputs("<h2>", f);
        esc(f, l->title);
        fputs("</h2>\n", f);
        if (!l->n) {
                fputs("<p class=\"muted\">none</p>\n", f);
                return;
        }
        fputs("<table><tr><th>count</th><th></th><th>", f);
        esc(f, l->what);
        fputs("</th></tr>\n", f);
        for (size_t i = 0; i < l->n; i++) {
                fprintf(f, "<tr><td class=\"n\">%" PRIu64 "</td><td><span class=\"bar\" "
                        "style=\"width:%.1fem\"></span></td><td>", l->rows[i].n,
                        (double)l->rows[i].n * 12.0 / (double)(max ? max : 1));
                esc(f, l->rows[i].key);
                fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);
        if (l->distinct > l->n)
                fprintf(f, "<p class=\"muted\">%zu more</p>\n", l->distinct - l->n);
}

static void body(FILE *f, const struct report_data *d)
{
        const struct report_totals *t = &d->tot;

        fputs("<h1>SmarterMail report</h1>\n<p class=\"muted\">", f);
        esc(f, d->range);
        fputs(" &middot; zone ", f);
        esc(f, d->zone);
        fprintf(f, " &middot; %" PRIu64 " files, %" PRIu64 " records</p>\n", t->files, t->records);
        fputs("<div class=\"grid\">\n", f);
        card(f, "messages received", t->received);
        card(f, "deliveries", t->deliveries);
        card(f, "delivered", t->klass[RC_DELIVERED]);
        card(f, "deferred", t->klass[RC_DEFERRED]);
        card(f, "bounced", t->klass[RC_BOUNCED]);
        card(f, "failed", t->klass[RC_FAILED]);
        card(f, "authentication failures", t->auth_failures);
        card(f, "IDS blocks", t->ids_blocks);
        card(f, "SMTP sessions", t->smtp_sessions);
        card(f, "sessions blocked", t->blocked_sessions);
        fputs("</div>\n<h2>Traffic per hour</h2>\n", f);
        hour_chart(f, d);
        fputs("<h2>Deliveries by outcome</h2>\n", f);
        outcome_chart(f, d);
        if (d->ndays > 1) {
                fputs("<h2>Messages received per day</h2>\n<table>\n", f);
                for (size_t i = 0; i < d->ndays; i++) {
                        fputs("<tr><td>", f);
                        esc(f, d->days[i].key);
                        fprintf(f, "</td><td class=\"n\">%" PRIu64 "</td></tr>\n", d->days[i].n);
                }
                fputs("</table>\n", f);
        }
        for (int l = 0; l < RL__COUNT; l++)
                list_table(f, &d->lists[l]);
        fputs("<h2>Slowest deliveries</h2>\n", f);
        if (!d->nslow)
                fputs("<p class=\"muted\">none</p>\n", f);
        else
                fputs("<table><tr><th>seconds</th><th>start</th><th>id</th><th>from</th>"
                      "<th>to</th><th>status</th></tr>\n", f);
        for (size_t i = 0; i < d->nslow; i++) {
                const struct report_slow *s = &d->slow[i];
                const char *cells[] = { s->when, s->id, s->from, s->to, s->status };

                fprintf(f, "<tr><td class=\"n\">%.1f</td>", (double)s->ms / 1000.0);
                for (size_t c = 0; c < sizeof(cells) / sizeof(cells[0]); c++) {
                        fputs("<td>", f);
                        esc(f, cells[c]);
                        fputs("</td>", f);
                }
                fputs("</tr>\n", f);
        }
        if (d->nslow)
                fputs("</table>\n", f);
}

int report_html_write(const struct report_data *d, const char *path)
{
        FILE *f = fopen(path, "we");
        int e;

        if (!f) {
                e = errno;
                log_msg(LOG_LVL_ERR, "%s: %s", path, strerror(e));
                return -e;
        }
        fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
              "<meta name=\"viewport\" content=\"width=device-width\">\n"
              "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
              "style-src 'unsafe-inline'\">\n<title>SmarterMail report ", f);
        esc(f, d->range);
        fprintf(f, "</title>\n<style>%s</style></head><body>\n", css);
        body(f, d);
        fputs("</body></html>\n", f);
        if (ferror(f) | fclose(f)) {
                e = errno ? errno : EIO;
                log_msg(LOG_LVL_ERR, "%s: writing the report: %s", path, strerror(e));
                return -e;
        }
        return 0;
}
