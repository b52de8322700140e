/* SPDX-License-Identifier: MIT */
/* The scanner of search, search --trace and report (scan.c): the state of
 * one command over a set of log files, one loaded file, and the helpers
 * that find, frame, date and print its records. */
#ifndef SHIM_SCAN_H
#define SHIM_SCAN_H

#include <stdint.h>
#include <stdio.h>

#include "base/buf.h"
#include "core/frame.h"
#include "core/reader.h"
#include "query/logset.h"
#include "query/pattern.h"
#include "core/normalize.h"
#include "base/options.h"
#include "core/setup.h"
#include "core/summary.h"

#define SCAN_OUT_MAX (256u * 1024u * 1024u)   /* one event's JSON can never be this large */

enum scan_kind { SK_OTHER, SK_SMTP, SK_DELIVERY };

struct scan {
        const struct shim_opts *o;
        FILE *out;
        struct pattern *m;
        int64_t from_ms, to_ms;         /* local wall-clock ms; open ends INT64_MIN/MAX */
        struct logset ls;
        struct setup p;                 /* --json, --trace and report */
        int have_p;
        struct reader *rd;              /* for one record or one file at a time */
        struct buf json;
        uint64_t matched;
        int failed;                     /* an input could not be read */
};

/* One file while it is scanned. */
struct scan_file {
        const struct logset_file *f;
        struct logset_data d;
        enum scan_kind kind;
        size_t roll;                    /* logset_rollover, SIZE_MAX until asked */
        int check_time;                 /* the file reaches past the range */
        struct norm_file nf[2];         /* its day, and the day after */
};

/* A record of a file, as a range of bytes. */
struct span {
        uint64_t start, end;
};

typedef int (*scan_hit_fn)(struct scan *s, struct scan_file *sf, size_t start, size_t end,
                             void *arg);

int scan_open(struct scan *s, struct scan_file *sf, const struct logset_file *f);
void scan_close(struct scan_file *sf);
/* (Re)start the record dating of sf's two norm files (--json, --trace). */
void scan_norm_init(struct scan *s, struct scan_file *sf);

/* Call fn for each record of sf that matches and lies in the range.
 * Returns 0 or the first negative value fn or the matcher returned. */
int scan_hits(struct scan *s, struct scan_file *sf, scan_hit_fn fn, void *arg);

/* The record in sf's bytes [start, end) as the frame makes it (valid until
 * the next frame call). */
void scan_record(struct scan *s, struct scan_file *sf, size_t start, size_t end,
                  struct frame_record *rec);

/* The session (smtp) or delivery id of a record; 0 when it has none. */
size_t scan_record_id(enum scan_kind kind, const char *data, size_t len, const char **ret);

/* Whether the record at start lies in --from/--to (a record without a
 * date does). */
int scan_in_range(struct scan *s, struct scan_file *sf, size_t start);

/* Local wall-clock ms of the record at start, or LOGSET_NO_DAY. */
int64_t scan_local_ms(struct scan_file *sf, size_t start);

/* Print one record: as text (viewer form, with its date) or as a JSON
 * event. Returns 0 or -EIO. */
int scan_print(struct scan *s, struct scan_file *sf, size_t start, size_t end);

/* Normalize the record in [start, end) into s->p.ev. */
void scan_normalize(struct scan *s, struct scan_file *sf, size_t start, size_t end);

/* Write s->json to out and empty it. Returns 0 or -EIO. */
int scan_flush_json(struct scan *s);

/* --from/--to, the zone and the files (o->type, o->logs or files): what
 * search and report share. Returns 0 or an exit status (reported). */
int scan_setup(struct scan *s, const struct shim_opts *o, int nfiles, char **files);

/* scan_setup, then the core that makes events of records (s->p): what
 * every command that normalizes records needs. Returns 0 or an exit
 * status (reported). */
int scan_setup_events(struct scan *s, const struct shim_opts *o, int nfiles, char **files);

/* Call fn for each file of s->ls, with a warning first when there is none
 * (nfiles: how many files the command line named; 0: the directory).
 * Returns 0, or SHIM_EXIT_FAIL when fn failed for a file (the others are
 * still read). */
int scan_each(struct scan *s, int nfiles, int (*fn)(void *arg, const struct logset_file *f),
              void *arg);

/* Free what scan_setup, the reader and the JSON buffer hold, and s->p
 * when have_p is set. */
void scan_done(struct scan *s);

#endif
