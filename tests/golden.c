/* SPDX-License-Identifier: MIT */
/* Golden tests: each directory under $CASES holds one YYYY.MM.DD-TYPE.log,
 * an expected.json (one event per line) and optionally an args file (one
 * extra option per line). The runner runs "$SHIM parse --no-summaries" on
 * the log (an args line "--summaries" turns them on), without a shell, and compares every output event with the expected one through
 * libfastjson: objects as unordered key sets, arrays in order, scalars by
 * value. A failure names the case, the event and the JSON path of the first
 * difference. GOLDEN_UPDATE=1 rewrites expected.json from the output instead
 * of comparing: read every line it writes before you keep it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <libfastjson/json.h>

#define CASES_MAX 512           /* case directories */
#define ARGS_MAX 32             /* extra arguments in one args file */
#define PATH_BYTES 1024
#define FILE_BYTES_MAX (64u * 1024u * 1024u) /* expected.json, args, shim output */
#define JPATH_BYTES 512         /* the JSON path in a failure message */
#define DIFF_BYTES 1024
#define SHIM_TIMEOUT_SEC 60     /* the shim is killed past this */

struct golden_env {
        const char *shim;
        const char *cases;
        const char *mappings;
        int update;
};

struct golden_case {
        const struct golden_env *env;
        char name[256];
        char dir[PATH_BYTES];
};

/* ---- small helpers ---------------------------------------------------- */

/* Read a whole file; *ret is NUL-terminated and owned by the caller.
 * Returns 0 or a negative errno. */
static int read_file(const char *path, char **ret, size_t *ret_len)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        char *p = NULL;
        size_t len = 0, cap = 0;
        int r = 0;

        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t got;

                if (cap - len < 4096) {
                        char *np;
                        cap = cap ? cap * 2 : 8192;
                        if (cap > FILE_BYTES_MAX || !(np = realloc(p, cap + 1))) {
                                r = -ENOMEM;
                                goto out;
                        }
                        p = np;
                }
                got = read(fd, p + len, cap - len);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got < 0) {
                        r = -errno;
                        goto out;
                }
                if (got == 0)
                        break;
                len += (size_t)got;
        }
        p[len] = '\0';
        *ret = p;
        *ret_len = len;
        p = NULL;
out:
        free(p);
        close(fd);
        return r;
}

/* The one *.log file in dir, as dir/name. Returns 0, -ENOENT (none) or
 * -EEXIST (more than one). */
static int find_log(const char *dir, char *out, size_t n)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        int found = 0;

        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                size_t l = strlen(de->d_name);
                if (l > 4 && strcmp(de->d_name + l - 4, ".log") == 0 &&
                    snprintf(out, n, "%s/%s", dir, de->d_name) < (int)n)
                        found++;
        }
        closedir(d);
        return found == 1 ? 0 : found == 0 ? -ENOENT : -EEXIST;
}

/* Split text into lines in place (LF or CRLF); empty lines are dropped.
 * Returns the number of lines stored in lines (at most max). */
static size_t split_lines(char *text, char **lines, size_t max)
{
        size_t n = 0;
        char *p = text;

        while (*p && n < max) {
                char *nl = strchr(p, '\n');
                char *end = nl ? nl : p + strlen(p);

                if (end > p && end[-1] == '\r')
                        end[-1] = '\0';
                if (nl)
                        *nl = '\0';
                if (*p)
                        lines[n++] = p;
                if (!nl)
                        break;
                p = nl + 1;
        }
        return n;
}

static size_t count_lines(const char *text)
{
        size_t n = 1;

        for (; *text; text++)
                n += *text == '\n';
        return n;
}

/* ---- running the shim ------------------------------------------------- */

/* Run argv[0] with argv, capture its standard output. Returns 0 with
 * *ret_out (caller frees) and *ret_status (from waitpid), or a negative
 * errno when it could not be run. */
static int run_capture(char *const *argv, char **ret_out, size_t *ret_len, int *ret_status)
{
        int fds[2], status = 0, r = 0;
        char *out = NULL;
        size_t len = 0, cap = 0;
        pid_t pid;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                r = -errno;
                close(fds[0]);
                close(fds[1]);
                return r;
        }
        if (pid == 0) {
                /* a pending alarm survives execve: it bounds a hung shim */
                alarm(SHIM_TIMEOUT_SEC);
                if (dup2(fds[1], STDOUT_FILENO) < 0)
                        _exit(126);
                execv(argv[0], argv);
                fprintf(stderr, "golden: exec %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        close(fds[1]);
        for (;;) {
                ssize_t got;

                if (cap - len < 65536) {
                        char *np;
                        cap = cap ? cap * 2 : 262144;
                        if (cap > FILE_BYTES_MAX || !(np = realloc(out, cap + 1))) {
                                r = -ENOMEM;
                                break;
                        }
                        out = np;
                }
                got = read(fds[0], out + len, cap - len);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got <= 0) {
                        if (got < 0)
                                r = -errno;
                        break;
                }
                len += (size_t)got;
        }
        close(fds[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        r = r ? r : -errno;
                        break;
                }
        if (r < 0) {
                free(out);
                return r;
        }
        out[len] = '\0';
        *ret_out = out;
        *ret_len = len;
        *ret_status = status;
        return 0;
}

/* argv for one case: shim parse <fixed options> <args file lines> log.
 * Strings point into args_text and the case; argv has room for
 * ARGS_MAX + 13 entries. Returns 0 or -E2BIG. */
static int build_argv(const struct golden_case *gc, char *args_text, const char *log,
                      char **argv)
{
        char *extra[ARGS_MAX + 1];
        size_t n = 0, nextra = 0;

        argv[n++] = (char *)gc->env->shim;
        argv[n++] = "parse";
        argv[n++] = "--timezone";
        argv[n++] = "America/Chicago";
        argv[n++] = "--host-name";
        argv[n++] = "mail01";
        argv[n++] = "--mappings";
        argv[n++] = (char *)gc->env->mappings;
        /* the cases show records; a case about summaries says --summaries */
        argv[n++] = "--no-summaries";
        if (args_text) {
                nextra = split_lines(args_text, extra, ARGS_MAX + 1);
                if (nextra > ARGS_MAX)
                        return -E2BIG;
        }
        for (size_t i = 0; i < nextra; i++)
                argv[n++] = extra[i];
        argv[n++] = (char *)log;
        argv[n] = NULL;
        return 0;
}

/* ---- comparing -------------------------------------------------------- */

__attribute__((format(printf, 2, 3)))
static void diff_set(char *diff, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(diff, DIFF_BYTES, fmt, ap);
        va_end(ap);
}

/* A short JSON rendering of a value for messages. */
static const char *show(fjson_object *o)
{
        return o ? fjson_object_to_json_string_ext(o, FJSON_TO_STRING_PLAIN) : "null";
}

static int is_number(fjson_object *o)
{
        return fjson_object_is_type(o, fjson_type_int) || fjson_object_is_type(o, fjson_type_double);
}

static int values_differ(fjson_object *exp, fjson_object *act, char *path, size_t plen,
                         char *diff);

static int objects_differ(fjson_object *exp, fjson_object *act, char *path, size_t plen,
                          char *diff)
{
        struct fjson_object_iterator it, end;

        it = fjson_object_iter_begin(exp);
        end = fjson_object_iter_end(exp);
        for (; !fjson_object_iter_equal(&it, &end); fjson_object_iter_next(&it)) {
                const char *k = fjson_object_iter_peek_name(&it);
                fjson_object *av = NULL;
                size_t l;

                l = plen + (size_t)snprintf(path + plen, JPATH_BYTES - plen, "%s%s",
                                            plen ? "." : "", k);
                if (l >= JPATH_BYTES)
                        l = JPATH_BYTES - 1;
                if (!fjson_object_object_get_ex(act, k, &av)) {
                        diff_set(diff, "%s: missing field (expected %s)", path,
                                 show(fjson_object_iter_peek_value(&it)));
                        return 1;
                }
                if (values_differ(fjson_object_iter_peek_value(&it), av, path, l, diff))
                        return 1;
                path[plen] = '\0';
        }
        it = fjson_object_iter_begin(act);
        end = fjson_object_iter_end(act);
        for (; !fjson_object_iter_equal(&it, &end); fjson_object_iter_next(&it)) {
                const char *k = fjson_object_iter_peek_name(&it);

                if (!fjson_object_object_get_ex(exp, k, NULL)) {
                        snprintf(path + plen, JPATH_BYTES - plen, "%s%s", plen ? "." : "", k);
                        diff_set(diff, "%s: extra field %s", path,
                                 show(fjson_object_iter_peek_value(&it)));
                        return 1;
                }
        }
        return 0;
}

static int arrays_differ(fjson_object *exp, fjson_object *act, char *path, size_t plen,
                         char *diff)
{
        int ne = fjson_object_array_length(exp), na = fjson_object_array_length(act);

        for (int i = 0; i < ne && i < na; i++) {
                size_t l = plen + (size_t)snprintf(path + plen, JPATH_BYTES - plen, "[%d]", i);
                if (l >= JPATH_BYTES)
                        l = JPATH_BYTES - 1;
                if (values_differ(fjson_object_array_get_idx(exp, i),
                                  fjson_object_array_get_idx(act, i), path, l, diff))
                        return 1;
                path[plen] = '\0';
        }
        if (ne != na) {
                diff_set(diff, "%s: array has %d items, expected %d (expected %s, got %s)",
                         plen ? path : "(top)", na, ne, show(exp), show(act));
                return 1;
        }
        return 0;
}

/* 1 with diff filled when exp and act differ; path[0..plen) names them. */
static int values_differ(fjson_object *exp, fjson_object *act, char *path, size_t plen,
                         char *diff)
{
        const char *where = plen ? path : "(top)";
        enum fjson_type te = fjson_object_get_type(exp), ta = fjson_object_get_type(act);

        if (is_number(exp) && is_number(act)) {
                int same = te == fjson_type_int && ta == fjson_type_int
                           ? fjson_object_get_int64(exp) == fjson_object_get_int64(act)
                           : fjson_object_get_double(exp) == fjson_object_get_double(act);
                if (!same)
                        diff_set(diff, "%s: expected %s, got %s", where, show(exp), show(act));
                return !same;
        }
        if (te != ta) {
                diff_set(diff, "%s: expected %s, got %s (another JSON type)", where,
                         show(exp), show(act));
                return 1;
        }
        switch (te) {
        case fjson_type_null:
                return 0;
        case fjson_type_boolean:
                if (fjson_object_get_boolean(exp) == fjson_object_get_boolean(act))
                        return 0;
                break;
        case fjson_type_string: {
                int le = fjson_object_get_string_len(exp), la = fjson_object_get_string_len(act);
                if (le == la && memcmp(fjson_object_get_string(exp),
                                       fjson_object_get_string(act), (size_t)le) == 0)
                        return 0;
                break;
        }
        case fjson_type_object:
                return objects_differ(exp, act, path, plen, diff);
        case fjson_type_array:
                return arrays_differ(exp, act, path, plen, diff);
        case fjson_type_int:
        case fjson_type_double:
                return 0;       /* handled above */
        }
        diff_set(diff, "%s: expected %s, got %s", where, show(exp), show(act));
        return 1;
}

/* Parse one line as a whole JSON object. Returns NULL on bad JSON or text
 * after the object. */
static fjson_object *parse_line(const char *line)
{
        struct fjson_tokener *tok = fjson_tokener_new();
        fjson_object *o;
        size_t n = strlen(line);

        if (!tok)
                return NULL;
        o = fjson_tokener_parse_ex(tok, line, (int)n);
        if (o && ((size_t)tok->char_offset != n || !fjson_object_is_type(o, fjson_type_object))) {
                fjson_object_put(o);
                o = NULL;
        }
        fjson_tokener_free(tok);
        return o;
}

/* Compare the events line by line; on a difference fill msg. */
static int outputs_differ(char *exp_text, char *act_text, char *msg, size_t msg_len)
{
        size_t cap = count_lines(exp_text) + count_lines(act_text);
        char **el = calloc(cap, sizeof(*el)), **al = calloc(cap, sizeof(*al));
        char path[JPATH_BYTES], diff[DIFF_BYTES];
        size_t ne, na;
        int r = 0;

        if (!el || !al) {
                snprintf(msg, msg_len, "out of memory");
                r = 1;
                goto out;
        }
        ne = split_lines(exp_text, el, cap);
        na = split_lines(act_text, al, cap);
        for (size_t i = 0; i < ne && i < na && !r; i++) {
                fjson_object *e = parse_line(el[i]), *a = parse_line(al[i]);

                path[0] = '\0';
                if (!e)
                        snprintf(msg, msg_len, "event %zu: expected.json line is not a JSON "
                                 "object: %.200s", i + 1, el[i]);
                else if (!a)
                        snprintf(msg, msg_len, "event %zu: output line is not a JSON object: "
                                 "%.200s", i + 1, al[i]);
                else if (values_differ(e, a, path, 0, diff))
                        snprintf(msg, msg_len, "event %zu: %s", i + 1, diff);
                r = !e || !a || msg[0];
                fjson_object_put(e);
                fjson_object_put(a);
        }
        if (!r && ne != na) {
                snprintf(msg, msg_len, "%zu events, expected %zu%s%.300s", na, ne,
                         na > ne ? "; first extra: " : "; first missing: ",
                         na > ne ? al[ne] : el[na]);
                r = 1;
        }
out:
        free(el);
        free(al);
        return r;
}

/* ---- one case --------------------------------------------------------- */

static int write_file(const char *path, const char *p, size_t n)
{
        FILE *f = fopen(path, "wb");
        int r = 0;

        if (!f)
                return -errno;
        if (fwrite(p, 1, n, f) != n)
                r = -EIO;
        if (fclose(f) != 0 && r == 0)
                r = -errno;
        return r;
}

static void golden_case_run(void **state)
{
        const struct golden_case *gc = *state;
        char log[PATH_BYTES], path[PATH_BYTES + 32], msg[2048] = "";
        char *argv[ARGS_MAX + 13];
        char *args_text = NULL, *out = NULL, *exp = NULL;
        size_t args_len, out_len = 0, exp_len;
        int r, status = 0, failed = 1;

        if ((r = find_log(gc->dir, log, sizeof(log))) < 0) {
                snprintf(msg, sizeof(msg), "needs exactly one .log file (%s)",
                         r == -EEXIST ? "found several" : strerror(-r));
                goto out;
        }
        snprintf(path, sizeof(path), "%s/args", gc->dir);
        if ((r = read_file(path, &args_text, &args_len)) < 0 && r != -ENOENT) {
                snprintf(msg, sizeof(msg), "%s: %s", path, strerror(-r));
                goto out;
        }
        if (build_argv(gc, args_text, log, argv) < 0) {
                snprintf(msg, sizeof(msg), "args: more than %d arguments", ARGS_MAX);
                goto out;
        }
        if ((r = run_capture(argv, &out, &out_len, &status)) < 0) {
                snprintf(msg, sizeof(msg), "running %s: %s", gc->env->shim, strerror(-r));
                goto out;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                snprintf(msg, sizeof(msg), "the shim %s %d", WIFEXITED(status) ? "exited with"
                         : "was killed by signal", WIFEXITED(status) ? WEXITSTATUS(status)
                         : WTERMSIG(status));
                goto out;
        }
        snprintf(path, sizeof(path), "%s/expected.json", gc->dir);
        if (gc->env->update) {
                if ((r = write_file(path, out, out_len)) < 0)
                        snprintf(msg, sizeof(msg), "writing %s: %s", path, strerror(-r));
                else
                        print_message("golden: wrote %s: check every line by hand\n", path);
                failed = r < 0;
                goto out;
        }
        if ((r = read_file(path, &exp, &exp_len)) < 0) {
                snprintf(msg, sizeof(msg), "%s: %s (GOLDEN_UPDATE=1 writes it)", path,
                         strerror(-r));
                goto out;
        }
        failed = outputs_differ(exp, out, msg, sizeof(msg));
out:
        free(args_text);
        free(out);
        free(exp);
        if (failed)
                fail_msg("case %s: %s", gc->name, msg);
}

/* ---- the group -------------------------------------------------------- */

static int by_name(const struct dirent **a, const struct dirent **b)
{
        return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_case_dir(const struct dirent *de)
{
        return de->d_name[0] != '.';
}

static const char *env_or(const char *name, const char *def)
{
        const char *v = getenv(name);

        return v && v[0] ? v : def;
}

int main(void)
{
        struct golden_env env = {
                .shim = env_or("SHIM", "./smartermail-shim"),
                .cases = env_or("CASES", "tests/cases"),
                .mappings = env_or("MAPPINGS", "mappings"),
                .update = strcmp(env_or("GOLDEN_UPDATE", "0"), "1") == 0,
        };
        struct dirent **names = NULL;
        struct golden_case *cases = NULL;
        size_t n = 0;
        int nnames, rc = 1;

        nnames = scandir(env.cases, &names, is_case_dir, by_name);
        if (nnames < 0) {
                fprintf(stderr, "golden: %s: %s\n", env.cases, strerror(errno));
                return 1;
        }
        cases = calloc((size_t)nnames + 1, sizeof(*cases));
        if (!cases)
                goto out;
        for (int i = 0; i < nnames; i++) {
                struct golden_case *gc = &cases[n];
                struct stat st;

                snprintf(gc->dir, sizeof(gc->dir), "%s/%s", env.cases, names[i]->d_name);
                if (stat(gc->dir, &st) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                snprintf(gc->name, sizeof(gc->name), "%s", names[i]->d_name);
                gc->env = &env;
                n++;
        }
        if (n == 0 || n > CASES_MAX) {
                fprintf(stderr, "golden: %s: %zu case directories (1..%d expected)\n",
                        env.cases, n, CASES_MAX);
                goto out;
        }
        {
                /* a variable-length array, so that cmocka_run_group_tests
                 * can take its size */
                struct CMUnitTest golden[n];

                for (size_t i = 0; i < n; i++)
                        golden[i] = (struct CMUnitTest){ .name = cases[i].name,
                                                        .test_func = golden_case_run,
                                                        .initial_state = &cases[i] };
                rc = cmocka_run_group_tests(golden, NULL, NULL);
        }
out:
        for (int i = 0; i < nnames; i++)
                free(names[i]);
        free(names);
        free(cases);
        return rc;
}
