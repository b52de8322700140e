/* SPDX-License-Identifier: MIT */
/* Shared start-up of parse and run. */
#include "core/setup.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/summary.h"

#ifndef MAPPINGS_DIR
#define MAPPINGS_DIR "/usr/share/smartermail-shim/mappings"
#endif
#define ETC_MAPPINGS_DIR "/etc/smartermail-shim/mappings"

static int dir_exists(const char *p)
{
        struct stat st;

        return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *setup_mappings_dir(const char *given, char *tmp, size_t n)
{
        char self[PATH_MAX];
        ssize_t l;
        char *slash;

        if (given && given[0])
                return given;
        if (dir_exists(ETC_MAPPINGS_DIR))
                return ETC_MAPPINGS_DIR;
        if (dir_exists(MAPPINGS_DIR))
                return MAPPINGS_DIR;
        l = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (l > 0) {
                self[l] = '\0';
                if ((slash = strrchr(self, '/'))) {
                        *slash = '\0';
                        snprintf(tmp, n, "%s/mappings", self);
                        if (dir_exists(tmp))
                                return tmp;
                }
        }
        return MAPPINGS_DIR;
}

int setup_tz(struct tz_conv *tz, const struct shim_opts *o)
{
        struct diag err = { 0 };

        if (tz_init(tz, o->timezone) == 0)
                return 0;
        diag_set(&err, EINVAL, NULL, 0, NULL, "unknown zone '%s' (an IANA name such as "
                 "America/Chicago, compiled under /usr/share/zoneinfo)", o->timezone);
        opts_where(o, "timezone", 0, &err);
        diag_print(&err);
        return -EINVAL;
}

int setup_init(struct setup *p, const struct shim_opts *o)
{
        char tmp[PATH_MAX + 16];
        struct diag err = { 0 };
        const char *dir;
        int r;

        memset(p, 0, sizeof(*p));
        if (setup_tz(&p->tz, o) < 0)
                return -EINVAL;
        if (o->host_name[0])
                snprintf(p->host, sizeof(p->host), "%s", o->host_name);
        else if (gethostname(p->host, sizeof(p->host) - 1) < 0)
                snprintf(p->host, sizeof(p->host), "localhost");
        p->keys = keys_new();
        if (!p->keys || summary_keys_register(p->keys) < 0) {
                log_msg(LOG_LVL_ERR, "out of memory");
                return -ENOMEM;
        }
        dir = setup_mappings_dir(o->mappings, tmp, sizeof(tmp));
        snprintf(p->mappings_dir, sizeof(p->mappings_dir), "%s", dir);
        r = mapping_load(&p->maps, p->mappings_dir, p->keys, 1, &err);
        if (r == -ENOMEM) {
                log_msg(LOG_LVL_ERR, "out of memory loading mappings");
                return r;
        }
        if (r == -ENOENT || r == -EACCES)
                diag_print(&err);       /* the directory itself: not printed yet */
        if (r < 0)
                return -EINVAL; /* every problem was printed */
        if (keys_finish(p->keys, &err) < 0) {
                err.file = p->mappings_dir;
                diag_print(&err);
                return -EINVAL;
        }
        p->norm.maps = p->maps;
        p->norm.ctx.tz = &p->tz;
        p->norm.host_name = p->host;
        p->norm.keep_original = o->original;
        p->enc = o->encoding == ENC_CHOICE_FLAT   ? ENC_FLAT
                 : o->encoding == ENC_CHOICE_GELF ? ENC_GELF
                                                  : ENC_ECS;
        p->ev = event_new(p->keys);
        if (!p->ev) {
                log_msg(LOG_LVL_ERR, "out of memory");
                return -ENOMEM;
        }
        return 0;
}

void setup_done(struct setup *p)
{
        event_free(p->ev);
        mapping_free(p->maps);
        keys_free(p->keys);
        p->ev = NULL;
        p->maps = NULL;
        p->keys = NULL;
}

struct summary_cfg setup_summary_cfg(const struct setup *p, const struct shim_opts *o)
{
        return (struct summary_cfg){
                .max_open = o->summary_max_open,
                .idle_ms = (int64_t)o->summary_idle_timeout_s * 1000,
                .host_name = p->host,
                .zone = p->tz.zone,
        };
}
