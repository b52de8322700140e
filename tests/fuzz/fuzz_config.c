/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the two files the daemon reads at start-up: the
 * input goes through opts_load_config as a config file (run and parse
 * keys) and through ckpt_load as a checkpoint. A checkpoint that loads is
 * written back with ckpt_commit and read again: it must come back the same
 * (unless a name is not valid UTF-8, which the writer repairs). The first
 * line is also given to opts_set as a size and as a number, and must be
 * read as what it says or refused. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/checkpoint.h"
#include "core/frame.h"
#include "fuzz_common.h"
#include "base/options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_config(const char *path, unsigned mode)
{
        struct shim_opts o;
        struct diag err = { 0 };
        int r;

        FUZZ_CHECK(opts_defaults(&o) == 0, "opts_defaults failed");
        r = opts_load_config(&o, mode, path, &err);
        FUZZ_CHECK(r == 0 || r == -EINVAL, "opts_load_config failed other than -EINVAL");
        /* whatever was accepted stays in range */
        FUZZ_CHECK(o.max_record_bytes >= FRAME_MAX_RECORD_MIN &&
                   o.max_record_bytes <= FRAME_MAX_RECORD_MAX,
                   "max-record-bytes out of range");
        opts_free(&o);
}

static void check_same(const struct ckpt_entry *a, const struct ckpt_entry *b)
{
        FUZZ_CHECK(a->dev == b->dev && a->ino == b->ino && a->offset == b->offset &&
                   a->day == b->day && a->last_tod == b->last_tod, "numbers changed");
        FUZZ_CHECK(a->fp_len == b->fp_len && memcmp(a->fp, b->fp, a->fp_len) == 0,
                   "fingerprint changed");
        FUZZ_CHECK(strcmp(a->name, b->name) == 0, "name changed");
}

static void check_checkpoint(const char *path, const char *path2)
{
        struct ckpt_entry *e = NULL, *e2 = NULL;
        struct diag err = { 0 };
        int n, n2;

        n = ckpt_load(path, &e, &err);
        FUZZ_CHECK(n >= 0 || n == -EINVAL, "ckpt_load failed other than -EINVAL");
        if (n < 0) {
                FUZZ_CHECK(e == NULL, "ckpt_load failed but handed out entries");
                return;
        }
        FUZZ_CHECK(ckpt_commit(path2, e, (unsigned)n, &err) == 0, "ckpt_commit failed");
        n2 = ckpt_load(path2, &e2, &err);
        /* The writer replaces bytes that are not UTF-8 with U+FFFD, three
         * bytes each, so such a name may come back too long. tail.c follows
         * only YYYY.MM.DD-TYPE.log names (ASCII), so the daemon never
         * writes one. */
        for (int i = 0; i < n; i++)
                if (!fuzz_utf8_valid(e[i].name, strlen(e[i].name)))
                        goto out;
        FUZZ_CHECK(n2 == n, "a committed checkpoint does not load back");
        for (int i = 0; i < n; i++)
                check_same(&e[i], &e2[i]);
out:
        free(e);
        free(e2);
}

/* The grammar docs/options.md gives: digits, then K, M or G at most.
 * Returns 0 with the value, or -1 when the text is not that or the value
 * is past max. */
static int ref_number(const char *v, int units, unsigned long long max,
                      unsigned long long *ret)
{
        unsigned __int128 n = 0;
        size_t i = 0;
        unsigned shift = 0;

        for (; v[i] >= '0' && v[i] <= '9'; i++)
                if ((n = n * 10 + (unsigned)(v[i] - '0')) > max)
                        return -1;
        if (i == 0)
                return -1;
        if (units && v[i] && strchr("KkMmGg", v[i])) {
                shift = strchr("Kk", v[i]) ? 10 : strchr("Mm", v[i]) ? 20 : 30;
                i++;
        }
        if (v[i] || (n << shift) > max)
                return -1;
        *ret = (unsigned long long)(n << shift);
        return 0;
}

/* The input's first line as the value of a size and of a number option:
 * what opts_set accepts must be what the text says. */
static void check_values(const uint8_t *data, size_t size)
{
        struct shim_opts o;
        struct diag err = { 0 };
        unsigned long long want;
        char v[64];
        size_t n = 0;

        while (n < size && n < sizeof(v) - 1 && data[n] != '\n' && data[n] != '\0') {
                v[n] = (char)data[n];
                n++;
        }
        v[n] = '\0';
        FUZZ_CHECK(opts_defaults(&o) == 0, "opts_defaults failed");
        if (opts_set(&o, opts_find("max-inflight-bytes", MODE_RUN), v, &err) == 0)
                FUZZ_CHECK(ref_number(v, 1, SIZE_MAX, &want) == 0 &&
                           want == o.max_inflight_bytes, "a size was read as another number");
        if (opts_set(&o, opts_find("max-inflight-records", MODE_RUN), v, &err) == 0)
                FUZZ_CHECK(ref_number(v, 0, ULONG_MAX, &want) == 0 &&
                           want == o.max_inflight_records, "a number was read as another");
        opts_free(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *dir = fuzz_tmpdir();
        char path[4200], path2[4200];

        snprintf(path, sizeof(path), "%s/input", dir);
        snprintf(path2, sizeof(path2), "%s/state.json", dir);
        fuzz_write_file(path, data, size);
        check_config(path, MODE_RUN);
        check_config(path, MODE_PARSE);
        check_values(data, size);
        check_checkpoint(path, path2);
        return 0;
}
