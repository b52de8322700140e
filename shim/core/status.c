/* SPDX-License-Identifier: MIT */
/* Delivery status words. SmarterMail writes one word or several
 * ("Forwarded Delivered": forwarded, and a copy delivered), so the text is
 * read word by word against one table and the worst class wins. A word is
 * matched by its start, in any case, so that "Deferred" and "Deferral" are
 * one row. Words the table does not know count as nothing; a text of only
 * unknown words is a failure, as SmarterMail writes no word for most
 * failures but the reason on the next line. */
#include "core/status.h"

#include <string.h>

struct status_row {
        const char *prefix;     /* lower case */
        enum status_class k;
};

static const struct status_row status_rows[] = {
        { "delivered", STATUS_DELIVERED },
        { "forwarded", STATUS_DELIVERED },
        { "defer", STATUS_DEFERRED },
        { "delay", STATUS_DEFERRED },
        { "retry", STATUS_DEFERRED },
        { "queued", STATUS_DEFERRED },
        { "requeued", STATUS_DEFERRED },
        { "greylist", STATUS_DEFERRED },
        { "deleted", STATUS_DELETED },
        { "bounce", STATUS_BOUNCED },
        { "failed", STATUS_FAILED },
        { "rejected", STATUS_FAILED },
};

struct status_info {
        const char *name, *outcome;
        int severity;
};

static const struct status_info status_info[] = {
        [STATUS_NONE] = { "unknown", NULL, 0 },
        [STATUS_DELIVERED] = { "delivered", "success", SEV_INFO },
        [STATUS_DEFERRED] = { "deferred", "unknown", SEV_NOTICE },
        [STATUS_DELETED] = { "deleted", "failure", SEV_NOTICE },
        [STATUS_BOUNCED] = { "bounced", "failure", SEV_ERR },
        [STATUS_FAILED] = { "failed", "failure", SEV_ERR },
};

static int starts_ci(const char *w, size_t n, const char *prefix)
{
        size_t l = strlen(prefix);

        if (n < l)
                return 0;
        for (size_t i = 0; i < l; i++)
                if ((w[i] | 0x20) != prefix[i])
                        return 0;
        return 1;
}

static enum status_class word_class(const char *w, size_t n)
{
        for (size_t i = 0; i < sizeof(status_rows) / sizeof(status_rows[0]); i++)
                if (starts_ci(w, n, status_rows[i].prefix))
                        return status_rows[i].k;
        return STATUS_NONE;
}

static int is_word_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

enum status_class status_classify(const char *p, size_t n)
{
        enum status_class worst = STATUS_NONE;
        int any = 0;
        size_t i = 0;

        while (i < n) {
                size_t start;

                while (i < n && !is_word_char(p[i]))
                        i++;
                start = i;
                while (i < n && is_word_char(p[i]))
                        i++;
                if (i > start) {
                        enum status_class k = word_class(p + start, i - start);
                        any = 1;
                        if (k > worst)
                                worst = k;
                }
        }
        if (any && worst == STATUS_NONE)
                return STATUS_FAILED;
        return worst;
}

const char *status_class_name(enum status_class k)
{
        return status_info[k].name;
}

const char *status_outcome(enum status_class k)
{
        return status_info[k].outcome;
}

int status_severity(enum status_class k)
{
        return status_info[k].severity;
}

enum status_class status_apply(struct event *ev, unsigned status_key)
{
        const char *p, *o;
        size_t n;
        enum status_class k;
        int sev;

        if (!(p = event_get_str(ev, status_key, &n)) || !n)
                return STATUS_NONE;
        k = status_classify(p, n);
        if ((o = status_outcome(k)))
                event_set_safe(ev, K_EVENT_OUTCOME, o, strlen(o));
        sev = status_severity(k);
        if (sev && sev < ev->severity)
                ev->severity = sev;
        return k;
}
