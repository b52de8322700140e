/* SPDX-License-Identifier: MIT */
/* Events and the key registry. Setting a scalar key is O(1) through a
 * per-key generation stamp; array keys are scanned for duplicates, which is
 * cheap because arrays hold a handful of values. */
#include "event.h"

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
        "smartermail.recipients",
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

int keys_intern(struct keys *keys, const char *name, size_t len)
{
        struct key *k;
        size_t start = 0;

        for (unsigned i = 0; i < keys->n; i++)
                if (keys->k[i].len == len && memcmp(keys->k[i].name, name, len) == 0)
                        return (int)i;
        if (keys->finished)
                return -EBUSY;
        if (len == 0 || len >= KEY_NAME_MAX)
                return -EINVAL;
        if (keys->n >= KEYS_MAX)
                return -ENOSPC;
        k = &keys->k[keys->n];
        memset(k, 0, sizeof(*k));
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
        memcpy(k->name, name, len);
        k->len = (uint8_t)len;
        k->is_array = (uint8_t)keys_is_array_name(name, len);
        if (len > 3 && memcmp(name + len - 3, ".ip", 3) == 0 &&
            !(len == 10 && memcmp(name, "related.ip", 10) == 0))
                k->related = REL_IP;
        else if (len >= 9 && memcmp(name + len - 9, "user.name", 9) == 0 &&
                 (len == 9 || name[len - 10] == '.'))
                k->related = REL_USER;
        return (int)keys->n++;
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
        for (unsigned i = 0; i < keys->n; i++) {
                keys->k[idx[i]].rank = (uint16_t)i;
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
        struct event *ev = calloc(1, sizeof(*ev));

        if (!ev)
                return NULL;
        ev->keys = keys;
        ev->gen = 1;
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
        if (++ev->gen == 0) {
                memset(ev->key_gen, 0, sizeof(ev->key_gen));
                ev->gen = 1;
        }
}

static struct field *slot_for(struct event *ev, unsigned key, const char *str,
                              size_t len, int kind)
{
        struct field *fl;

        if (!ev->keys->k[key].is_array) {
                if (ev->key_gen[key] == ev->gen)
                        return &ev->f[ev->key_idx[key]];
        } else if (ev->key_gen[key] == ev->gen) {
                for (unsigned i = 0; i < ev->nfields; i++) {
                        fl = &ev->f[i];
                        if (fl->key == key && fl->kind == kind && kind == VAL_STR &&
                            fl->len == len && memcmp(fl->v.str, str, len) == 0)
                                return fl;
                }
        }
        if (ev->nfields >= EVENT_MAX_FIELDS) {
                ev->dropped++;
                return NULL;
        }
        ev->key_gen[key] = ev->gen;
        ev->key_idx[key] = (uint8_t)ev->nfields;
        fl = &ev->f[ev->nfields++];
        fl->key = (uint16_t)key;
        return fl;
}

int event_set_str(struct event *ev, unsigned key, const char *str, size_t len)
{
        struct field *fl = slot_for(ev, key, str, len, VAL_STR);

        if (!fl)
                return -ENOSPC;
        fl->kind = VAL_STR;
        fl->v.str = str;
        fl->len = (uint32_t)len;
        return 0;
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

int event_has(const struct event *ev, unsigned key)
{
        return ev->key_gen[key] == ev->gen;
}

const char *event_get_str(const struct event *ev, unsigned key, size_t *ret_len)
{
        const struct field *fl;

        if (ev->key_gen[key] != ev->gen || ev->keys->k[key].is_array)
                return NULL;
        fl = &ev->f[ev->key_idx[key]];
        if (fl->kind != VAL_STR)
                return NULL;
        *ret_len = fl->len;
        return fl->v.str;
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
        const struct key *k = ev->keys->k;

        for (unsigned i = 0; i < ev->nfields; i++) {
                uint16_t r = k[ev->f[i].key].rank;
                unsigned j = i;
                while (j > 0 && k[ev->f[order[j - 1]].key].rank > r) {
                        order[j] = order[j - 1];
                        j--;
                }
                order[j] = (uint8_t)i;
        }
}
