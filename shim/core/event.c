/* SPDX-License-Identifier: MIT */
/* Events and the key registry. Setting a scalar key is O(1) through a
 * per-key generation stamp; array keys are scanned for duplicates, which is
 * cheap because arrays hold a handful of values. */
#include "core/event.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const builtin_names[K__BUILTIN_COUNT] = {
        [K_TIMESTAMP] = "@timestamp",
        [K_MESSAGE] = "message",
        [K_TAGS] = "tags",
        [K_EVENT_ORIGINAL] = "event.original",
        [K_EVENT_MODULE] = "event.module",
        [K_EVENT_DATASET] = "event.dataset",
        [K_EVENT_KIND] = "event.kind",
        [K_EVENT_CATEGORY] = "event.category",
        [K_EVENT_TYPE] = "event.type",
        [K_EVENT_ACTION] = "event.action",
        [K_EVENT_OUTCOME] = "event.outcome",
        [K_EVENT_SEVERITY] = "event.severity",
        [K_EVENT_TIMEZONE] = "event.timezone",
        [K_LOG_LEVEL] = "log.level",
        [K_LOG_FILE_PATH] = "log.file.path",
        [K_LOG_OFFSET] = "log.offset",
        [K_LOG_FLAGS] = "log.flags",
        [K_HOST_NAME] = "host.name",
        [K_RELATED_IP] = "related.ip",
        [K_RELATED_USER] = "related.user",
        [K_USER_NAME] = "user.name",
        [K_SM_LOG_TYPE] = "smartermail.log_type",
        [K_SM_TAG] = "smartermail.tag",
};

/* ECS fields that hold arrays, plus our own multi-valued ones. */
static const char *const array_names[] = {
        "tags", "event.category", "event.type", "log.flags", "related.ip",
        "related.user", "related.hosts", "related.hash", "email.to.address",
        "email.cc.address", "email.bcc.address", "email.from.address",
        "smartermail.tag", "smartermail.smtp.response.codes",
        "smartermail.recipients", "smartermail.summary.response_codes",
        "smartermail.summary.spool_ids",
};

int keys_is_array_name(const char *name, size_t len)
{
        for (size_t i = 0; i < sizeof(array_names) / sizeof(array_names[0]); i++)
                if (strlen(array_names[i]) == len && memcmp(array_names[i], name, len) == 0)
                        return 1;
        return 0;
}

struct keys *keys_new(void)
{
        struct keys *keys = calloc(1, sizeof(*keys));

        if (!keys)
                return NULL;
        for (unsigned i = 0; i < K__BUILTIN_COUNT; i++)
                if (keys_intern(keys, builtin_names[i], strlen(builtin_names[i])) != (int)i) {
                        free(keys);
                        return NULL;
                }
        return keys;
}

void keys_free(struct keys *keys)
{
        free(keys);
}

static int name_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c >= '0' && c <= '9') || c == '_' || c == '@' || c == '-';
}

static int find_n(const struct keys *keys, const char *name, size_t len)
{
        for (unsigned i = 0; i < keys->n; i++)
                if (keys->k[i].len == len && memcmp(keys->k[i].name, name, len) == 0)
                        return (int)i;
        return -ENOENT;
}

/* Cut a dotted name into k's segments. Returns 0 or -EINVAL (an empty
 * segment, too many, or a character a name may not have). */
static int split_segments(struct key *k, const char *name, size_t len)
{
        size_t start = 0;

        for (size_t i = 0; i <= len; i++) {
                if (i == len || name[i] == '.') {
                        if (i == start || k->nseg == KEY_SEGS_MAX)
                                return -EINVAL;
                        k->seg_off[k->nseg] = (uint8_t)start;
                        k->seg_len[k->nseg] = (uint8_t)(i - start);
                        k->nseg++;
                        start = i + 1;
                } else if (!name_char(name[i])) {
                        return -EINVAL;
                }
        }
        return 0;
}

/* Which related.* field a value of this key also goes to. */
static uint8_t related_of(const char *name, size_t len)
{
        if (len > 3 && memcmp(name + len - 3, ".ip", 3) == 0 &&
            !(len == 10 && memcmp(name, "related.ip", 10) == 0))
                return REL_IP;
        if (len >= 9 && memcmp(name + len - 9, "user.name", 9) == 0 &&
            (len == 9 || name[len - 10] == '.'))
                return REL_USER;
        return REL_NONE;
}

int keys_intern(struct keys *keys, const char *name, size_t len)
{
        struct key *k;
        int i = find_n(keys, name, len);

        if (i >= 0)
                return i;
        if (keys->finished)
                return -EBUSY;
        if (len == 0 || len >= KEY_NAME_MAX)
                return -EINVAL;
        if (keys->n >= KEYS_MAX)
                return -ENOSPC;
        k = &keys->k[keys->n];
        memset(k, 0, sizeof(*k));
        if (split_segments(k, name, len) < 0)
                return -EINVAL;
        memcpy(k->name, name, len);
        k->len = (uint8_t)len;
        k->is_array = (uint8_t)keys_is_array_name(name, len);
        k->related = related_of(name, len);
        return (int)keys->n++;
}

int keys_find(const struct keys *keys, const char *name)
{
        int i = find_n(keys, name, strlen(name));

        return i >= 0 ? i : -1;
}

/* Segment-wise order, so that keys sharing a prefix are adjacent. */
static int key_cmp(const struct key *a, const struct key *b)
{
        for (unsigned s = 0; s < a->nseg && s < b->nseg; s++) {
                size_t la = a->seg_len[s], lb = b->seg_len[s];
                int c = memcmp(a->name + a->seg_off[s], b->name + b->seg_off[s],
                               la < lb ? la : lb);
                if (c)
                        return c;
                if (la != lb)
                        return la < lb ? -1 : 1;
        }
        return (int)a->nseg - (int)b->nseg;
}

static int is_prefix(const struct key *a, const struct key *b)
{
        return a->nseg < b->nseg && b->len > a->len &&
               memcmp(a->name, b->name, a->len) == 0 && b->name[a->len] == '.';
}

int keys_finish(struct keys *keys, struct diag *err)
{
        uint16_t idx[KEYS_MAX];

        for (unsigned i = 0; i < keys->n; i++)
                idx[i] = (uint16_t)i;
        /* insertion sort: a few hundred keys, once */
        for (unsigned i = 1; i < keys->n; i++) {
                uint16_t v = idx[i];
                unsigned j = i;
                while (j > 0 && key_cmp(&keys->k[idx[j - 1]], &keys->k[v]) > 0) {
                        idx[j] = idx[j - 1];
                        j--;
                }
                idx[j] = v;
        }
        /* prefix ids: the lowest key index whose name starts the same way */
        for (unsigned i = 0; i < keys->n; i++) {
                struct key *a = &keys->k[i];
                for (unsigned d = 0; d < a->nseg; d++) {
                        size_t l = (size_t)a->seg_off[d] + a->seg_len[d];
                        a->pfx[d] = (uint16_t)i;
                        for (unsigned j = 0; j < i; j++) {
                                const struct key *b = &keys->k[j];
                                if (d < b->nseg && (size_t)b->seg_off[d] + b->seg_len[d] == l &&
                                    memcmp(a->name, b->name, l) == 0) {
                                        a->pfx[d] = b->pfx[d];
                                        break;
                                }
                        }
                }
        }
        for (unsigned i = 0; i < keys->n; i++) {
                struct key *a = &keys->k[i];
                size_t o = 0;
                for (unsigned d = 0; d < a->nseg; d++) {
                        a->open_off[d] = (uint8_t)o;
                        a->open[o++] = '"';
                        memcpy(a->open + o, a->name + a->seg_off[d], a->seg_len[d]);
                        o += a->seg_len[d];
                        a->open[o++] = '"';
                        a->open[o++] = ':';
                        if (d + 1 < a->nseg)
                                a->open[o++] = '{';
                }
                a->open_len = (uint8_t)o;
        }
        for (unsigned i = 0; i < keys->n; i++) {
                keys->k[idx[i]].rank = (uint16_t)i;
                keys->rank[idx[i]] = (uint16_t)i;
                keys->is_array[idx[i]] = keys->k[idx[i]].is_array;
                if (i + 1 < keys->n && is_prefix(&keys->k[idx[i]], &keys->k[idx[i + 1]]))
                        return diag_set(err, EINVAL, NULL, 0, keys->k[idx[i]].name,
                                        "field is used both as a value and as an object (%s)",
                                        keys->k[idx[i + 1]].name);
        }
        keys->finished = 1;
        return 0;
}

struct event *event_new(const struct keys *keys)
{
        struct event *ev;

        if (!keys->finished)
                return NULL;    /* ranks are not known yet: a caller's bug */
        ev = calloc(1, sizeof(*ev));
        if (!ev)
                return NULL;
        ev->keys = keys;
        return ev;
}

void event_free(struct event *ev)
{
        free(ev);
}

void event_reset(struct event *ev)
{
        ev->nfields = 0;
        ev->dropped = 0;
        ev->scratch_len = 0;
        ev->severity = SEV_INFO;
        memset(ev->rank_bits, 0, sizeof(ev->rank_bits));
}

#define NO_NEXT 0xFF

static int rank_used(const struct event *ev, unsigned r)
{
        return (ev->rank_bits[r / 64] >> (r % 64)) & 1;
}

static int is_text(int kind)
{
        return kind == VAL_STR || kind == VAL_SAFE;
}

static struct field *slot_for(struct event *ev, unsigned key, const char *str,
                              size_t len, int kind)
{
        unsigned r = ev->keys->rank[key];
        struct field *fl;
        unsigned idx;

        if (rank_used(ev, r)) {
                if (!ev->keys->is_array[key])
                        return &ev->f[ev->rank_head[r]];
                for (unsigned i = ev->rank_head[r]; i != NO_NEXT; i = ev->next[i]) {
                        fl = &ev->f[i];
                        if (is_text(fl->kind) && is_text(kind) && fl->len == len &&
                            memcmp(fl->v.str, str, len) == 0)
                                return fl;
                }
        }
        if (ev->nfields >= EVENT_MAX_FIELDS) {
                ev->dropped++;
                return NULL;
        }
        idx = ev->nfields++;
        ev->next[idx] = NO_NEXT;
        if (rank_used(ev, r)) {
                ev->next[ev->rank_tail[r]] = (uint8_t)idx;
        } else {
                ev->rank_bits[r / 64] |= 1ULL << (r % 64);
                ev->rank_head[r] = (uint8_t)idx;
        }
        ev->rank_tail[r] = (uint8_t)idx;
        fl = &ev->f[idx];
        fl->key = (uint16_t)key;
        fl->rank = (uint16_t)r;
        return fl;
}

static int set_text(struct event *ev, unsigned key, const char *str, size_t len, int kind)
{
        struct field *fl = slot_for(ev, key, str, len, kind);

        if (!fl)
                return -ENOSPC;
        fl->kind = (uint8_t)kind;
        fl->v.str = str;
        fl->len = (uint32_t)len;
        return 0;
}

int event_set_str(struct event *ev, unsigned key, const char *str, size_t len)
{
        return set_text(ev, key, str, len, VAL_STR);
}

int event_set_safe(struct event *ev, unsigned key, const char *str, size_t len)
{
        return set_text(ev, key, str, len, VAL_SAFE);
}

int event_text_safe(const char *p, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)p[i];
                if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
                        return 0;
        }
        return 1;
}

static int set_int(struct event *ev, unsigned key, int64_t num, int kind)
{
        struct field *fl = slot_for(ev, key, NULL, 0, kind);

        if (!fl)
                return -ENOSPC;
        fl->kind = (uint8_t)kind;
        fl->v.num = num;
        fl->len = 0;
        return 0;
}

int event_set_num(struct event *ev, unsigned key, int64_t num)
{
        return set_int(ev, key, num, VAL_NUM);
}

int event_set_bool(struct event *ev, unsigned key, int b)
{
        return set_int(ev, key, b ? 1 : 0, VAL_BOOL);
}

void event_set_level(struct event *ev)
{
        static const struct {
                const char *name;
                size_t len;
        } levels[] = {
                [SEV_ERR] = { "error", 5 }, [SEV_WARNING] = { "warning", 7 },
                [SEV_NOTICE] = { "notice", 6 }, [SEV_INFO] = { "info", 4 },
        };

        event_set_safe(ev, K_LOG_LEVEL, levels[ev->severity].name, levels[ev->severity].len);
        event_set_num(ev, K_EVENT_SEVERITY, ev->severity);
}

int event_has(const struct event *ev, unsigned key)
{
        return rank_used(ev, ev->keys->k[key].rank);
}

const char *event_get_str(const struct event *ev, unsigned key, size_t *ret_len)
{
        unsigned r = ev->keys->k[key].rank;
        const struct field *fl;

        if (!rank_used(ev, r) || ev->keys->k[key].is_array)
                return NULL;
        fl = &ev->f[ev->rank_head[r]];
        if (!is_text(fl->kind))
                return NULL;
        *ret_len = fl->len;
        return fl->v.str;
}

int event_get_num(const struct event *ev, unsigned key, int64_t *ret)
{
        unsigned r = ev->keys->k[key].rank;
        const struct field *fl;

        if (!rank_used(ev, r) || ev->keys->k[key].is_array)
                return 0;
        fl = &ev->f[ev->rank_head[r]];
        if (fl->kind != VAL_NUM && fl->kind != VAL_BOOL)
                return 0;
        *ret = fl->v.num;
        return 1;
}

unsigned event_get_all(const struct event *ev, unsigned key, const struct field **out,
                       unsigned max)
{
        unsigned r = ev->keys->k[key].rank, n = 0;

        if (!rank_used(ev, r))
                return 0;
        for (unsigned i = ev->rank_head[r]; i != NO_NEXT; i = ev->next[i], n++)
                if (n < max)
                        out[n] = &ev->f[i];
        return n;
}

char *event_scratch(struct event *ev, size_t n)
{
        char *p;

        if (n > EVENT_SCRATCH_BYTES - ev->scratch_len) {
                ev->dropped++;
                return NULL;
        }
        p = ev->scratch + ev->scratch_len;
        ev->scratch_len += n;
        return p;
}

void event_sorted(const struct event *ev, uint8_t *order)
{
        unsigned n = 0;

        for (unsigned w = 0; w < KEYS_MAX / 64; w++) {
                uint64_t bits = ev->rank_bits[w];
                while (bits) {
                        unsigned r = w * 64 + (unsigned)__builtin_ctzll(bits);
                        bits &= bits - 1;
                        for (unsigned i = ev->rank_head[r]; i != NO_NEXT; i = ev->next[i])
                                order[n++] = (uint8_t)i;
                }
        }
}
