/* SPDX-License-Identifier: MIT */
/* Fault injection for the tests in tests/fault/: wrappers that the linker
 * puts between the shim's objects and libc (-Wl,--wrap=SYMBOL), and the
 * switches that make them fail. inject_alloc.c wraps malloc, calloc,
 * realloc and strdup; inject_io.c wraps open, write, fsync, close and
 * rename. Only references in statically linked objects are redirected:
 * allocations inside libfastjson, PCRE2 or libc itself are not counted.
 * The switches are globals because a wrapper has no other way to learn
 * them; a test arms them around the call under test only. */
#ifndef SHIM_INJECT_H
#define SHIM_INJECT_H

#include <stddef.h>

/* ---- allocations ------------------------------------------------------ */

struct inject_alloc {
        int armed;              /* count and fail only while set */
        unsigned long fail_at;  /* the call that fails, from 1 (0: none) */
        int persist;            /* every call from fail_at on fails too */
        unsigned long calls;    /* calls seen since inject_alloc_arm */
        unsigned long failed;   /* calls made to fail */
};

extern struct inject_alloc inject_alloc;

/* Count allocation calls from now on and fail the fail_at-th one (and,
 * with persist, every later one). */
void inject_alloc_arm(unsigned long fail_at, int persist);
void inject_alloc_disarm(void);

/* ---- checkpoint I/O --------------------------------------------------- */

enum inject_fn { INJ_OPEN, INJ_WRITE, INJ_FSYNC, INJ_CLOSE, INJ_RENAME, INJ__COUNT };

/* The exit status of a process that inject_io made "crash". */
#define INJECT_CRASH_STATUS 86

struct inject_io {
        int armed;
        unsigned long calls[INJ__COUNT];        /* per function, while armed */
        enum inject_fn fn;      /* the function that fails ... */
        unsigned long nth;      /* ... on this call, from 1 (0: none) */
        int persist;            /* ... and on every later one */
        int err;                /* errno it fails with; 0 with fn INJ_WRITE:
                                   write() returns 0 */
        int crash;              /* _exit(INJECT_CRASH_STATUS) instead, before
                                   the call does anything */
        size_t write_max;       /* a write takes at most this many bytes
                                   (0: all it is given) */
};

extern struct inject_io inject_io;

/* Arm with the given plan (calls are reset); disarm passes every call
 * through again. */
void inject_io_arm(const struct inject_io *plan);
void inject_io_disarm(void);

#endif
