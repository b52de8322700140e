/* SPDX-License-Identifier: MIT */
/* Checkpoint file: {"version":1,"files":[{"name":..,"dev":..,"ino":..,
 * "fp":"hex","offset":..}]}. Written with the JSON escaper, read back with
 * libfastjson. */
#include "daemon/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <libfastjson/json.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "core/encode_json.h"

static const char hexd[] = "0123456789abcdef";

static int write_all(int fd, const char *p, size_t n)
{
        while (n) {
                ssize_t w = write(fd, p, n);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return -errno;
                if (w == 0)
                        return -EIO;
                p += w;
                n -= (size_t)w;
        }
        return 0;
}

int ckpt_commit(const char *path, const struct ckpt_entry *e, unsigned n, struct diag *err)
{
        char tmp[4096], dir[4096];
        struct buf b;
        int fd, r, dfd;

        buf_init(&b, CKPT_FILE_BYTES);
        buf_lit(&b, "{\"version\":1,\"files\":[");
        for (unsigned i = 0; i < n; i++) {
                if (i)
                        buf_putc(&b, ',');
                buf_lit(&b, "\n{\"name\":\"");
                json_escape(&b, e[i].name, strlen(e[i].name));
                buf_lit(&b, "\",\"dev\":");
                buf_int(&b, (long long)e[i].dev);
                buf_lit(&b, ",\"ino\":");
                buf_int(&b, (long long)e[i].ino);
                buf_lit(&b, ",\"offset\":");
                buf_int(&b, (long long)e[i].offset);
                buf_lit(&b, ",\"day\":");
                buf_int(&b, (long long)e[i].day);
                buf_lit(&b, ",\"tod\":");
                buf_int(&b, (long long)e[i].last_tod);
                buf_lit(&b, ",\"fp\":\"");
                for (uint32_t k = 0; k < e[i].fp_len && k < CKPT_FP_BYTES; k++) {
                        buf_putc(&b, hexd[e[i].fp[k] >> 4]);
                        buf_putc(&b, hexd[e[i].fp[k] & 15]);
                }
                buf_lit(&b, "\"}");
        }
        buf_lit(&b, "\n]}\n");
        if (b.failed) {
                buf_done(&b);
                return diag_set(err, ENOMEM, path, 0, NULL, "checkpoint too large");
        }
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) {
                r = -errno;
                buf_done(&b);
                return diag_set(err, -r, tmp, 0, NULL, "cannot create: %s", strerror(-r));
        }
        r = write_all(fd, b.p, b.len);
        buf_done(&b);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                (void)unlink(tmp);      /* a half-written temp file helps nobody */
                return diag_set(err, -r, tmp, 0, NULL, "cannot write the checkpoint: %s",
                                strerror(-r));
        }
        /* the rename is durable only once the directory is synced: a
         * directory that cannot even be opened is a failure too */
        snprintf(dir, sizeof(dir), "%s", path);
        dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                r = -errno;
                return diag_set(err, -r, path, 0, NULL, "written, but its directory cannot be "
                                "opened to make the rename durable: %s", strerror(-r));
        }
        if (fsync(dfd) < 0)
                r = -errno;
        close(dfd);
        if (r < 0)
                return diag_set(err, -r, path, 0, NULL, "written, but its directory cannot be "
                                "synced to make the rename durable: %s", strerror(-r));
        return 0;
}

static int unhex(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

static int get_u64(fjson_object *o, const char *k, uint64_t *ret)
{
        fjson_object *v;

        if (!fjson_object_object_get_ex(o, k, &v) || !fjson_object_is_type(v, fjson_type_int) ||
            fjson_object_get_int64(v) < 0)
                return -EINVAL;
        *ret = (uint64_t)fjson_object_get_int64(v);
        return 0;
}

static int parse_entry(fjson_object *o, struct ckpt_entry *e)
{
        fjson_object *v;
        const char *s;
        size_t l;

        memset(e, 0, sizeof(*e));
        if (!fjson_object_object_get_ex(o, "name", &v) || !fjson_object_is_type(v, fjson_type_string))
                return -EINVAL;
        s = fjson_object_get_string(v);
        if (strlen(s) >= CKPT_NAME_MAX)
                return -EINVAL;
        strcpy(e->name, s);
        if (get_u64(o, "dev", &e->dev) < 0 || get_u64(o, "ino", &e->ino) < 0 ||
            get_u64(o, "offset", &e->offset) < 0)
                return -EINVAL;
        e->last_tod = -1;
        if (fjson_object_object_get_ex(o, "day", &v) && fjson_object_is_type(v, fjson_type_int))
                e->day = fjson_object_get_int64(v);
        if (fjson_object_object_get_ex(o, "tod", &v) && fjson_object_is_type(v, fjson_type_int))
                e->last_tod = (int32_t)fjson_object_get_int64(v);
        if (!fjson_object_object_get_ex(o, "fp", &v) || !fjson_object_is_type(v, fjson_type_string))
                return -EINVAL;
        s = fjson_object_get_string(v);
        l = strlen(s);
        if (l % 2 || l / 2 > CKPT_FP_BYTES)
                return -EINVAL;
        for (size_t i = 0; i < l / 2; i++) {
                int a = unhex(s[2 * i]), b = unhex(s[2 * i + 1]);
                if (a < 0 || b < 0)
                        return -EINVAL;
                e->fp[i] = (unsigned char)(a << 4 | b);
        }
        e->fp_len = (uint32_t)(l / 2);
        return 0;
}

int ckpt_load(const char *path, struct ckpt_entry **ret, struct diag *err)
{
        fjson_object *root = NULL, *files;
        struct ckpt_entry *e = NULL;
        char *text;
        struct stat st;
        int fd, n = 0, r = 0;
        ssize_t got;

        *ret = NULL;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                r = -errno;
                return diag_set(err, -r, path, 0, NULL, "cannot read the checkpoint: %s",
                                strerror(-r));
        }
        if (fstat(fd, &st) < 0 || st.st_size > (off_t)CKPT_FILE_BYTES) {
                close(fd);
                return diag_set(err, EFBIG, path, 0, NULL, "checkpoint file too large");
        }
        text = malloc((size_t)st.st_size + 1);
        if (!text) {
                close(fd);
                return -ENOMEM;
        }
        got = read(fd, text, (size_t)st.st_size);
        close(fd);
        if (got != st.st_size) {
                free(text);
                return diag_set(err, EIO, path, 0, NULL, "short read of the checkpoint");
        }
        text[got] = '\0';
        root = fjson_tokener_parse(text);
        free(text);
        if (!root || !fjson_object_object_get_ex(root, "files", &files) ||
            !fjson_object_is_type(files, fjson_type_array)) {
                r = diag_set(err, EINVAL, path, 0, NULL, "not a checkpoint file");
                goto out;
        }
        n = fjson_object_array_length(files);
        e = calloc(n ? (size_t)n : 1, sizeof(*e));
        if (!e) {
                r = -ENOMEM;
                goto out;
        }
        for (int i = 0; i < n; i++)
                if (parse_entry(fjson_object_array_get_idx(files, i), &e[i]) < 0) {
                        r = diag_set(err, EINVAL, path, 0, NULL, "entry %d is malformed", i + 1);
                        goto out;
                }
out:
        if (root)
                fjson_object_put(root);
        if (r < 0) {
                free(e);
                return r;
        }
        *ret = e;
        return n;
}
