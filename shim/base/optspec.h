/* SPDX-License-Identifier: MIT */
/* What an option row is: name, type, default, where its value lands, one
 * sentence of help, the commands it belongs to. A module that owns
 * settings declares its rows with this header alone; the engine that walks
 * every table is options.h's. */
#ifndef SHIM_OPTSPEC_H
#define SHIM_OPTSPEC_H

#include <stddef.h>

/* OPT_LIST collects every value given (repeated flags or config lines),
 * newline-separated, in order. */
enum opt_type { OPT_STR, OPT_BOOL, OPT_SIZE, OPT_ENUM, OPT_UINT, OPT_LIST };

enum opt_mode { MODE_PARSE = 1u << 0, MODE_FIELDS = 1u << 1, MODE_RUN = 1u << 2,
                MODE_SEARCH = 1u << 3, MODE_REPORT = 1u << 4 };

struct opt_spec {
        const char *name;       /* long option and config key */
        enum opt_type type;
        const char *def;        /* default, as text the parser accepts */
        size_t off;             /* into the struct its table fills */
        const char *desc;       /* one sentence */
        const char *choices;    /* OPT_ENUM: "a|b|c", index stored as int */
        const char *arg;        /* placeholder in help ("ZONE") */
        unsigned long min, max; /* OPT_UINT, OPT_SIZE range (max 0 = none) */
        unsigned modes;         /* enum opt_mode mask */
        char short_name;
        /* OPT_LIST of NAME=VALUE only (may be NULL): config lines
         * "PREFIXNAME = VALUE" add NAME=VALUE to the list, and opts_dump
         * writes its items so, hiding the value of each NAME for which
         * secret returns 1 */
        const char *prefix;
        int (*secret)(const char *name, size_t len);
};

/* Where a row's value lies in the struct its table fills. */
#define OPT_IN(type, member) offsetof(type, member)

/* The bounds of max-record-bytes, which the framer applies (frame.h): one
 * definition for the row and the framer. */
#define RECORD_BYTES_MIN 256u
#define RECORD_BYTES_DEFAULT (64u * 1024u)
#define RECORD_BYTES_MAX (64u * 1024u * 1024u)

#endif
