/* SPDX-License-Identifier: MIT */
/* Delivery status words: the one table that says what the words of
 * "has completed (...)" mean (delivered, deferred, deleted by a filter,
 * bounced, failed), and the event.outcome and severity of each class. Both
 * the record (status_apply) and the delivery summary read it. It knows no
 * field names but the ones its caller passes. */
#ifndef SHIM_STATUS_H
#define SHIM_STATUS_H

#include <stddef.h>

#include "core/event.h"

/* Worse is larger: a delivery's summary keeps the worst of its attempts. */
enum status_class {
        STATUS_NONE,            /* no status word seen */
        STATUS_DELIVERED,
        STATUS_DEFERRED,
        STATUS_DELETED,         /* removed on purpose by a filter */
        STATUS_BOUNCED,
        STATUS_FAILED,
};

/* The class of a status text such as "Forwarded Delivered": the worst
 * class of its known words; a text without a known word is FAILED, an
 * empty one NONE. */
enum status_class status_classify(const char *p, size_t n);

/* "delivered", "deferred", ... ("unknown" for NONE). Static storage. */
const char *status_class_name(enum status_class k);

/* The event.outcome of a class ("success", "unknown", "failure"; NULL for
 * NONE) and its severity (enum severity; 0 for NONE). */
const char *status_outcome(enum status_class k);
int status_severity(enum status_class k);

/* When ev has a status word under key status_key: set event.outcome from
 * the table and raise ev->severity to the class's. Returns the class. */
enum status_class status_apply(struct event *ev, unsigned status_key);

#endif
