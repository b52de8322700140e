/* SPDX-License-Identifier: MIT */
/* SmarterMail log file names: "YYYY.MM.DD-<type>.log", or the same with
 * ".zip" after it for an archived day, and lists of type words to select
 * them by. The one place that knows the shape of a name; it opens no
 * files. */
#ifndef SHIM_LOGNAME_H
#define SHIM_LOGNAME_H

#include <stddef.h>

#define LOGNAME_TYPE_MAX 64     /* bytes of a type word, with its NUL */

struct logname {
        char type[LOGNAME_TYPE_MAX];    /* the type word, "smtpLog" */
        int y, mo, d;                   /* the date, valid */
        int zipped;                     /* the name ends in ".log.zip" */
};

/* Tell the type word and date from path's base name (any directory before
 * it). Returns 0 with *ret filled, or -EINVAL when the name has another
 * shape (*ret then undefined). */
int logname_parse(const char *path, struct logname *ret);

/* Whether type is in types, a comma-separated list whose items may have
 * blanks around them; NULL or "" lists every type. */
int logname_type_listed(const char *types, const char *type);

#endif
