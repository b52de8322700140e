/* SPDX-License-Identifier: MIT */
/* Diagnostics: leveled messages to stderr, and struct diag, the detail a
 * module hands back to its caller (file, line, key, text) so that the caller
 * logs once. Nothing here allocates. */
#ifndef SHIM_LOG_H
#define SHIM_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERR = 3, LOG_LVL_WARNING = 4, LOG_LVL_NOTICE = 5,
                 LOG_LVL_INFO = 6, LOG_LVL_DEBUG = 7 };

/* The only global besides signal flags: messages above it are dropped. */
extern enum log_level log_max_level;

#define DIAG_TEXT_MAX 512

struct diag {
        const char *file;       /* borrowed; may be NULL */
        unsigned line;          /* 0 when not about a line */
        char key[160];          /* empty when not about a key */
        char text[DIAG_TEXT_MAX];
        char file_copy[256];    /* file points here when its owner is gone */
};

/* Fill err (when not NULL) and return -code, so callers can write
 * "return diag_set(err, ...);". code is a positive errno or shim_err. */
int diag_set(struct diag *err, int code, const char *file, unsigned line,
             const char *key, const char *fmt, ...)
        __attribute__((format(printf, 6, 7)));

/* Print "file:line: key: text" (parts that are empty are left out). */
void diag_print(const struct diag *err);

void log_msg(enum log_level lvl, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

#endif
