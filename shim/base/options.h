/* SPDX-License-Identifier: MIT */
/* Options: every setting is declared once in a table (name, type, default,
 * where it lands, one sentence of help); the same tables drive command-line
 * parsing, defaults, --help, docs/options.md, the config file and its
 * template, and the man pages. The core's rows (shim_options, into struct
 * shim_opts) come first, then each output's own rows, declared next to its
 * code into its own config struct (outputs/syslog_opts.c, kafka_opts.c),
 * the way a Fluent Bit plugin declares its config_map.
 * It does not act on any setting. */
#ifndef SHIM_OPTIONS_H
#define SHIM_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "base/log.h"
#include "base/optspec.h"
/* the one upward include of base/: the settings struct holds each output's
 * config struct (data only; tests/layout/check_layers.py allows it) */
#include "outputs/kafka_opts.h"
#include "outputs/syslog_opts.h"

#define OPT_AT(member) offsetof(struct shim_opts, member)

enum enc_choice { ENC_CHOICE_ECS, ENC_CHOICE_FLAT, ENC_CHOICE_GELF };
enum from_choice { FROM_AUTO, FROM_END, FROM_BEGINNING };
enum watch_choice { WATCH_AUTO, WATCH_INOTIFY, WATCH_POLL };

/* Where a setting came from, so that a problem found after loading (an
 * output's check) names the line that made it. */
enum opt_source { OPT_SOURCE_CONFIG, OPT_SOURCE_CONFIG_PREFIX, OPT_SOURCE_ARGV };

struct opt_origin {
        const struct opt_spec *spec;
        unsigned item;                  /* OPT_LIST: the index of the value it added */
        unsigned line;                  /* the config line, 0 for the command line */
        enum opt_source source;         /* CONFIG_PREFIX: a PREFIXNAME = VALUE line */
};

struct opt_origins {
        char *file;                     /* the config file read, or NULL */
        struct opt_origin *v;           /* in the order the settings were made */
        size_t n, cap;
};

struct shim_opts {
        char *type;
        char *date;
        char *timezone;
        char *mappings;
        char *host_name;
        int encoding;           /* enum enc_choice */
        int original;
        size_t max_record_bytes;
        int help;
        int version;
        int verbose;
        int allow_root;
        /* summaries (parse, run) */
        int summaries;
        unsigned long summary_max_open;
        unsigned long summary_idle_timeout_s;
        /* search and report */
        char *since;            /* --from DATE */
        char *until;            /* --to DATE */
        int regex;
        int ignore_case;
        int related;
        int trace;
        int json;
        int count;
        char *html;
        unsigned long top;
        int unparsed;                   /* report --unparsed */
        /* run mode */
        char *config;
        char *logs;
        char *types;            /* comma-separated type words, empty = all */
        char *state;
        char *output;
        int from;               /* enum from_choice */
        int watch;              /* enum watch_choice */
        unsigned long poll_interval_ms;
        unsigned long checkpoint_interval_ms;
        unsigned long quiet_ms;
        unsigned long partial_line_timeout_ms;
        unsigned long max_inflight_records;
        size_t max_inflight_bytes;
        unsigned long stats_interval_s;
        unsigned long shutdown_timeout_ms;
        unsigned long release_idle_s;
        /* each output's own settings, filled by its rows */
        struct syslog_cfg syslog;
        struct kafka_cfg kafka;
        /* filled by opts_load_config and opts_parse, read by opts_where */
        struct opt_origins origins;
};

/* The core's rows, into struct shim_opts (each output declares its own,
 * into its config struct, in its _opts.h); each table ends with an empty
 * row. */
extern const struct opt_spec shim_options[];

/* Every option of every table, in the order --help and docs/options.md
 * list them: opts_next(NULL) is the first, NULL follows the last. */
const struct opt_spec *opts_next(const struct opt_spec *s);

/* Where the value of s lives in o. */
void *opts_value(struct shim_opts *o, const struct opt_spec *s);
const void *opts_value_const(const struct shim_opts *o, const struct opt_spec *s);

/* Set every option to its default. Returns 0 or -ENOMEM. */
int opts_defaults(struct shim_opts *o);
void opts_free(struct shim_opts *o);

/* Parse argv for one mode. On success returns the index of the first
 * operand. On a usage error returns -EINVAL with err filled (the caller
 * prints it and exits 2); out of memory, -ENOMEM (err says so). */
int opts_parse(struct shim_opts *o, unsigned mode, int argc, char **argv, struct diag *err);

/* Set one option from text (command line or config). Returns 0, -EINVAL
 * with err->text saying why, or -ENOMEM (the option keeps its old value). */
int opts_set(struct shim_opts *o, const struct opt_spec *spec, const char *value,
             struct diag *err);

/* The option a config key or long name names, or NULL. */
const struct opt_spec *opts_find(const char *name, unsigned mode);

/* Read a config file of "key = value" lines ('#' starts a comment) into o.
 * Keys are long option names valid in mode. Every problem is printed as
 * "file:line: key: problem"; returns 0, -EINVAL (bad content), -ENOMEM
 * (it stops there; the lines before it stay applied) or -errno (cannot
 * read; err says why). Read one config file per o: opts_where names the
 * last one read. */
int opts_load_config(struct shim_opts *o, unsigned mode, const char *path, struct diag *err);

/* Point err at where the value of option name came from (for an OPT_LIST,
 * its item-th value, from 0): err->file and err->line name the config line
 * (err->file stays valid as long as o), err->key the key as written there
 * ("kafka.NAME" for a kafka.NAME = VALUE line: see opt_spec.prefix), or
 * "--name" for the command
 * line; a default, or a value set with opts_set, gets the name alone.
 * err->text is left alone. */
void opts_where(const struct shim_opts *o, const char *name, unsigned item, struct diag *err);

/* Help text for a mode, and the Markdown table of docs/options.md
 * (options_doc.c). */
void opts_help(FILE *f, unsigned mode);
void opts_markdown(FILE *f);

/* 1 when s may be set in a config file (of a mode s belongs to): every
 * option but config, help and version. The config file of run, which the
 * documents describe, holds the run options among them. */
int opts_in_config(const struct opt_spec *s);

/* The rest renders the same table for people (options_doc.c). */

/* The effective settings in o as a config file that loads back to the same
 * settings: every config key as "key = value", the items of a list with a
 * prefix as "PREFIXNAME = VALUE" lines (kafka.NAME = VALUE), and those that
 * may carry a secret (its secret rule) commented out with their value
 * hidden. */
void opts_dump(FILE *f, const struct shim_opts *o);

/* Every config key, commented out with its default after a comment saying
 * what it does: the body of deploy/smartermail-shim.conf. */
void opts_config_template(FILE *f);

/* The generated part of a man page, in roff: the OPTIONS of
 * smartermail-shim(1) (section 1) or the KEYS of smartermail-shim.conf(5)
 * (section 5). Returns 0, or -EINVAL for another section. */
int opts_man(FILE *f, int section);

#endif
