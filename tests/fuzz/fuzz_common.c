/* SPDX-License-Identifier: MIT */
/* Helpers of the fuzz targets: temporary files and the JSON line check.
 * The check reads our output with libfastjson in strict mode, so it is
 * independent of the encoder it checks. */
#include "fuzz_common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libfastjson/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fuzz_fail(const char *file, unsigned line, const char *what)
{
        fprintf(stderr, "fuzz check failed at %s:%u: %s\n", file, line, what);
        abort();
}

static void remove_tmpdir(void)
{
        const char *dir = fuzz_tmpdir();
        char path[4400];
        struct dirent *de;
        DIR *d = opendir(dir);

        /* our own mkdtemp directory holds only flat files */
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                (void)unlink(path);     /* leftovers in a temp dir harm nobody */
        }
        if (d)
                closedir(d);
        (void)rmdir(dir);
}

const char *fuzz_tmpdir(void)
{
        static char dir[4096];
        const char *base;

        if (dir[0])
                return dir;
        base = getenv("FUZZ_TMPDIR");
        if (!base || !base[0])
                base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof(dir), "%s/shim-fuzz-XXXXXX", base);
        if (!mkdtemp(dir)) {
                perror("mkdtemp");
                abort();
        }
        atexit(remove_tmpdir);
        return dir;
}

void fuzz_write_file(const char *path, const void *data, size_t len)
{
        const char *p = data;
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        if (fd < 0) {
                perror(path);
                abort();
        }
        while (len) {
                ssize_t w = write(fd, p, len);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0) {
                        perror(path);
                        abort();
                }
                p += w;
                len -= (size_t)w;
        }
        close(fd);
}

int fuzz_utf8_valid(const char *s, size_t n)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0;

        while (i < n) {
                unsigned c = p[i];
                size_t len;
                unsigned lo = 0x80, hi = 0xBF;

                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xC2 && c <= 0xDF) {
                        len = 2;
                } else if (c >= 0xE0 && c <= 0xEF) {
                        len = 3;
                        lo = c == 0xE0 ? 0xA0 : 0x80;
                        hi = c == 0xED ? 0x9F : 0xBF;
                } else if (c >= 0xF0 && c <= 0xF4) {
                        len = 4;
                        lo = c == 0xF0 ? 0x90 : 0x80;
                        hi = c == 0xF4 ? 0x8F : 0xBF;
                } else {
                        return 0;
                }
                if (n - i < len || p[i + 1] < lo || p[i + 1] > hi)
                        return 0;
                for (size_t k = 2; k < len; k++)
                        if ((p[i + k] & 0xC0) != 0x80)
                                return 0;
                i += len;
        }
        return 1;
}

const char *fuzz_mappings_dir(void)
{
        const char *d = getenv("SHIM_FUZZ_MAPPINGS");

        return d && d[0] ? d : "mappings";
}

/* event.original of a parsed ECS event, or NULL. */
static fjson_object *ecs_original(fjson_object *root)
{
        fjson_object *ev, *orig;

        if (!fjson_object_object_get_ex(root, "event", &ev) ||
            !fjson_object_object_get_ex(ev, "original", &orig) ||
            !fjson_object_is_type(orig, fjson_type_string))
                return NULL;
        return orig;
}

/* Read one line of output; returns the object (caller puts it). */
static fjson_object *parse_line(const char *p, size_t n)
{
        struct fjson_tokener *tok = fjson_tokener_new();
        fjson_object *root;

        FUZZ_CHECK(tok, "out of memory");
        FUZZ_CHECK(n >= 3 && p[n - 1] == '\n', "event does not end with a newline");
        FUZZ_CHECK(memchr(p, '\n', n - 1) == NULL, "raw newline inside an event");
        FUZZ_CHECK(fuzz_utf8_valid(p, n), "event is not valid UTF-8");
        fjson_tokener_set_flags(tok, FJSON_TOKENER_STRICT);
        root = fjson_tokener_parse_ex(tok, p, (int)(n - 1));
        FUZZ_CHECK(root != NULL, "event is not valid JSON");
        FUZZ_CHECK((size_t)tok->char_offset == n - 1, "text after the JSON object");
        FUZZ_CHECK(fjson_object_is_type(root, fjson_type_object), "event is not an object");
        fjson_tokener_free(tok);
        return root;
}

void fuzz_check_event(const struct event *ev, const struct frame_record *rec,
                      int keep_original, struct buf *out)
{
        static const enum encoding encs[] = { ENC_ECS, ENC_FLAT, ENC_GELF };

        for (size_t e = 0; e < sizeof(encs) / sizeof(encs[0]); e++) {
                fjson_object *root, *orig;

                out->len = 0;
                FUZZ_CHECK(encode_json(ev, encs[e], out) == 0, "encode_json failed");
                root = parse_line(out->p, out->len);
                if (encs[e] == ENC_ECS && rec && keep_original &&
                    fuzz_utf8_valid(rec->data, rec->len)) {
                        orig = ecs_original(root);
                        FUZZ_CHECK(orig != NULL, "no event.original");
                        FUZZ_CHECK((size_t)fjson_object_get_string_len(orig) == rec->len &&
                                   memcmp(fjson_object_get_string(orig), rec->data,
                                          rec->len) == 0,
                                   "event.original differs from the record");
                }
                fjson_object_put(root);
        }
}
