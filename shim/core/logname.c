/* SPDX-License-Identifier: MIT */
/* Log file names. The type word is what selects a mapping, so it is kept
 * to letters, digits, '_' and '-'; the date must be a real day. */
#include "core/logname.h"

#include <errno.h>
#include <string.h>

#include "core/stamp.h"

static int type_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
}

int logname_parse(const char *path, struct logname *ret)
{
        const char *base = strrchr(path, '/');
        size_t n, tl;

        base = base ? base + 1 : path;
        n = strlen(base);
        ret->zipped = n > 8 && strcmp(base + n - 8, ".log.zip") == 0;
        if (ret->zipped)
                n -= 4;
        if (n < 16 || base[10] != '-' || memcmp(base + n - 4, ".log", 4) != 0 ||
            stamp_parse_date(base, 10, &ret->y, &ret->mo, &ret->d) < 0 ||
            !stamp_date_valid(ret->y, ret->mo, ret->d))
                return -EINVAL;
        tl = n - 15;
        if (tl == 0 || tl >= sizeof(ret->type))
                return -EINVAL;
        for (size_t i = 0; i < tl; i++)
                if (!type_char(base[11 + i]))
                        return -EINVAL;
        memcpy(ret->type, base + 11, tl);
        ret->type[tl] = '\0';
        return 0;
}

int logname_type_listed(const char *types, const char *type)
{
        size_t tl = strlen(type);

        if (!types || !types[0])
                return 1;
        for (const char *p = types; *p;) {
                const char *c = strchr(p, ',');
                size_t l = c ? (size_t)(c - p) : strlen(p);

                while (l && *p == ' ')
                        p++, l--;
                while (l && p[l - 1] == ' ')
                        l--;
                if (l == tl && memcmp(p, type, l) == 0)
                        return 1;
                if (!c)
                        break;
                p = c + 1;
        }
        return 0;
}
