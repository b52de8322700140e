/* SPDX-License-Identifier: MIT */
/* Log files and their identity. The fingerprint is the first
 * CKPT_FP_BYTES bytes of the file (fewer while it is shorter); two
 * fingerprints agree when their common prefix is equal. A day's file that
 * SmarterMail compressed into NAME.zip is read from the archive with libzip
 * (the searches read archives in query/logset.c, which the daemon's layer
 * may not use). */
#include "daemon/logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <zip.h>

#include "core/logname.h"
#include "core/normalize.h"

int logfile_is_log(const char *name, const char *types, char *type, size_t type_len,
                int *y, int *mo, int *d)
{
        return norm_name_info(name, type, type_len, y, mo, d) == 0 &&
               logname_type_listed(types, type);
}

static void fill_fp(struct logfile *t)
{
        ssize_t r;

        if (t->fp_len >= CKPT_FP_BYTES)
                return;
        r = pread(t->fd, t->fp, CKPT_FP_BYTES, 0);
        if (r > (ssize_t)t->fp_len)
                t->fp_len = (uint32_t)r;
}

/* t->path and t->name for dir/name. */
static int set_name(struct logfile *t, const char *dir, const char *name)
{
        size_t l = strlen(dir) + strlen(name) + 2;

        if (strlen(name) >= CKPT_NAME_MAX)
                return -ENAMETOOLONG;
        if (!t->path) {
                t->path = malloc(l);
                if (!t->path)
                        return -ENOMEM;
                snprintf(t->path, l, "%s/%s", dir, name);
        }
        if (name != t->name)
                snprintf(t->name, sizeof(t->name), "%s", name);
        return 0;
}

/* The identity of the regular file open on t->fd. */
static int take_identity(struct logfile *t)
{
        struct stat st;

        if (fstat(t->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                int e = S_ISREG(st.st_mode) ? -errno : -EINVAL;
                logfile_close(t);
                return e;
        }
        t->dev = (uint64_t)st.st_dev;
        t->ino = (uint64_t)st.st_ino;
        t->size = (uint64_t)st.st_size;
        t->fp_len = 0;
        fill_fp(t);
        return 0;
}

static int logfile_open_fd(struct logfile *t, const char *dir, const char *name)
{
        int r = set_name(t, dir, name);

        return r < 0 ? r : take_identity(t);
}

int logfile_open(struct logfile *t, const char *dir, const char *name)
{
        int r = set_name(t, dir, name);

        if (r < 0)
                return r;
        /* non-blocking: opening a FIFO for reading would wait for a
         * writer, forever; then only a regular file is kept (a device
         * never ends, a FIFO's bytes cannot be read again) */
        t->fd = open(t->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (t->fd < 0)
                return -errno;
        return take_identity(t);
}

void logfile_close(struct logfile *t)
{
        if (t->fd >= 0)
                close(t->fd);
        t->fd = -1;
}

ssize_t logfile_read(struct logfile *t, uint64_t offset, char *buf, size_t len)
{
        ssize_t r;

        do
                r = pread(t->fd, buf, len, (off_t)offset);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return -errno;
        if (offset < CKPT_FP_BYTES && t->fp_len < CKPT_FP_BYTES && r > 0)
                fill_fp(t);
        return r;
}

static int fp_agree(const unsigned char *a, uint32_t al, const unsigned char *b, uint32_t bl)
{
        uint32_t n = al < bl ? al : bl;

        return memcmp(a, b, n) == 0;
}

enum logfile_change logfile_check(struct logfile *t, uint64_t read_off)
{
        struct stat st, fst;
        unsigned char now[CKPT_FP_BYTES];
        ssize_t r;

        if (t->fd < 0)
                return LOGFILE_GONE;
        if (fstat(t->fd, &fst) == 0)
                t->size = (uint64_t)fst.st_size;
        if (stat(t->path, &st) < 0)
                return LOGFILE_GONE;
        if ((uint64_t)st.st_dev != t->dev || (uint64_t)st.st_ino != t->ino)
                return LOGFILE_REPLACED;
        if (t->size < read_off)
                return LOGFILE_TRUNCATED;
        /* same inode, not shorter: the first bytes tell a copy-truncate that
         * has grown back past where we were from plain growth */
        r = pread(t->fd, now, t->fp_len, 0);
        if (r >= 0 && !fp_agree(now, (uint32_t)r, t->fp, t->fp_len))
                return (uint32_t)r < t->fp_len ? LOGFILE_TRUNCATED : LOGFILE_REPLACED;
        return LOGFILE_SAME;
}

int logfile_same_start(const struct logfile *t, const struct ckpt_entry *e)
{
        return fp_agree(e->fp, e->fp_len, t->fp, t->fp_len);
}

int logfile_matches(const struct logfile *t, const struct ckpt_entry *e)
{
        return e->dev == t->dev && e->ino == t->ino &&
               fp_agree(e->fp, e->fp_len, t->fp, t->fp_len);
}

void logfile_entry(const struct logfile *t, uint64_t offset, struct ckpt_entry *e)
{
        memset(e, 0, sizeof(*e));
        snprintf(e->name, sizeof(e->name), "%s", t->name);
        e->dev = t->dev;
        e->ino = t->ino;
        e->fp_len = t->fp_len;
        memcpy(e->fp, t->fp, t->fp_len);
        e->offset = offset;
}

/* The member of z that holds name: the one of that base name, else the
 * only .log in it. -1 when none. */
static zip_int64_t zip_member(zip_t *z, const char *name)
{
        zip_int64_t n = zip_get_num_entries(z, 0), found = -1, logs = 0;

        for (zip_int64_t i = 0; i < n; i++) {
                const char *m = zip_get_name(z, (zip_uint64_t)i, 0);
                const char *slash = m ? strrchr(m, '/') : NULL;
                size_t l = m ? strlen(m) : 0;

                if (!m)
                        continue;
                if (!strcmp(slash ? slash + 1 : m, name))
                        return i;
                if (l > 4 && !strcmp(m + l - 4, ".log")) {
                        logs++;
                        found = i;
                }
        }
        return logs == 1 ? found : -1;
}

/* Copy the member's first CKPT_FP_BYTES and everything from offset on into
 * fd at the same positions; what lies between stays a hole (no memory). */
static int unzip_into(zip_file_t *zf, int fd, uint64_t offset)
{
        char buf[64 * 1024];
        uint64_t at = 0;
        zip_int64_t n;

        while ((n = zip_fread(zf, buf, sizeof(buf))) > 0) {
                uint64_t end = at + (uint64_t)n;
                uint64_t fp_end = end < CKPT_FP_BYTES ? end : CKPT_FP_BYTES;
                uint64_t from = offset > at ? offset : at;

                if (at < fp_end && pwrite(fd, buf, (size_t)(fp_end - at), (off_t)at) < 0)
                        return -errno;
                if (from < end &&
                    pwrite(fd, buf + (from - at), (size_t)(end - from), (off_t)from) < 0)
                        return -errno;
                at = end;
        }
        return n < 0 ? -EIO : 0;
}

int logfile_open_zipped(struct logfile *t, const char *dir, const char *name, uint64_t offset)
{
        char zpath[PATH_MAX];
        zip_t *z;
        zip_file_t *zf = NULL;
        zip_stat_t st;
        zip_int64_t idx;
        struct stat zst;
        int r, ze, fd;

        if (snprintf(zpath, sizeof(zpath), "%s/%s.zip", dir, name) >= (int)sizeof(zpath))
                return -ENAMETOOLONG;
        /* as a log: never wait on a FIFO, never read a device */
        fd = open(zpath, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return errno == ENOENT ? -ENOENT : -errno;
        if (fstat(fd, &zst) < 0 || !S_ISREG(zst.st_mode)) {
                close(fd);
                return -ENOENT;
        }
        z = zip_fdopen(fd, 0, &ze);     /* read-only always */
        if (!z) {
                close(fd);
                return -EINVAL;
        }
        idx = zip_member(z, name);
        r = -ENOENT;
        if (idx < 0 || zip_stat_index(z, (zip_uint64_t)idx, 0, &st) < 0 ||
            !(st.valid & ZIP_STAT_SIZE))
                goto out;
        r = -ENODATA;
        if (st.size <= offset)
                goto out;
        r = -EIO;
        if (!(zf = zip_fopen_index(z, (zip_uint64_t)idx, 0)))
                goto out;
        t->fd = memfd_create("smartermail-shim-unzipped", MFD_CLOEXEC);
        if (t->fd < 0) {
                r = -errno;
                goto out;
        }
        r = ftruncate(t->fd, (off_t)st.size) < 0 ? -errno : unzip_into(zf, t->fd, offset);
        if (r == 0)
                r = logfile_open_fd(t, dir, name);
        if (r < 0)
                logfile_close(t);
out:
        if (zf)
                zip_fclose(zf);
        zip_discard(z);
        return r;
}

int logfile_dir_is_remote(const char *dir)
{
        static const long remote[] = {
                0xFF534D42L,    /* CIFS */
                0x517BL,        /* SMB */
                0xFE534D42L,    /* SMB2 */
                0x6969L,        /* NFS */
                0x01021997L,    /* 9P */
                0x65735546L,    /* FUSE (sshfs and friends) */
                0x47504653L,    /* GPFS */
                0x00C36400L,    /* CEPH */
        };
        struct statfs sf;

        if (statfs(dir, &sf) < 0)
                return -errno;
        for (size_t i = 0; i < sizeof(remote) / sizeof(remote[0]); i++)
                if ((long)sf.f_type == remote[i])
                        return 1;
        return 0;
}
