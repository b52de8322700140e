/* SPDX-License-Identifier: MIT */
/* See dlib.h. */
#include "base/dlib.h"

#include <dlfcn.h>
#include <errno.h>

int dlib_load(void **handle, const char *soname, const struct dlib_sym *syms, size_t n,
              struct diag *err)
{
        void *h;

        if (*handle)
                return 0;
        h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
        if (!h)
                return diag_set(err, ELIBACC, NULL, 0, NULL, "cannot load %s: %s", soname,
                                dlerror());
        for (size_t i = 0; i < n; i++) {
                *syms[i].slot = dlsym(h, syms[i].name);
                if (!*syms[i].slot) {
                        diag_set(err, ELIBACC, NULL, 0, NULL, "%s has no %s", soname,
                                 syms[i].name);
                        dlclose(h);
                        return -ELIBACC;
                }
        }
        *handle = h;
        return 0;
}
