/* SPDX-License-Identifier: MIT */
/* libFuzzer target for mapping files: the input is written as one mapping
 * file into a directory of its own (beside a copy of mappings/generic.json
 * when the first byte says so; otherwise the input must be the generic
 * file itself) and loaded with mapping_load. Loading must never crash or
 * leak, whatever the file holds. A set that loads is applied to sample
 * lines of every shape, and each event must encode to valid JSON.
 *
 * Input: one control byte (bit 0: add generic.json, bit 1: print every
 * error), then the file. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "core/mapping.h"
#include "core/stamp.h"

static const char *const samples[] = {
        "22:54:21.015 [123.123.123.123][63985015] rsp: 220 mail.servermanagementco.com",
        "22:54:21.015 [123.123.123.123][63985015] connected at 5/7/2018 10:54:21 PM",
        "22:54:21.410 [123.123.123.123][63985015] Authenticating as someone@example.com",
        "22:54:21.990 [123.123.123.123] [63985015] Data transfer succeeded, writing mail to "
        "70001002.eml (MessageID: <5af1a7c5.1c69fb81@example.com>)",
        "22:57:34.120 [70001002] Delivery started for someone@example.com at 10:57:34 PM",
        "22:57:34.300 [70001002] Connection to 74.125.69.26:25 from 216.15.151.93:52003 "
        "succeeded (Id: 1)",
        "22:57:43.210 [70001002] Delivery for a@example.com to b@gmail.com\thas completed "
        "(Delivered)",
        "10:01:02.345 [192.0.2.9] IMAP Login failed: user@example.com",
        "[2026.02.18] 10:01:02 [Login] [192.0.2.9] admin logged in",
        "23:59:59.950 Exception: System.Net.Sockets.SocketException (10060): failed\n"
        "   at System.Net.Sockets.Socket.Connect(EndPoint remoteEP)",
        "no time stamp \xff\xfe \"quoted\" \\ back\x01slash",
        "12:00:00.000 [2001:db8::1][abc-def_01] [Tag] SpoolId C:\\Spool\\1234567890.eml TRUE",
};

static const char *const types[] = {
        "smtpLog", "imapLog", "popLog", "delivery", "administrative", "fuzzType",
};

static char *generic_text;
static size_t generic_len;
static struct tz_conv tz;
static struct buf out;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        char path[4200];
        FILE *f;
        long n;

        (void)argc;
        (void)argv;
        snprintf(path, sizeof(path), "%s/generic.json", fuzz_mappings_dir());
        f = fopen(path, "rb");
        if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0 ||
            !(generic_text = malloc((size_t)n + 1)) ||
            fread(generic_text, 1, (size_t)n, f) != (size_t)n) {
                fprintf(stderr, "fuzz_mapping: cannot read %s (run from the repository, or "
                        "set SHIM_FUZZ_MAPPINGS)\n", path);
                abort();
        }
        fclose(f);
        generic_len = (size_t)n;
        if (tz_init(&tz, "America/Chicago") < 0)
                abort();
        buf_init(&out, 64u << 20);
        return 0;
}

/* Every sample line through every mapping the set has. */
static void apply_samples(const struct mapping_set *ms, struct keys *keys)
{
        struct norm n = { .maps = ms, .ctx = { .tz = &tz }, .host_name = "mail01",
                          .keep_original = 1 };
        struct event *ev = event_new(keys);
        struct norm_file nf;

        FUZZ_CHECK(ev, "out of memory");
        for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
                FUZZ_CHECK(mapping_for_type(ms, types[t]) != NULL, "a type has no mapping");
                norm_file_init(&nf, &n, "/logs/2026.09.18-x.log", types[t], 1, 2026, 9, 18);
                for (size_t s = 0; s < sizeof(samples) / sizeof(samples[0]); s++) {
                        struct frame_record rec = {
                                .data = samples[s], .len = strlen(samples[s]),
                                .offset = 100 * s, .end_offset = 100 * s + 99, .lines = 1,
                        };

                        norm_record(&n, &nf, &rec, ev);
                        fuzz_check_event(ev, &rec, 1, &out);
                }
        }
        event_free(ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *dir = fuzz_tmpdir();
        char path[4200], gpath[4200];
        struct mapping_set *ms = NULL;
        struct diag err = { 0 };
        struct keys *keys;
        uint8_t ctl = size ? data[0] : 0;
        int r;

        snprintf(path, sizeof(path), "%s/fuzz.json", dir);
        snprintf(gpath, sizeof(gpath), "%s/generic.json", dir);
        fuzz_write_file(path, size ? data + 1 : data, size ? size - 1 : 0);
        if (ctl & 1)
                fuzz_write_file(gpath, generic_text, generic_len);
        else
                (void)unlink(gpath);    /* absent already after the first time */
        keys = keys_new();
        FUZZ_CHECK(keys, "out of memory");
        r = mapping_load(&ms, dir, keys, ctl & 2, &err);
        FUZZ_CHECK(r == 0 || r == -EINVAL, "mapping_load failed other than -EINVAL");
        FUZZ_CHECK(r == 0 || err.text[0], "mapping_load failed without saying why");
        if (r == 0 && keys_finish(keys, &err) == 0)
                apply_samples(ms, keys);
        mapping_free(ms);
        keys_free(keys);
        return 0;
}
