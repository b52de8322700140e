/* SPDX-License-Identifier: MIT */
/* Record -> event: the time stamp (date from the file name, moved forward
 * past midnight, converted to UTC per record), the common ECS fields, the
 * bracket groups and the mapping rules, then the fields derived from others
 * (related.*, log.level). One struct norm_file per input file carries what
 * the next record needs from the ones before it. */
#ifndef SHIM_NORMALIZE_H
#define SHIM_NORMALIZE_H

#include <stdint.h>

#include "core/event.h"
#include "core/frame.h"
#include "core/mapping.h"
#include "core/stamp.h"

struct norm {
        const struct mapping_set *maps;
        struct mapping_ctx ctx;         /* .tz */
        const char *host_name;
        int keep_original;
};

#define NORM_DATASET_MAX 80

struct norm_file {
        const char *path;               /* NULL for standard input */
        const struct mapping *map;
        char type[64];                  /* the type word, "smtpLog" */
        const char *log_type;           /* smartermail.log_type, "smtp" */
        char dataset[NORM_DATASET_MAX]; /* "smartermail.smtp" */
        size_t dataset_len, path_len, zone_len, host_len, log_type_len;
        /* event_set_safe when every constant text above needs no escaping */
        int (*set_text)(struct event *ev, unsigned key, const char *str, size_t len);
        int64_t day;                    /* days since epoch of the current date */
        int has_day;
        int last_tod;                   /* seconds of day of the last record, -1 */
        int64_t last_ms;                /* UTC of the last record, INT64_MIN */
};

/* Tell type word and date from a "YYYY.MM.DD-<type>.log" base name (any
 * directory before it; logname_parse, for a caller that wants them apart).
 * Returns 0, or -EINVAL when the name has another shape (an archive's
 * ".log.zip" too), or a type word of type_len bytes or more. */
int norm_name_info(const char *path, char *type, size_t type_len, int *y, int *mo, int *d);

/* Start a file: type selects the mapping; the date (valid) anchors
 * on-disk time stamps. */
void norm_file_init(struct norm_file *nf, const struct norm *n, const char *path,
                    const char *type, int has_date, int y, int mo, int d);

enum norm_result { NORM_UNPARSED = 1u << 0, NORM_BAD_TIME = 1u << 1 };

/* Fill ev (reset first) from one record. ev's string values point into
 * rec->data, nf and the event's scratch; they stay valid while rec does.
 * Returns a mask of enum norm_result. */
unsigned norm_record(struct norm *n, struct norm_file *nf, const struct frame_record *rec,
                 struct event *ev);

#endif
