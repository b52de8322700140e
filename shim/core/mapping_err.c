/* SPDX-License-Identifier: MIT */
/* Errors of the mapping loader as file:line: key: the line is found by
 * looking up the rule's name and the key in the file text, since the JSON
 * tree keeps no positions. Every error is reported (printed when the
 * loader prints them all), and the first is kept for the caller. The
 * leaf that mapping_load.c, mapping_rule.c and mapping_template.c share. */
#include "core/mapping_loader.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static unsigned line_at(const char *text, size_t off)
{
        unsigned line = 1;

        for (size_t i = 0; i < off; i++)
                line += text[i] == '\n';
        return line;
}

/* Offset of "needle" (quoted) in text at or after from, or -1. */
static long find_quoted(const struct loader *ld, size_t from, const char *needle)
{
        size_t nl = strlen(needle);

        for (size_t i = from; i + nl + 2 <= ld->len; i++)
                if (ld->text[i] == '"' && memcmp(ld->text + i + 1, needle, nl) == 0 &&
                    ld->text[i + 1 + nl] == '"')
                        return (long)i;
        return -1;
}

/* Offset of the "rule": "name" pair that names a rule, or -1. The name
 * alone is not enough: an earlier value may be the same word. */
static long find_rule(const struct loader *ld, const char *name)
{
        size_t nl = strlen(name);
        long at = -1;

        while ((at = find_quoted(ld, (size_t)(at + 1), "rule")) >= 0) {
                size_t i = (size_t)at + 6;

                while (i < ld->len && ld->text[i] && strchr(" \t\r\n:", ld->text[i]))
                        i++;
                if (i + nl + 2 <= ld->len && ld->text[i] == '"' &&
                    memcmp(ld->text + i + 1, name, nl) == 0 && ld->text[i + 1 + nl] == '"')
                        return at;
        }
        return -1;
}

static void report(struct loader *ld, const struct diag *d)
{
        if (ld->print_all)
                diag_print(d);
        if (ld->nerr++ == 0 && ld->first)
                *ld->first = *d;
}

void mapping_err(struct loader *ld, const char *rule, const char *key, const char *fmt, ...)
{
        struct diag d;
        char key_text[sizeof(d.key)];
        long at = 0, k;
        va_list ap;

        if (rule && (at = find_rule(ld, rule)) < 0)
                at = 0;
        if (key && (k = find_quoted(ld, (size_t)at, key)) >= 0)
                at = k;
        d.file = ld->path;
        d.line = line_at(ld->text, (size_t)at);
        if (rule)
                snprintf(key_text, sizeof(key_text), "rule %.60s%s%.90s", rule,
                         key ? ": " : "", key ? key : "");
        else
                snprintf(key_text, sizeof(key_text), "%s", key ? key : "");
        snprintf(d.key, sizeof(d.key), "%s", key_text);
        va_start(ap, fmt);
        vsnprintf(d.text, sizeof(d.text), fmt, ap);
        va_end(ap);
        report(ld, &d);
}

void mapping_err_at(struct loader *ld, size_t off, const char *text)
{
        struct diag d = { .file = ld->path, .line = line_at(ld->text, off) };

        snprintf(d.text, sizeof(d.text), "%s", text);
        report(ld, &d);
}

