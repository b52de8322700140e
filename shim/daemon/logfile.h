/* SPDX-License-Identifier: MIT */
/* Files of a log directory: which names are logs, opening one with its
 * identity (device, inode and first bytes, so that a reused inode or a
 * copy-truncate is told from growth), noticing replacement and truncation,
 * reading from an offset, a compressed day's file read back from its
 * archive, and telling whether the directory sits on a
 * network file system where inotify sees nothing. It does not frame, parse
 * or remember offsets across restarts. */
#ifndef SHIM_LOGFILE_H
#define SHIM_LOGFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/checkpoint.h"

struct logfile {
        char name[CKPT_NAME_MAX];       /* base name */
        char *path;                     /* dir/name, owned */
        char type[64];
        int y, mo, d;                   /* date from the name */
        int fd;                         /* -1 when closed */
        uint64_t dev, ino;
        uint32_t fp_len;
        unsigned char fp[CKPT_FP_BYTES];
        uint64_t size;                  /* at the last stat */
};

enum logfile_change {
        LOGFILE_SAME,              /* same file; maybe grown */
        LOGFILE_TRUNCATED,         /* same inode, shorter than what was read */
        LOGFILE_REPLACED,          /* another file under the name, or first bytes differ */
        LOGFILE_GONE,              /* the name no longer exists */
};

/* Whether name is "YYYY.MM.DD-<type>.log" and type is in types (a comma-
 * separated list; NULL or "" accepts all). Fills type and date. */
int logfile_is_log(const char *name, const char *types, char *type, size_t type_len,
                int *y, int *mo, int *d);

/* Open dir/name read-only and record its identity. Returns 0, -EINVAL when
 * it is not a regular file (a FIFO, device, directory or socket: never
 * followed), or another negative errno (the file stays closed). Never
 * blocks. */
int logfile_open(struct logfile *t, const char *dir, const char *name);
void logfile_close(struct logfile *t);

/* For a day's file whose name is gone: open what dir/name.zip holds of it
 * (the member of that name, else its only .log), unpacked into an
 * anonymous file at the same offsets. Only its first CKPT_FP_BYTES (the
 * identity) and the bytes from offset on take memory. Returns 0 (t->size
 * the member's size; t->path still dir/name), -ENOENT when there is no
 * such archive or member, -ENODATA when the member ends at or before
 * offset, or another negative errno. */
int logfile_open_zipped(struct logfile *t, const char *dir, const char *name, uint64_t offset);

/* Read up to len bytes at offset. Returns bytes read (0 at the end) or a
 * negative errno. Extends the fingerprint while the file is young. */
ssize_t logfile_read(struct logfile *t, uint64_t offset, char *buf, size_t len);

/* Compare what is under the name now with the open file, and refresh
 * t->size from the open descriptor. read_off is how far it was read. */
enum logfile_change logfile_check(struct logfile *t, uint64_t read_off);

/* Whether e (a checkpoint entry) describes this open file: same device and
 * inode, and the fingerprints agree on their common length. */
int logfile_matches(const struct logfile *t, const struct ckpt_entry *e);

/* Whether e's fingerprint agrees with t's first bytes (not its device and
 * inode: an archive's copy of a file has its own). */
int logfile_same_start(const struct logfile *t, const struct ckpt_entry *e);

/* Fill a checkpoint entry from t and an offset. */
void logfile_entry(const struct logfile *t, uint64_t offset, struct ckpt_entry *e);

/* 1 when dir is on CIFS/SMB or NFS (and a few other remote file systems),
 * 0 when local, negative errno when it cannot be told. */
int logfile_dir_is_remote(const char *dir);

#endif
