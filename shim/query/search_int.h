/* SPDX-License-Identifier: MIT */
/* What search.c and trace.c share: the search's state, one loaded file,
 * and the helpers that find, frame, date and print records. */
#ifndef SHIM_SEARCH_INT_H
#define SHIM_SEARCH_INT_H

#include <stdint.h>
#include <stdio.h>

#include "base/buf.h"
#include "core/frame.h"
#include "query/logset.h"
#include "query/pattern.h"
#include "core/normalize.h"
#include "base/options.h"
#include "core/setup.h"
#include "core/summary.h"

#define SEARCH_OUT_MAX (256u * 1024u * 1024u)   /* one event's JSON can never be this large */

enum search_kind { SK_OTHER, SK_SMTP, SK_DELIVERY };

struct search {
        const struct shim_opts *o;
        FILE *out;
        struct pattern *m;
        int64_t from_ms, to_ms;         /* local wall-clock ms; open ends INT64_MIN/MAX */
        struct logset ls;
        struct setup p;              /* --json and --trace */
        int have_p;
        struct frame *frame;
        struct buf json;
        uint64_t matched;
        int failed;                     /* an input could not be read */
};

/* One file while it is searched. */
struct sfile {
        const struct logset_file *f;
        struct logset_data d;
        enum search_kind kind;
        size_t roll;                    /* logset_rollover, SIZE_MAX until asked */
        int check_time;                 /* the file reaches past the range */
        struct norm_file nf[2];         /* its day, and the day after */
};

/* A record of a file, as a range of bytes. */
struct span {
        uint64_t start, end;
};

typedef int (*search_hit_fn)(struct search *s, struct sfile *sf, size_t start, size_t end,
                             void *arg);

int search_open(struct search *s, struct sfile *sf, const struct logset_file *f);
void search_close(struct sfile *sf);
/* (Re)start the record dating of sf's two norm files (--json, --trace). */
void search_norm_init(struct search *s, struct sfile *sf);

/* Call fn for each record of sf that matches and lies in the range.
 * Returns 0 or the first negative value fn or the matcher returned. */
int search_scan(struct search *s, struct sfile *sf, search_hit_fn fn, void *arg);

/* The record in sf's bytes [start, end) as the frame makes it (valid until
 * the next frame call). */
void search_frame(struct search *s, struct sfile *sf, size_t start, size_t end,
                  struct frame_record *rec);

/* The session (smtp) or delivery id of a record; 0 when it has none. */
size_t search_record_id(enum search_kind kind, const char *data, size_t len, const char **ret);

/* Whether the record at start lies in --from/--to (a record without a
 * date does). */
int search_in_range(struct search *s, struct sfile *sf, size_t start);

/* Local wall-clock ms of the record at start, or LOGSET_NO_DAY. */
int64_t search_local_ms(struct sfile *sf, size_t start);

/* Print one record: as text (viewer form, with its date) or as a JSON
 * event. Returns 0 or -EIO. */
int search_print(struct search *s, struct sfile *sf, size_t start, size_t end);

/* Normalize the record in [start, end) into s->p.ev. */
void search_normalize(struct search *s, struct sfile *sf, size_t start, size_t end);

/* Write s->json to out and empty it. Returns 0 or -EIO. */
int search_flush_json(struct search *s);

/* --from/--to, the zone and the files (o->type, o->logs or files): what
 * search and report share. Returns 0 or an exit status (reported). */
int search_setup(struct search *s, const struct shim_opts *o, int nfiles, char **files);

/* --trace (trace.c). Returns 0 or a negative errno (already reported). */
int trace_run(struct search *s);

#endif
