/* SPDX-License-Identifier: MIT */
/* What the three parts of loading a mappings directory share: the loader
 * state, its error reporter, and the compilers each part calls.
 * mapping_load.c reads the directory and the files, mapping_rule.c checks a
 * file's object and compiles its rules, mapping_template.c compiles field
 * setters and templates. Private to those files. */
#ifndef SHIM_MAPPING_LOADER_H
#define SHIM_MAPPING_LOADER_H

#include <errno.h>
#include <libfastjson/json.h>

#include "core/mapping_int.h"

struct loader {
        const char *path;
        const char *text;
        size_t len;
        struct keys *keys;
        int print_all;
        int nerr;
        struct diag *first;
};

/* Report a problem with rule (may be NULL: the file header) and key (may
 * be NULL) as file:line: key: text; the line is where the rule's name and
 * the key stand in the file text. Counts it; prints it when print_all. */
__attribute__((format(printf, 4, 5)))
void mapping_err(struct loader *ld, const char *rule, const char *key, const char *fmt, ...);
/* Report at a byte offset of the file text, with no key. */
void mapping_err_at(struct loader *ld, size_t off, const char *text);

/* A NUL-terminated copy of p[0..n), or NULL. */
char *mapping_dup_n(const char *p, size_t n);
/* Intern field; reports and returns a negative errno when it is no field. */
int mapping_add_key(struct loader *ld, const char *rule, const char *field);
/* Free what a setter owns; it may be half built (memset to 0 first). */
void mapping_setter_done(struct setter *st);
/* Compile a "set" (re: the rule's pattern) or "fields" (re NULL) object
 * into set[*nset...]. Returns 0, -EINVAL after reporting, or -ENOMEM. */
int mapping_compile_sets(struct loader *ld, const char *rule, const pcre2_code *re,
                         fjson_object *obj, struct setter *set, unsigned *nset);
/* Fill m from a file's JSON object. Returns 0, -EINVAL after reporting
 * every problem, or -ENOMEM; m is left for mapping_done either way. */
int mapping_load_object(struct loader *ld, struct mapping *m, fjson_object *root);

/* Keep going after an error to report every one, but stop at -ENOMEM:
 * folds e into *ret and returns 1 when the caller must return e. */
static inline int mapping_fold(int *ret, int e)
{
        if (e < 0)
                *ret = e;
        return e == -ENOMEM;
}

#endif
