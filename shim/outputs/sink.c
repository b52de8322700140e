/* SPDX-License-Identifier: MIT */
/* What every output shares: where one of its settings was made, and the
 * check that a file it names can be read. The list of outputs is
 * registry.c's. */
#include "outputs/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void sink_where(const struct sink *s, const char *key, unsigned item, struct diag *err)
{
        opts_where(s->origins, key, item, err);
}

int sink_check_file(const struct sink *s, const char *key, unsigned item, const char *path,
                    struct diag *err)
{
        int fd, r;

        if (!path[0])
                return 0;
        /* LoadCredential= puts it there for the service alone: check-config
         * from a shell before a restart cannot see it */
        if (strncmp(path, "/run/credentials/", 17) == 0 && !getenv("CREDENTIALS_DIRECTORY") &&
            access(path, F_OK) < 0) {
                struct diag where = { 0 };

                sink_where(s, key, item, &where);
                log_msg(LOG_LVL_NOTICE, "%s: %s is a credential of the service; not checked here",
                        where.key, path);
                return 1;
        }
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                diag_set(err, -r, NULL, 0, NULL, "%s: %s", path, strerror(-r));
                sink_where(s, key, item, err);
                return r;
        }
        close(fd);
        return 0;
}
