/* SPDX-License-Identifier: MIT */
/* Libraries loaded when an output first needs them, not at start. librelp
 * (with GnuTLS behind it) and librdkafka are most of what the binary would
 * map and relocate at start, about 3.8 MiB of resident memory, for outputs
 * most installations do not use. The function pointers are typed from the
 * libraries' own headers (__typeof__), so a call is checked as before. */
#ifndef SHIM_DLIB_H
#define SHIM_DLIB_H

#include <stddef.h>

#include "base/log.h"

struct dlib_sym {
        const char *name;
        void **slot;            /* where the address goes */
};

/* Load soname once (later calls return at once) and fill every slot.
 * Returns 0, or -ELIBACC with err saying which library or symbol is
 * missing; *handle stays NULL then, and the slots must not be called. */
int dlib_load(void **handle, const char *soname, const struct dlib_sym *syms, size_t n,
              struct diag *err);

#endif
