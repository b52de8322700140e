/* SPDX-License-Identifier: MIT */
/* The option table rendered for people: the effective settings as a config
 * file (check-config), the commented config template, and the generated
 * parts of the man pages. Each reads the option tables (opts_next) and
 * nothing else, so none of them can say something the parser does not do.
 * Also --help and the Markdown table of docs/options.md. */
#include "base/options.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#define WRAP_COLS 76    /* comment lines of the config template */

/* The idx-th word of "a|b|c", as pointer and length. */
static const char *choice_word(const char *choices, int idx, int *ret_len)
{
        const char *p = choices;

        for (int i = 0; i < idx && p; i++) {
                p = strchr(p, '|');
                if (p)
                        p++;
        }
        if (!p)
                return NULL;
        *ret_len = (int)strcspn(p, "|");
        return p;
}

/* The config loader keeps spaces inside a value but trims them around it,
 * and cuts an unquoted value at '#': quote those. A quoted value ends at
 * its last '"', so quotes inside need no escaping. */
static void put_value(FILE *f, const char *v)
{
        size_t n = strlen(v);

        if (n && (strchr(v, '#') || v[0] == '"' || strchr(" \t", v[0]) || strchr(" \t", v[n - 1])))
                fprintf(f, "\"%s\"", v);
        else
                fputs(v, f);
}

/* Every item of a list option as a config line of its own: as
 * PREFIXNAME = VALUE for a list with a prefix (kafka.NAME = VALUE), the
 * value hidden when its secret rule says so; as KEY = ITEM otherwise. */
static void dump_list(FILE *f, const struct opt_spec *s, const char *list)
{
        for (const char *p = list; p && *p;) {
                size_t len = strcspn(p, "\n");
                const char *eq = memchr(p, '=', len);

                if (!s->prefix) {
                        char v[4096];

                        snprintf(v, sizeof(v), "%.*s", (int)len, p);
                        fprintf(f, "%s = ", s->name);
                        put_value(f, v);
                        fputc('\n', f);
                } else if (eq && s->secret && s->secret(p, (size_t)(eq - p)))
                        fprintf(f, "# %s%.*s = (hidden)\n", s->prefix, (int)(eq - p), p);
                else if (eq) {
                        char v[4096];

                        snprintf(v, sizeof(v), "%.*s", (int)(len - (size_t)(eq - p) - 1), eq + 1);
                        fprintf(f, "%s%.*s = ", s->prefix, (int)(eq - p), p);
                        put_value(f, v);
                        fputc('\n', f);
                }
                p += len;
                if (*p == '\n')
                        p++;
        }
}

void opts_dump(FILE *f, const struct shim_opts *o)
{
        for (const struct opt_spec *s = opts_next(NULL); s; s = opts_next(s)) {
                const void *v = opts_value_const(o, s);
                const char *w;
                int len;

                if (!(s->modes & MODE_RUN) || !opts_in_config(s))
                        continue;
                if (s->type == OPT_LIST) {
                        dump_list(f, s, *(char *const *)v);
                        continue;
                }
                fprintf(f, "%s =", s->name);
                if (s->type != OPT_STR || (*(char *const *)v && **(char *const *)v))
                        fputc(' ', f);
                switch (s->type) {
                case OPT_STR:
                        put_value(f, *(char *const *)v ? *(char *const *)v : "");
                        break;
                case OPT_BOOL:
                        fputs(*(const int *)v ? "true" : "false", f);
                        break;
                case OPT_SIZE:
                        fprintf(f, "%zu", *(const size_t *)v);
                        break;
                case OPT_UINT:
                        fprintf(f, "%lu", *(const unsigned long *)v);
                        break;
                case OPT_ENUM:
                        w = choice_word(s->choices, *(const int *)v, &len);
                        fprintf(f, "%.*s", w ? len : 0, w ? w : "");
                        break;
                case OPT_LIST:
                        break;  /* above */
                }
                fputc('\n', f);
        }
}

/* text as "# " comment lines of at most WRAP_COLS columns. */
static void put_wrapped(FILE *f, const char *text)
{
        const char *p = text;

        while (*p) {
                size_t room = WRAP_COLS - 2, len = strlen(p), cut = len;

                if (len > room) {
                        cut = room;
                        while (cut > 0 && p[cut] != ' ')
                                cut--;
                        if (cut == 0)           /* one long word: let it overflow */
                                cut = strcspn(p, " ");
                }
                fprintf(f, "# %.*s\n", (int)cut, p);
                p += cut;
                while (*p == ' ')
                        p++;
        }
}

/* "One of: a, b, c." (choices are a few short words; n is ample). */
static void choices_sentence(char *out, size_t n, const char *choices)
{
        size_t o = (size_t)snprintf(out, n, "One of: ");

        for (const char *c = choices; *c && o + 4 < n; c++) {
                if (*c == '|') {
                        out[o++] = ',';
                        out[o++] = ' ';
                } else {
                        out[o++] = *c;
                }
        }
        out[o++] = '.';
        out[o] = '\0';
}

/* What values s takes, as a sentence ("" when its description says it). */
static void kind_sentence(char *out, size_t n, const struct opt_spec *s)
{
        const char *what = s->type == OPT_SIZE ? "Bytes, with an optional K, M or G suffix"
                                               : "A whole number";

        out[0] = '\0';
        switch (s->type) {
        case OPT_ENUM:
                choices_sentence(out, n, s->choices);
                return;
        case OPT_BOOL:
                snprintf(out, n, "Either true or false.");
                return;
        case OPT_SIZE:
        case OPT_UINT:
                if (s->max)
                        snprintf(out, n, "%s, from %lu to %lu.", what, s->min, s->max);
                else
                        snprintf(out, n, "%s.", what);
                return;
        case OPT_STR:
        case OPT_LIST:
                return;
        }
}

void opts_config_template(FILE *f)
{
        for (const struct opt_spec *s = opts_next(NULL); s; s = opts_next(s)) {
                char text[1024], kind[256];

                if (!(s->modes & MODE_RUN) || !opts_in_config(s))
                        continue;
                kind_sentence(kind, sizeof(kind), s);
                snprintf(text, sizeof(text), "%s%s%s", s->desc, kind[0] ? " " : "", kind);
                fputc('\n', f);
                put_wrapped(f, text);
                fprintf(f, "#%s =%s", s->name, s->def[0] ? " " : "");
                put_value(f, s->def);
                fputc('\n', f);
        }
}

/* text for roff: '-' as \- (an ASCII minus that copies and pastes),
 * backslashes as \e, and a '.' or '\'' at the start kept from being read
 * as a request. */
static void put_roff(FILE *f, const char *text)
{
        if (text[0] == '.' || text[0] == '\'')
                fputs("\\&", f);
        for (const char *p = text; *p; p++) {
                if (*p == '-')
                        fputs("\\-", f);
                else if (*p == '\\')
                        fputs("\\e", f);
                else
                        fputc(*p, f);
        }
}

/* The paragraph under an option, the same words as in --help. */
static void man_desc(FILE *f, const struct opt_spec *s)
{
        put_roff(f, s->desc);
        if (s->type == OPT_ENUM) {
                fputs(" One of: ", f);
                put_roff(f, s->choices);
                fputc('.', f);
        }
        if (s->def[0] && opts_in_config(s)) {
                fputs(" Default: ", f);
                put_roff(f, s->def);
                fputc('.', f);
        }
        fputc('\n', f);
}

static void man_modes(FILE *f, unsigned modes)
{
        static const struct { unsigned bit; const char *name; } m[] = {
                { MODE_RUN, "run" }, { MODE_PARSE, "parse" }, { MODE_SEARCH, "search" },
                { MODE_REPORT, "report" }, { MODE_FIELDS, "fields" },
        };
        const char *sep = " (";

        for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
                if (modes & m[i].bit) {
                        fprintf(f, "%s%s", sep, m[i].name);
                        sep = ", ";
                }
        fputs(")", f);
}

int opts_man(FILE *f, int section)
{
        if (section != 1 && section != 5)
                return -EINVAL;
        for (const struct opt_spec *s = opts_next(NULL); s; s = opts_next(s)) {
                if (section == 5 && (!(s->modes & MODE_RUN) || !opts_in_config(s)))
                        continue;
                fputs(".TP\n", f);
                if (section == 1) {
                        if (s->short_name)
                                fprintf(f, "\\fB\\-%c\\fR, ", s->short_name);
                        fputs("\\fB\\-\\-", f);
                        put_roff(f, s->name);
                        fputs("\\fR", f);
                        if (s->arg) {
                                fputs(" \\fI", f);
                                put_roff(f, s->arg);
                                fputs("\\fR", f);
                        }
                        man_modes(f, s->modes);
                } else {
                        fputs("\\fB", f);
                        put_roff(f, s->name);
                        fputs("\\fR = \\fI", f);
                        put_roff(f, s->arg ? s->arg : "true|false");
                        fputs("\\fR", f);
                }
                fputc('\n', f);
                man_desc(f, s);
        }
        return 0;
}

static void help_name(char *out, size_t n, const struct opt_spec *s)
{
        if (s->short_name)
                snprintf(out, n, "-%c, --%s%s%s", s->short_name, s->name,
                         s->arg ? " " : "", s->arg ? s->arg : "");
        else
                snprintf(out, n, "    --%s%s%s", s->name, s->arg ? " " : "", s->arg ? s->arg : "");
}

void opts_help(FILE *f, unsigned mode)
{
        for (const struct opt_spec *s = opts_next(NULL); s; s = opts_next(s)) {
                char name[80];

                if (!(s->modes & mode))
                        continue;
                help_name(name, sizeof(name), s);
                fprintf(f, "  %-32s %s", name, s->desc);
                if (s->type == OPT_ENUM)
                        fprintf(f, " One of: %s.", s->choices);
                if (s->def[0] && strcmp(s->name, "help") && strcmp(s->name, "version"))
                        fprintf(f, " Default: %s.", s->def);
                fputc('\n', f);
        }
}

void opts_markdown(FILE *f)
{
        static const char *const type_names[] = {
                [OPT_STR] = "text", [OPT_BOOL] = "boolean", [OPT_SIZE] = "size",
                [OPT_ENUM] = "choice", [OPT_UINT] = "number", [OPT_LIST] = "list",
        };

        fprintf(f, "| option | type | default | modes | meaning |\n");
        fprintf(f, "|---|---|---|---|---|\n");
        for (const struct opt_spec *s = opts_next(NULL); s; s = opts_next(s)) {
                fprintf(f, "| `--%s`", s->name);
                if (s->short_name)
                        fprintf(f, " (`-%c`)", s->short_name);
                fprintf(f, " | %s | %s%s%s | %s%s%s%s%s | %s", type_names[s->type],
                        s->def[0] ? "`" : "", s->def[0] ? s->def : "(empty)", s->def[0] ? "`" : "",
                        (s->modes & MODE_RUN) ? "run " : "", (s->modes & MODE_PARSE) ? "parse " : "",
                        (s->modes & MODE_SEARCH) ? "search " : "",
                        (s->modes & MODE_REPORT) ? "report " : "",
                        (s->modes & MODE_FIELDS) ? "fields" : "", s->desc);
                if (s->type == OPT_ENUM)
                        fprintf(f, " One of: `%s`.", s->choices);
                fprintf(f, " |\n");
        }
}
