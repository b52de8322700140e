/* SPDX-License-Identifier: MIT */
/* Loading a mappings directory: every *.json file in it, in name order, one
 * JSON object (comments allowed) per file, read with libfastjson and
 * compiled by mapping_rule.c. Errors name file:line: key; the line is found
 * by looking up the rule's name and the key in the file text, since the
 * JSON tree keeps no positions. Every error is reported, not only the
 * first. */
#include "core/mapping_loader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- files ------------------------------------------------------------ */

/* Skip white space and comments; returns the offset of the next byte. */
static size_t skip_ws(const char *t, size_t n, size_t i)
{
        while (i < n) {
                if (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n') {
                        i++;
                } else if (t[i] == '/' && i + 1 < n && t[i + 1] == '/') {
                        while (i < n && t[i] != '\n')
                                i++;
                } else if (t[i] == '/' && i + 1 < n && t[i + 1] == '*') {
                        const char *e = strstr(t + i + 2, "*/");
                        if (!e)
                                return i;
                        i = (size_t)(e - t) + 2;
                } else {
                        break;
                }
        }
        return i;
}

static int read_all(const char *path, char **ret_text, size_t *ret_len)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        char *text;
        size_t got = 0;

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || st.st_size > (off_t)MAPPING_FILE_BYTES) {
                int e = st.st_size > (off_t)MAPPING_FILE_BYTES ? EFBIG : errno;
                close(fd);
                return -e;
        }
        text = malloc((size_t)st.st_size + 1);
        if (!text) {
                close(fd);
                return -ENOMEM;
        }
        while (got < (size_t)st.st_size) {
                ssize_t r = read(fd, text + got, (size_t)st.st_size - got);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                got += (size_t)r;
        }
        close(fd);
        text[got] = '\0';
        *ret_text = text;
        *ret_len = got;
        return 0;
}

static int load_file(struct loader *ld, struct mapping *m)
{
        struct fjson_tokener *tok;
        fjson_object *root;
        int ret;

        tok = fjson_tokener_new();
        if (!tok)
                return -ENOMEM;
        root = fjson_tokener_parse_ex(tok, ld->text, (int)ld->len);
        if (!root) {
                enum fjson_tokener_error e = fjson_tokener_get_error(tok);
                char text[DIAG_TEXT_MAX];

                /* report the line the tokenizer stopped on */
                snprintf(text, sizeof(text), "invalid JSON: %s",
                         e == fjson_tokener_continue ? "unexpected end of file"
                                                     : fjson_tokener_error_desc(e));
                mapping_err_at(ld, (size_t)tok->char_offset, text);
                fjson_tokener_free(tok);
                return -EINVAL;
        }
        if (skip_ws(ld->text, ld->len, (size_t)tok->char_offset) < ld->len) {
                mapping_err_at(ld, (size_t)tok->char_offset,
                               "text after the end of the JSON object");
                fjson_object_put(root);
                fjson_tokener_free(tok);
                return -EINVAL;
        }
        fjson_tokener_free(tok);
        ret = mapping_load_object(ld, m, root);
        fjson_object_put(root);
        return ret;
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static void mapping_done(struct mapping *m)
{
        for (unsigned i = 0; m->types && i < m->ntypes; i++)
                free(m->types[i]);
        free(m->types);
        free(m->log_type);
        free(m->path);
        for (unsigned i = 0; i < m->nconst; i++)
                mapping_setter_done(&m->consts[i]);
        for (unsigned i = 0; m->rules && i < m->nrules; i++) {
                struct rule *r = &m->rules[i];
                free(r->name);
                free(r->prefix);
                pcre2_code_free(r->re);
                for (unsigned s = 0; s < r->nset; s++)
                        mapping_setter_done(&r->set[s]);
        }
        free(m->rules);
}

void mapping_free(struct mapping_set *ms)
{
        if (!ms)
                return;
        for (unsigned i = 0; i < ms->n; i++)
                mapping_done(&ms->m[i]);
        pcre2_match_data_free(ms->md);
        free(ms);
}

/* Check that no two files claim one type and that one file is generic. */
static int check_types(struct loader *ld, struct mapping_set *ms)
{
        int ret = 0;

        for (unsigned i = 0; i < ms->n; i++)
                for (unsigned t = 0; t < ms->m[i].ntypes; t++)
                        for (unsigned j = 0; j <= i; j++)
                                for (unsigned u = 0; u < (j == i ? t : ms->m[j].ntypes); u++)
                                        if (strcmp(ms->m[i].types[t], ms->m[j].types[u]) == 0) {
                                                ld->path = ms->m[i].path;
                                                ld->text = "";
                                                ld->len = 0;
                                                mapping_err(ld, NULL, "log_types",
                                                     "type %s is already mapped by %s",
                                                     ms->m[i].types[t], ms->m[j].path);
                                                ret = -EINVAL;
                                        }
        for (unsigned i = 0; i < ms->n; i++)
                if (ms->m[i].generic)
                        ms->generic = &ms->m[i];
        return ret;
}

/* The paths of the *.json files in dir, not hidden ones, sorted. Returns
 * 0, -ENOMEM, or -EINVAL (more than MAPPING_FILES_MAX, in err); *ret_n
 * names the paths made either way, for the caller to free. */
static int list_dir(const char *dir, char **names, unsigned *ret_n, struct diag *err)
{
        struct dirent *de;
        unsigned n = 0;
        DIR *d;
        int r = 0;

        d = opendir(dir);
        if (!d) {
                int e = errno;
                return diag_set(err, e, dir, 0, NULL, "cannot open the mappings directory: %s",
                                strerror(e));
        }
        while ((de = readdir(d))) {
                size_t l = strlen(de->d_name);
                if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0 || de->d_name[0] == '.')
                        continue;
                if (n == MAPPING_FILES_MAX) {
                        r = diag_set(err, EINVAL, dir, 0, NULL, "more than %d mapping files",
                                     MAPPING_FILES_MAX);
                        break;
                }
                if (!(names[n] = malloc(strlen(dir) + l + 2))) {
                        r = -ENOMEM;
                        break;
                }
                sprintf(names[n++], "%s/%s", dir, de->d_name);
        }
        closedir(d);
        qsort(names, n, sizeof(names[0]), cmp_names);
        *ret_n = n;
        return r;
}

/* Read and compile one file into the next mapping of ms, which takes path.
 * Returns 0 (its errors are counted in ld), or -ENOMEM, or the read error
 * (in err). */
static int load_one(struct loader *ld, struct mapping_set *ms, char *path, struct diag *err)
{
        struct mapping *m = &ms->m[ms->n++];
        char *text = NULL;
        int e;

        m->set = ms;
        m->path = path;
        for (int k = 0; k < 3; k++)
                for (int j = 0; j < BRACKET_FIELDS_MAX; j++)
                        m->br_key[k][j] = -1;
        e = read_all(m->path, &text, &ld->len);
        if (e < 0) {
                e = diag_set(err, -e, m->path, 0, NULL, "cannot read: %s", strerror(-e));
                if (ld->print_all)
                        diag_print(err);
                return e;
        }
        ld->path = m->path;
        ld->text = text;
        e = load_file(ld, m);
        free(text);
        return e == -ENOMEM ? e : 0;
}

/* The checks on the whole set, once every file loaded. */
static int finish_set(struct loader *ld, struct mapping_set *ms, const char *dir,
                      struct diag *err)
{
        if (check_types(ld, ms) < 0 || ld->nerr)
                return -EINVAL;
        if (!ms->generic) {
                int r = diag_set(err, EINVAL, dir, 0, NULL,
                                 "no generic mapping (a file with \"log_types\": [\"*\"])");
                if (ld->print_all)
                        diag_print(err);
                return r;
        }
        ms->md = pcre2_match_data_create(MAPPING_GROUPS_MAX + 1, NULL);
        return ms->md ? 0 : -ENOMEM;
}

int mapping_load(struct mapping_set **ret, const char *dir, struct keys *keys,
                 int print_all, struct diag *err)
{
        struct loader ld = { .keys = keys, .print_all = print_all, .first = err };
        struct mapping_set *ms;
        char *names[MAPPING_FILES_MAX];
        unsigned nnames = 0;
        int r;

        ms = calloc(1, sizeof(*ms));
        if (!ms)
                return -ENOMEM;
        r = list_dir(dir, names, &nnames, err);
        for (unsigned i = 0; r == 0 && i < nnames; i++) {
                r = load_one(&ld, ms, names[i], err);
                names[i] = NULL;        /* ms's now */
        }
        for (unsigned i = 0; i < nnames; i++)
                free(names[i]);
        if (r == 0)
                r = finish_set(&ld, ms, dir, err);
        if (r < 0) {
                /* err->file may be a mapping's path, which dies with ms */
                for (unsigned i = 0; err && err->file && i < ms->n; i++)
                        if (err->file == ms->m[i].path) {
                                snprintf(err->file_copy, sizeof(err->file_copy), "%s", err->file);
                                err->file = err->file_copy;
                        }
                mapping_free(ms);
                return r;
        }
        *ret = ms;
        return 0;
}

const struct mapping *mapping_for_type(const struct mapping_set *ms, const char *type)
{
        for (unsigned i = 0; i < ms->n; i++)
                for (unsigned t = 0; t < ms->m[i].ntypes; t++)
                        if (strcmp(ms->m[i].types[t], type) == 0)
                                return &ms->m[i];
        return ms->generic;
}

const char *mapping_log_type(const struct mapping *m)
{
        return m->log_type;
}

unsigned mapping_rule_count(const struct mapping *m)
{
        return m->nrules;
}

