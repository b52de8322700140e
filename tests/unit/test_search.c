/* SPDX-License-Identifier: MIT */
/* search and report, run in-process on the fixture logs of tests/search/logs
 * (copied to a temporary directory, the files named in its ZIP file packed
 * as .log.zip archives the way SmarterMail's maintenance task leaves them).
 * Each row's output is compared byte for byte with
 * tests/search/expected/NAME.txt, the temporary directory written as
 * @LOGS@; SEARCH_UPDATE=1 rewrites the expected files instead (read every
 * line before you keep them). The report's totals are also computed here,
 * independently, from the raw lines; and the HTML page is rendered by
 * headless Chromium when it is installed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libfastjson/json.h>
#include <zip.h>

#include "base/options.h"
#include "query/report.h"
#include "query/search.h"
#include "testutil.h"

#define FIXTURES "tests/search/logs"
#define EXPECTED "tests/search/expected"
#define ARGV_MAX 24
#define OUT_MAX (4u << 20)

static char logs_dir[256];

/* ---- fixtures -------------------------------------------------------------- */

static int listed_in_zip(const char *name)
{
        FILE *f = fopen(FIXTURES "/ZIP", "r");
        char line[256];
        int found = 0;

        if (!f)
                return 0;
        while (!found && fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\r\n")] = '\0';
                found = strcmp(line, name) == 0;
        }
        fclose(f);
        return found;
}

static void copy_file(const char *from, const char *to)
{
        char buf[65536];
        int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ssize_t n;

        assert_true(in >= 0 && out >= 0);
        while ((n = read(in, buf, sizeof(buf))) > 0)
                assert_int_equal(write(out, buf, (size_t)n), n);
        close(in);
        close(out);
}

static void zip_file(const char *from, const char *name, const char *to)
{
        int err = 0;
        zip_t *z = zip_open(to, ZIP_CREATE | ZIP_TRUNCATE, &err);
        zip_source_t *src;

        assert_non_null(z);
        src = zip_source_file(z, from, 0, -1);
        assert_non_null(src);
        assert_true(zip_file_add(z, name, src, ZIP_FL_ENC_UTF_8) >= 0);
        assert_int_equal(zip_close(z), 0);
}

static int setup(void **state)
{
        DIR *d;
        struct dirent *de;

        (void)state;
        snprintf(logs_dir, sizeof(logs_dir), "/tmp/shim-search-XXXXXX");
        if (!mkdtemp(logs_dir))
                return -1;
        d = opendir(FIXTURES);
        if (!d)
                return -1;
        while ((de = readdir(d))) {
                char from[512], to[1024];
                size_t l = strlen(de->d_name);

                if (l < 5 || strcmp(de->d_name + l - 4, ".log"))
                        continue;
                snprintf(from, sizeof(from), FIXTURES "/%s", de->d_name);
                if (listed_in_zip(de->d_name)) {
                        snprintf(to, sizeof(to), "%s/%s.zip", logs_dir, de->d_name);
                        zip_file(from, de->d_name, to);
                } else {
                        snprintf(to, sizeof(to), "%s/%s", logs_dir, de->d_name);
                        copy_file(from, to);
                }
        }
        closedir(d);
        return 0;
}

static int teardown(void **state)
{
        char cmd[600];

        (void)state;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", logs_dir);
        return system(cmd) == 0 ? 0 : -1;
}

/* ---- running a command ----------------------------------------------------- */

/* Run "search ..." or "report ..." in-process with the fixed options first;
 * returns the exit status, the output in *out (caller frees) with the
 * temporary directory replaced by @LOGS@. */
static int run_cmd(unsigned mode, const char *const *args, char **out)
{
        char *argv[ARGV_MAX];
        const char *mappings = getenv("MAPPINGS") ? getenv("MAPPINGS") : "mappings";
        struct shim_opts o;
        struct diag err = { 0 };
        int argc = 0, first, status;
        FILE *f = tmpfile();
        char *text, *p;
        size_t len, dl = strlen(logs_dir);

        assert_non_null(f);
        argv[argc++] = mode == MODE_SEARCH ? "search" : "report";
        argv[argc++] = "--timezone";
        argv[argc++] = "America/Chicago";
        argv[argc++] = "--mappings";
        argv[argc++] = (char *)mappings;
        argv[argc++] = "--logs";
        argv[argc++] = logs_dir;
        for (; *args; args++) {
                assert_true(argc < ARGV_MAX - 1);
                argv[argc++] = (char *)*args;
        }
        argv[argc] = NULL;
        assert_int_equal(opts_defaults(&o), 0);
        first = opts_parse(&o, mode, argc, argv, &err);
        assert_true(first > 0);
        status = mode == MODE_SEARCH ? search_main(&o, argc - first, argv + first, f)
                                     : report_main(&o, argc - first, argv + first, f);
        opts_free(&o);
        len = (size_t)ftell(f);
        rewind(f);
        text = calloc(1, len + 1);
        assert_non_null(text);
        assert_int_equal(fread(text, 1, len, f), len);
        fclose(f);
        while ((p = strstr(text, logs_dir))) {
                memcpy(p, "@LOGS@", 6);
                memmove(p + 6, p + dl, strlen(p + dl) + 1);
        }
        *out = text;
        return status;
}

static char *read_all(const char *path)
{
        FILE *f = fopen(path, "r");
        char *t;
        long n;

        if (!f)
                return NULL;
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        t = calloc(1, (size_t)n + 1);
        if (t && fread(t, 1, (size_t)n, f) != (size_t)n) {
                free(t);
                t = NULL;
        }
        fclose(f);
        return t;
}

/* ---- the table --------------------------------------------------------------- */

struct row {
        const char *name;       /* expected/NAME.txt */
        unsigned mode;
        const char *args[12];
};

static const struct row rows[] = {
        /* match only: the records that hold the text, in the viewer's form */
        { "match-plain", MODE_SEARCH, { "anna@example.com" } },
        { "match-regex", MODE_SEARCH, { "--regex", "rsp: 5[0-9]{2}" } },
        { "match-count-icase", MODE_SEARCH, { "--count", "--ignore-case", "AUTHENTICATION FAILED" } },
        /* related: whole sessions; ids 7005, 70050001 and 7005-a2f stay apart */
        { "related-auth", MODE_SEARCH, { "--related", "535" } },
        { "related-delivery-ids", MODE_SEARCH, { "--related", "--type", "delivery", "7005" } },
        /* trace: session -> spool id -> delivery (deferred, then delivered
         * across the DST change) -> status; and from the delivery side */
        { "trace-message", MODE_SEARCH, { "--trace", "dora@gmail.com" } },
        { "trace-bounce", MODE_SEARCH, { "--trace", "ghost@nowhere" } },
        { "trace-auth-failed", MODE_SEARCH, { "--trace", "admin@example.net" } },
        /* the maintenance task's archive */
        { "zip-archive", MODE_SEARCH, { "zipped@" } },
        { "zip-archive-json", MODE_SEARCH, { "--json", "--no-original", "--host-name", "mail01",
                                             "zipped@" } },
        /* ranges: across midnight (the day file's lines past 00:00), and across
         * the spring-forward hour (02:00 to 03:00 does not exist) */
        { "range-midnight", MODE_SEARCH, { "--from", "2026-03-07 23:59:55", "--to",
                                           "2026-03-08 00:00:01", "5003" } },
        { "range-dst", MODE_SEARCH, { "--from", "2026.03.08 01:30", "--to", "2026.03.08 03:00",
                                      "--type", "delivery", "7005-a2f" } },
        { "range-none", MODE_SEARCH, { "--from", "2026-03-09", "anna" } },
        { "report-text", MODE_REPORT, { "--top", "5" } },
        { "report-json", MODE_REPORT, { "--json", "--from", "2026-03-07", "--to", "2026-03-08" } },
};

static void test_rows(void **state)
{
        int update = getenv("SEARCH_UPDATE") && !strcmp(getenv("SEARCH_UPDATE"), "1");

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
                char path[256], *got, *want;
                int st = run_cmd(rows[i].mode, rows[i].args, &got);

                snprintf(path, sizeof(path), EXPECTED "/%s.txt", rows[i].name);
                if (st != 0) {
                        print_error("%s: exit status %d\n", rows[i].name, st);
                        fail();
                }
                if (update) {
                        FILE *f = fopen(path, "w");
                        assert_non_null(f);
                        fputs(got, f);
                        fclose(f);
                } else {
                        want = read_all(path);
                        if (!want) {
                                print_error("%s: no %s (SEARCH_UPDATE=1 writes it)\n",
                                            rows[i].name, path);
                                fail();
                        }
                        tu_bytes_equal(rows[i].name, want, strlen(want), got, strlen(got));
                        free(want);
                }
                free(got);
        }
}

/* ---- report totals, counted here from the raw lines ---------------------------- */

struct counted {
        const char *key;        /* in "totals" */
        const char *type;       /* file type word; NULL: any */
        const char *needle;
        long n;
};

static void count_lines(struct counted *c, size_t nc)
{
        DIR *d = opendir(FIXTURES);
        struct dirent *de;

        assert_non_null(d);
        while ((de = readdir(d))) {
                char path[512], line[2048];
                FILE *f;

                if (!strstr(de->d_name, ".log") || strcmp(de->d_name + strlen(de->d_name) - 4, ".log"))
                        continue;
                snprintf(path, sizeof(path), FIXTURES "/%s", de->d_name);
                f = fopen(path, "r");
                assert_non_null(f);
                while (fgets(line, sizeof(line), f))
                        for (size_t i = 0; i < nc; i++)
                                if ((!c[i].type || strstr(de->d_name, c[i].type)) &&
                                    strstr(line, c[i].needle))
                                        c[i].n++;
                fclose(f);
        }
        closedir(d);
}

static long json_total(fjson_object *root, const char *key)
{
        fjson_object *t, *v;

        assert_true(fjson_object_object_get_ex(root, "totals", &t));
        if (!fjson_object_object_get_ex(t, key, &v)) {
                print_error("report --json: no totals.%s\n", key);
                fail();
        }
        return (long)fjson_object_get_int64(v);
}

static void test_report_totals(void **state)
{
        static const char *const args[] = { "--json", NULL };
        /* each fixture delivery has one recipient, each session ends with
         * "disconnected at": so lines count messages and sessions */
        struct counted c[] = {
                { "messages_received", "smtpLog", "Data transfer succeeded, writing mail to", 0 },
                { "smtp_sessions", "smtpLog", "disconnected at", 0 },
                { "deliveries", "delivery", "Delivery finished for", 0 },
                { "delivered", "delivery", "has completed (Delivered)", 0 },
                { "deferred", "delivery", "has completed (Deferred)", 0 },
                { "bounced", "delivery", "has completed (Bounced)", 0 },
                { "failed", "delivery", "has completed (Failed)", 0 },
                { "ids_blocks", NULL, "Added to IDS block list", 0 },
                { "auth_failures", "smtpLog", "rsp: 535", 0 },
                { "auth_failures", NULL, " Login failed", 0 },
        };
        fjson_object *root, *per_hour, *recv;
        long received_by_hour = 0, auth = 0;
        char *got;

        (void)state;
        assert_int_equal(run_cmd(MODE_REPORT, args, &got), 0);
        root = fjson_tokener_parse(got);
        assert_non_null(root);
        count_lines(c, ARRAY_SIZE(c));
        for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
                if (!strcmp(c[i].key, "auth_failures")) {
                        auth += c[i].n;
                        continue;
                }
                if (json_total(root, c[i].key) != c[i].n) {
                        print_error("totals.%s: report says %ld, the lines say %ld\n", c[i].key,
                                    json_total(root, c[i].key), c[i].n);
                        fail();
                }
        }
        assert_int_equal(json_total(root, "auth_failures"), auth);
        /* every message received lands in one hour */
        assert_true(fjson_object_object_get_ex(root, "per_hour", &per_hour));
        assert_true(fjson_object_object_get_ex(per_hour, "received", &recv));
        for (int h = 0; h < fjson_object_array_length(recv); h++)
                received_by_hour += fjson_object_get_int64(fjson_object_array_get_idx(recv, h));
        assert_int_equal(received_by_hour, json_total(root, "messages_received"));
        fjson_object_put(root);
        free(got);
}

/* ---- the HTML page in a real browser ------------------------------------------ */

static const char *chromium(void)
{
        static const char *const paths[] = { "/usr/bin/chromium", "/usr/bin/chromium-browser" };

        for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
                if (access(paths[i], X_OK) == 0)
                        return paths[i];
        return NULL;
}

static void test_report_html(void **state)
{
        char html[300], png[300], shot[340], url[320], *got, *page;
        const char *args[] = { "--html", html, NULL };
        const char *browser = chromium();
        struct stat st;
        unsigned char sig[8];
        int status;
        pid_t pid;
        FILE *f;

        (void)state;
        snprintf(html, sizeof(html), "%s/report.html", logs_dir);
        snprintf(png, sizeof(png), "%s/report.png", logs_dir);
        assert_int_equal(run_cmd(MODE_REPORT, args, &got), 0);
        free(got);
        page = read_all(html);
        assert_non_null(page);
        /* self-contained: nothing to fetch */
        assert_null(strstr(page, "http:"));
        assert_null(strstr(page, "https:"));
        assert_null(strstr(page, "src="));
        assert_null(strstr(page, "<script"));
        assert_non_null(strstr(page, "<svg"));
        free(page);
        if (!browser) {
                fail_msg("chromium is not installed (make deps installs it): the page "
                         "was not rendered");
        }
        snprintf(shot, sizeof(shot), "--screenshot=%s", png);
        snprintf(url, sizeof(url), "file://%s", html);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY);

                dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
                alarm(120);     /* survives exec: bounds a hung browser */
                execl(browser, browser, "--headless", "--no-sandbox", "--disable-gpu",
                      "--window-size=1000,1600", shot, url, (char *)NULL);
                _exit(127);
        }
        assert_true(waitpid(pid, &status, 0) == pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_int_equal(stat(png, &st), 0);
        f = fopen(png, "rb");
        assert_non_null(f);
        assert_int_equal(fread(sig, 1, 8, f), 8);
        fclose(f);
        assert_memory_equal(sig, "\x89PNG\r\n\x1a\n", 8);
        /* a blank 1000x1600 page compresses to a few KiB; charts and text do not */
        if (st.st_size < 20000) {
                print_error("the screenshot is %lld bytes: the page looks empty\n",
                            (long long)st.st_size);
                fail();
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rows),
                cmocka_unit_test(test_report_totals),
                cmocka_unit_test(test_report_html),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
