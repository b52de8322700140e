/* SPDX-License-Identifier: MIT */
/* The allocation wrappers (link with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup). A failed
 * call returns NULL with errno ENOMEM, as libc does, and allocates
 * nothing: a failed realloc leaves the old block alone. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inject.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

struct inject_alloc inject_alloc;

void inject_alloc_arm(unsigned long fail_at, int persist)
{
        inject_alloc = (struct inject_alloc){ .armed = 1, .fail_at = fail_at,
                                              .persist = persist };
}

void inject_alloc_disarm(void)
{
        inject_alloc.armed = 0;
}

/* Whether this call fails. */
static int fail_now(void)
{
        struct inject_alloc *a = &inject_alloc;

        if (!a->armed)
                return 0;
        a->calls++;
        if (!a->fail_at || a->calls < a->fail_at || (a->calls > a->fail_at && !a->persist))
                return 0;
        a->failed++;
        errno = ENOMEM;
        return 1;
}

void *__wrap_malloc(size_t n)
{
        return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
        return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
        return fail_now() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
        return fail_now() ? NULL : __real_strdup(s);
}
