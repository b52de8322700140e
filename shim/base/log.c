/* SPDX-License-Identifier: MIT */
/* Diagnostics to stderr, one line per message, prefixed with the program
 * name and a severity word. Journald picks the <N> prefix up when the
 * daemon runs under systemd; that arrives with the run mode. */
#include "base/log.h"

#include <stdio.h>
#include <string.h>

enum log_level log_max_level = LOG_LVL_NOTICE;

int diag_set(struct diag *err, int code, const char *file, unsigned line,
             const char *key, const char *fmt, ...)
{
        va_list ap;

        if (err) {
                err->file = file;
                err->line = line;
                snprintf(err->key, sizeof(err->key), "%s", key ? key : "");
                va_start(ap, fmt);
                vsnprintf(err->text, sizeof(err->text), fmt, ap);
                va_end(ap);
        }
        return code > 0 ? -code : code;
}

void diag_print(const struct diag *err)
{
        char where[1024] = "";
        size_t n = 0;

        if (err->file)
                n += (size_t)snprintf(where + n, sizeof(where) - n, "%s:", err->file);
        if (err->file && err->line && n < sizeof(where))
                n += (size_t)snprintf(where + n, sizeof(where) - n, "%u:", err->line);
        if (err->key[0] && n < sizeof(where))
                snprintf(where + n, sizeof(where) - n, "%s%s:", n ? " " : "", err->key);
        fprintf(stderr, "smartermail-shim: %s%s%s\n", where, where[0] ? " " : "", err->text);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
        static const char *const word[] = {
                [LOG_LVL_ERR] = "error", [LOG_LVL_WARNING] = "warning",
                [LOG_LVL_NOTICE] = "notice", [LOG_LVL_INFO] = "info",
                [LOG_LVL_DEBUG] = "debug",
        };
        va_list ap;

        if (lvl > log_max_level)
                return;
        fprintf(stderr, "smartermail-shim: %s: ", word[lvl]);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}
