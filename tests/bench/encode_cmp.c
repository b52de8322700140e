/* SPDX-License-Identifier: MIT */
/* Benchmark helper: the same records normalized once, encoded either by our
 * JSON writer or by building a libfastjson tree per event and dumping it.
 * Prints "writer <events/s>" and "tree <events/s>" (CPU time of the encode
 * step alone), so docs/benchmarks.md can show why the encoder writes bytes
 * directly. Usage: encode_cmp MAPPINGS_DIR ZONE FILE... */
#include <fcntl.h>
#include <libfastjson/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/encode_json.h"
#include "core/frame.h"
#include "core/mapping.h"
#include "core/normalize.h"

static double cpu_now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t sink(void *p, const char *b, size_t n)
{
        size_t *total = p;

        (void)b;
        *total += n;
        return n;
}

static fjson_object *value_of(const struct field *fl)
{
        switch ((enum val_kind)fl->kind) {
        case VAL_STR:
        case VAL_SAFE:
                return fjson_object_new_string_len(fl->v.str, (int)fl->len);
        case VAL_NUM:
                return fjson_object_new_int64(fl->v.num);
        case VAL_BOOL:
                return fjson_object_new_boolean((int)fl->v.num);
        }
        return NULL;
}

/* The ECS tree of one event, as a libfastjson user would build it. */
static void encode_tree(const struct event *ev, size_t *total)
{
        uint8_t order[EVENT_MAX_FIELDS];
        fjson_object *root = fjson_object_new_object();
        char tmp[4096];

        event_sorted(ev, order);
        for (unsigned i = 0; i < ev->nfields; i++) {
                const struct field *fl = &ev->f[order[i]];
                const struct key *k = &ev->keys->k[fl->key];
                fjson_object *o = root, *child;
                char seg[KEY_NAME_MAX];

                for (unsigned s = 0; s + 1 < k->nseg; s++) {
                        memcpy(seg, k->name + k->seg_off[s], k->seg_len[s]);
                        seg[k->seg_len[s]] = '\0';
                        if (!fjson_object_object_get_ex(o, seg, &child)) {
                                child = fjson_object_new_object();
                                fjson_object_object_add(o, seg, child);
                        }
                        o = child;
                }
                memcpy(seg, k->name + k->seg_off[k->nseg - 1], k->seg_len[k->nseg - 1]);
                seg[k->seg_len[k->nseg - 1]] = '\0';
                if (k->is_array) {
                        if (!fjson_object_object_get_ex(o, seg, &child)) {
                                child = fjson_object_new_array();
                                fjson_object_object_add(o, seg, child);
                        }
                        fjson_object_array_add(child, value_of(fl));
                } else {
                        fjson_object_object_add(o, seg, value_of(fl));
                }
        }
        fjson_object_dump_buffered(root, FJSON_TO_STRING_PLAIN, tmp, sizeof(tmp), sink, total);
        fjson_object_put(root);
}

int main(int argc, char **argv)
{
        struct keys *keys = keys_new();
        struct mapping_set *ms;
        struct tz_conv tz;
        struct diag err;
        struct norm n = { 0 };
        struct event *ev;
        struct frame *fr = frame_new(FRAME_MAX_RECORD_DEFAULT);
        struct buf out;
        double t_writer = 0, t_tree = 0;
        size_t tree_bytes = 0, writer_bytes = 0;
        unsigned long long events = 0;
        static char chunk[1 << 20];

        if (argc < 4 || !keys || !fr)
                return 2;
        if (tz_init(&tz, argv[2]) < 0 || mapping_load(&ms, argv[1], keys, 1, &err) < 0 ||
            keys_finish(keys, &err) < 0)
                return 2;
        ev = event_new(keys);
        n.maps = ms;
        n.ctx.tz = &tz;
        n.host_name = "mail01";
        n.keep_original = 1;
        buf_init(&out, 1u << 26);
        for (int a = 3; a < argc; a++) {
                struct norm_file nf;
                struct frame_record rec;
                char type[64];
                int y, mo, d, fd = open(argv[a], O_RDONLY);
                ssize_t got;

                if (fd < 0 || norm_name_info(argv[a], type, sizeof(type), &y, &mo, &d) < 0)
                        return 1;
                norm_file_init(&nf, &n, argv[a], type, 1, y, mo, d);
                frame_reset(fr, 0);
                for (;;) {
                        int more;
                        got = read(fd, chunk, sizeof(chunk));
                        if (got > 0)
                                frame_feed(fr, chunk, (size_t)got);
                        while ((more = got > 0 ? frame_next(fr, &rec) : frame_flush(fr, 1, &rec))) {
                                double t0, t1, t2;
                                norm_record(&n, &nf, &rec, ev);
                                t0 = cpu_now();
                                encode_json(ev, ENC_ECS, &out);
                                t1 = cpu_now();
                                encode_tree(ev, &tree_bytes);
                                t2 = cpu_now();
                                t_writer += t1 - t0;
                                t_tree += t2 - t1;
                                writer_bytes += out.len;
                                out.len = 0;
                                events++;
                        }
                        if (got <= 0)
                                break;
                }
                close(fd);
        }
        printf("events %llu\nwriter %.0f events/s (%zu bytes)\ntree %.0f events/s (%zu bytes)\n",
               events, (double)events / t_writer, writer_bytes, (double)events / t_tree, tree_bytes);
        return 0;
}
