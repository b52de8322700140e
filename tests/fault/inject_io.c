/* SPDX-License-Identifier: MIT */
/* The I/O wrappers (link with
 * -Wl,--wrap=open,--wrap=write,--wrap=fsync,--wrap=close,--wrap=rename).
 * A failing close still closes the descriptor, as Linux does, so that a
 * test of it leaks nothing. A "crash" is _exit(): no atexit handler, no
 * stdio flush, the files as the kernel has them. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "inject.h"

int __real_open(const char *path, int flags, ...);
ssize_t __real_write(int fd, const void *p, size_t n);
int __real_fsync(int fd);
int __real_close(int fd);
int __real_rename(const char *from, const char *to);
int __wrap_open(const char *path, int flags, ...);
ssize_t __wrap_write(int fd, const void *p, size_t n);
int __wrap_fsync(int fd);
int __wrap_close(int fd);
int __wrap_rename(const char *from, const char *to);

struct inject_io inject_io;

void inject_io_arm(const struct inject_io *plan)
{
        inject_io = *plan;
        for (int i = 0; i < INJ__COUNT; i++)
                inject_io.calls[i] = 0;
        inject_io.armed = 1;
}

void inject_io_disarm(void)
{
        inject_io.armed = 0;
}

/* 0 when the call goes ahead; else the errno it fails with (-1 for a
 * write that returns 0). Crashes here when the plan says so. */
static int fail_now(enum inject_fn fn)
{
        struct inject_io *io = &inject_io;
        unsigned long c;

        if (!io->armed)
                return 0;
        c = ++io->calls[fn];
        if (fn != io->fn || !io->nth || c < io->nth || (c > io->nth && !io->persist))
                return 0;
        if (io->crash)
                _exit(INJECT_CRASH_STATUS);
        return io->err ? io->err : -1;
}

int __wrap_open(const char *path, int flags, ...)
{
        mode_t mode = 0;
        int e;

        if (flags & (O_CREAT | O_TMPFILE)) {
                va_list ap;
                va_start(ap, flags);
                mode = (mode_t)va_arg(ap, int);
                va_end(ap);
        }
        if ((e = fail_now(INJ_OPEN))) {
                errno = e > 0 ? e : EIO;
                return -1;
        }
        return __real_open(path, flags, mode);
}

ssize_t __wrap_write(int fd, const void *p, size_t n)
{
        int e = fail_now(INJ_WRITE);

        if (e == -1)
                return 0;
        if (e) {
                errno = e;
                return -1;
        }
        if (inject_io.armed && inject_io.write_max && n > inject_io.write_max)
                n = inject_io.write_max;
        return __real_write(fd, p, n);
}

int __wrap_fsync(int fd)
{
        int e = fail_now(INJ_FSYNC);

        if (e) {
                errno = e > 0 ? e : EIO;
                return -1;
        }
        return __real_fsync(fd);
}

int __wrap_close(int fd)
{
        int e = fail_now(INJ_CLOSE);

        if (e) {
                (void)__real_close(fd);     /* the descriptor is gone either way */
                errno = e > 0 ? e : EIO;
                return -1;
        }
        return __real_close(fd);
}

int __wrap_rename(const char *from, const char *to)
{
        int e = fail_now(INJ_RENAME);

        if (e) {
                errno = e > 0 ? e : EIO;
                return -1;
        }
        return __real_rename(from, to);
}
