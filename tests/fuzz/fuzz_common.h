/* SPDX-License-Identifier: MIT */
/* What the libFuzzer targets share: a private temporary directory, writing
 * the input to a file there, and the check every encoded event must pass.
 * A failed check calls abort(), which libFuzzer records as a crash. */
#ifndef SHIM_FUZZ_COMMON_H
#define SHIM_FUZZ_COMMON_H

#include <stddef.h>

#include "core/encode_json.h"
#include "core/frame.h"
#include "core/normalize.h"

/* Die with a message when cond is false: the fuzzer's assertion. */
#define FUZZ_CHECK(cond, what) \
        do { \
                if (!(cond)) \
                        fuzz_fail(__FILE__, __LINE__, (what)); \
        } while (0)

void fuzz_fail(const char *file, unsigned line, const char *what)
        __attribute__((noreturn));

/* A directory of its own for this process, made once (under
 * $FUZZ_TMPDIR, else /dev/shm, else /tmp). Never NULL. */
const char *fuzz_tmpdir(void);

/* Replace path with data[0..len). Aborts when that fails. */
void fuzz_write_file(const char *path, const void *data, size_t len);

/* Whether p[0..n) is valid UTF-8 (no surrogates, nothing past U+10FFFF). */
int fuzz_utf8_valid(const char *p, size_t n);

/* The mappings directory: $SHIM_FUZZ_MAPPINGS, else "mappings". */
const char *fuzz_mappings_dir(void);

/* Encode ev in each of the three shapes and check each line: exactly one
 * '\n', at the end; valid UTF-8; one JSON object that libfastjson reads to
 * its last byte. When rec is not NULL, its data is valid UTF-8 and
 * event.original is kept, the ECS event.original must read back as exactly
 * rec's bytes. out is reused scratch. */
void fuzz_check_event(const struct event *ev, const struct frame_record *rec,
                      int keep_original, struct buf *out);

#endif
