/* SPDX-License-Identifier: MIT */
/* The event: a flat list of (key, value) fields plus the record's time,
 * offsets and severity. Keys are interned once in struct keys (built-in ECS
 * keys first, then every key a mapping names) and carry what encoders need:
 * their rank in sorted order, their dotted segments, whether they hold an
 * array. Values point into the record or into the event's scratch space;
 * nothing is allocated per event. */
#ifndef SHIM_EVENT_H
#define SHIM_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "base/log.h"

#define KEYS_MAX 512            /* distinct field names, all mappings */
#define KEY_NAME_MAX 96         /* bytes in one dotted name */
#define KEY_SEGS_MAX 8          /* dots + 1 */
#define EVENT_MAX_FIELDS 96     /* values in one event (array items count) */
#define EVENT_SCRATCH_BYTES (16u * 1024u) /* converted values of one event */

/* Keys every event may carry; their ids are fixed. */
enum key_builtin {
        K_TIMESTAMP,            /* @timestamp */
        K_MESSAGE,
        K_TAGS,
        K_EVENT_ORIGINAL,
        K_EVENT_MODULE,
        K_EVENT_DATASET,
        K_EVENT_KIND,
        K_EVENT_CATEGORY,
        K_EVENT_TYPE,
        K_EVENT_ACTION,
        K_EVENT_OUTCOME,
        K_EVENT_SEVERITY,
        K_EVENT_TIMEZONE,
        K_LOG_LEVEL,
        K_LOG_FILE_PATH,
        K_LOG_OFFSET,
        K_LOG_FLAGS,
        K_HOST_NAME,
        K_RELATED_IP,
        K_RELATED_USER,
        K_USER_NAME,
        K_SM_LOG_TYPE,
        K_SM_TAG,
        K__BUILTIN_COUNT
};

struct key {
        char name[KEY_NAME_MAX];
        uint8_t len;
        uint8_t is_array;
        uint8_t nseg;
        uint8_t seg_off[KEY_SEGS_MAX];
        uint8_t seg_len[KEY_SEGS_MAX];
        uint16_t rank;          /* position in sorted order */
        uint8_t related;        /* enum key_related: copied into related.* */
        uint16_t pfx[KEY_SEGS_MAX]; /* id of the name up to segment d: two
                                       keys share an object at depth d when
                                       their pfx[d] are equal */
        /* ECS text that opens this key from depth d: open + open_off[d] is
         * "seg":{"seg":...{"last": (filled by keys_finish) */
        char open[KEY_NAME_MAX + 4 * KEY_SEGS_MAX];
        uint8_t open_len;
        uint8_t open_off[KEY_SEGS_MAX];
};

enum key_related { REL_NONE, REL_IP, REL_USER };

struct keys {
        unsigned n;
        int finished;
        struct key k[KEYS_MAX];
        /* hot copies of k[i].rank and k[i].is_array: small enough to stay
         * in the first-level cache while events are built */
        uint16_t rank[KEYS_MAX];
        uint8_t is_array[KEYS_MAX];
};

/* Fill the registry with the built-in keys. Returns NULL on out of memory. */
struct keys *keys_new(void);
void keys_free(struct keys *keys);

/* Id of name (interned on first use). Returns the id (>= 0), -EINVAL for a
 * malformed name, -ENOSPC past KEYS_MAX, -EBUSY after keys_finish. */
int keys_intern(struct keys *keys, const char *name, size_t len);

/* Id of an existing key, or -1. */
int keys_find(const struct keys *keys, const char *name);

/* Rank the keys for encoding. Returns 0, or -EINVAL when one key is both a
 * value and an object ("a.b" and "a.b.c"); err names them. */
int keys_finish(struct keys *keys, struct diag *err);

/* Whether a key is an array in ECS (event.category, related.ip, ...). */
int keys_is_array_name(const char *name, size_t len);

/* VAL_SAFE is a string known to need no JSON escaping (printable ASCII
 * without '"' or '\\'), checked once where it is made: encoders copy it. */
enum val_kind { VAL_STR, VAL_SAFE, VAL_NUM, VAL_BOOL };

struct field {
        uint16_t key;
        uint16_t rank;          /* keys->k[key].rank, kept here for sorting */
        uint8_t kind;           /* enum val_kind */
        uint32_t len;           /* VAL_STR, VAL_SAFE */
        union {
                const char *str;
                int64_t num;    /* VAL_NUM, VAL_BOOL (0/1) */
        } v;
};

enum severity { SEV_ERR = 3, SEV_WARNING = 4, SEV_NOTICE = 5, SEV_INFO = 6 };

struct event {
        const struct keys *keys;
        int64_t ts_ms;          /* @timestamp, UTC */
        uint64_t offset;        /* record's first byte in its file */
        uint64_t end_offset;    /* just past its last line */
        uint64_t seq;           /* position in the stream, from 1 */
        int severity;           /* enum severity */
        unsigned nfields;
        unsigned dropped;       /* values refused: EVENT_MAX_FIELDS or scratch full */
        size_t scratch_len;
        struct field f[EVENT_MAX_FIELDS];
        /* fields by key rank: a bit per rank in use, and for each rank the
         * chain of its values in f (one for a scalar key), so that lookup
         * and sorting cost no scan */
        uint64_t rank_bits[KEYS_MAX / 64];
        uint8_t rank_head[KEYS_MAX], rank_tail[KEYS_MAX];
        uint8_t next[EVENT_MAX_FIELDS];
        char scratch[EVENT_SCRATCH_BYTES];
};

/* The event is about 20 KiB; allocate it once and reuse it. Returns NULL
 * when out of memory, or when keys_finish was not called yet. */
struct event *event_new(const struct keys *keys);
void event_free(struct event *ev);

/* Forget every field (O(1)). Call keys_finish before the first event. */
void event_reset(struct event *ev);

/* Set a field. A scalar key replaces its earlier value; an array key gains
 * the value unless it holds it already. str must outlive the event's use
 * (the record, the scratch space or static storage). Returns 0 or -ENOSPC
 * (counted in ev->dropped). */
int event_set_str(struct event *ev, unsigned key, const char *str, size_t len);
int event_set_num(struct event *ev, unsigned key, int64_t num);
/* As event_set_str for text that event_text_safe() accepted. */
int event_set_safe(struct event *ev, unsigned key, const char *str, size_t len);
/* Whether p[0..n) needs no escaping in JSON (printable ASCII, no '"' or
 * '\\'). */
int event_text_safe(const char *p, size_t n);
int event_set_bool(struct event *ev, unsigned key, int b);

/* Set log.level ("error", "warning", "notice", "info") and event.severity
 * from ev->severity (an enum severity). */
void event_set_level(struct event *ev);

/* Whether key has a value. */
int event_has(const struct event *ev, unsigned key);
/* The string value of a scalar key, or NULL. */
const char *event_get_str(const struct event *ev, unsigned key, size_t *ret_len);

/* The integer value of a scalar key (VAL_NUM or VAL_BOOL): 1 with *ret set,
 * or 0 when the key has no such value. */
int event_get_num(const struct event *ev, unsigned key, int64_t *ret);

/* The values of key in the order they were set (one for a scalar key): up
 * to max pointers into ev->f go to out. Returns how many the key has (which
 * may exceed max). The pointers are valid until the next event_reset. */
unsigned event_get_all(const struct event *ev, unsigned key, const struct field **out,
                       unsigned max);

/* n bytes of scratch space valid until event_reset, or NULL when full. */
char *event_scratch(struct event *ev, size_t n);

/* Field indices ordered for encoding (by key rank; array items keep their
 * order). Writes ev->nfields entries to order. */
void event_sorted(const struct event *ev, uint8_t *order);

#endif
