/* SPDX-License-Identifier: MIT */
/* The checkpoint: for each followed file, its identity (device, inode,
 * first bytes) and the offset up to which every record was acknowledged.
 * One JSON file, replaced atomically (temp file, fsync, rename, fsync of the
 * directory). It does not decide what to write: ack.c and run.c do. */
#ifndef SHIM_CHECKPOINT_H
#define SHIM_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "base/log.h"

#define CKPT_FP_BYTES 128       /* first bytes of a file kept as identity */
#define CKPT_NAME_MAX 256
#define CKPT_FILE_BYTES (8u << 20) /* a larger state file is refused */

struct ckpt_entry {
        char name[CKPT_NAME_MAX];       /* base name in the log directory */
        uint64_t dev, ino;
        uint32_t fp_len;
        unsigned char fp[CKPT_FP_BYTES];
        uint64_t offset;
        /* the reader's date state at offset, so that a file that ran past
         * midnight keeps its later date after a restart */
        int64_t day;            /* days since the epoch; 0 = unknown */
        int32_t last_tod;       /* seconds of day of the last record, -1 */
};

/* Read path. Returns the number of entries (>= 0) with *ret an array the
 * caller frees, 0 with *ret NULL when the file does not exist, or a
 * negative errno (-EINVAL: unreadable content; err says where). */
int ckpt_load(const char *path, struct ckpt_entry **ret, struct diag *err);

/* Replace path with these entries, durably. Returns 0 or a negative errno
 * (err says which step failed); the old file is then untouched, except when
 * only the last step failed (opening the directory, or its fsync): the new
 * file is then in place but may not survive a power loss. A path.tmp left
 * by a crash is overwritten. */
int ckpt_commit(const char *path, const struct ckpt_entry *e, unsigned n, struct diag *err);

#endif
