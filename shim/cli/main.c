/* SPDX-License-Identifier: MIT */
/* smartermail-shim: argv, wiring and modes. main() picks the command by its
 * first argument and hands it its options: "run" (daemon/run.c), "parse"
 * (cli/parse.c), "search" and "report" (query/), and here the small ones:
 * "fields" lists the field names, "check-config" loads a config file as
 * "run" would, checks its outputs, and prints the effective settings.
 * Exit statuses are base/exit.h's. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/exit.h"
#include "base/log.h"
#include "base/options.h"
#include "cli/parse.h"
#include "core/mapping.h"
#include "core/setup.h"
#include "core/summary.h"
#include "daemon/run.h"
#include "outputs/registry.h"
#include "outputs/sink.h"
#include "query/report.h"
#include "query/unparsed.h"
#include "query/search.h"

#ifndef SHIM_VERSION
#define SHIM_VERSION "0.1.0"
#endif

/* The exit status for a setting, config file or mapping that failed to
 * load with r. Running out of memory (or of descriptors, or a read error)
 * is not the config's fault: a restart may cure it, and systemd does not
 * restart after a 2 (RestartPreventExitStatus=2). */
static int load_status(int r)
{
        return r == -ENOMEM || r == -EMFILE || r == -ENFILE || r == -EIO ? SHIM_EXIT_FAIL
                                                                          : SHIM_EXIT_USAGE;
}

struct shim {
        struct shim_opts opts;
        struct setup p;                 /* check-config's */
        struct keys *keys;              /* the fields command's own */
        struct mapping_set *maps;
};

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: smartermail-shim run [OPTIONS]\n"
                "       smartermail-shim parse [OPTIONS] FILE...\n"
                "       smartermail-shim search [OPTIONS] STRING [FILE...]\n"
                "       smartermail-shim report [OPTIONS] [FILE...]\n"
                "       smartermail-shim fields [--mappings DIR]\n"
                "       smartermail-shim check-config FILE\n"
                "       smartermail-shim --help | --version\n"
                "\n"
                "run     follows a SmarterMail log directory and forwards every record, with a\n"
                "        checkpoint so that nothing is lost across restarts.\n"
                "parse   reads SmarterMail log files once and writes one JSON event per record\n"
                "        to standard output. FILE may be '-' for standard input (give --type and\n"
                "        --date). The log type and date come from a YYYY.MM.DD-TYPE.log name.\n"
                "        On a terminal, standard error shows files done, MB/s and the time left.\n"
                "        A summary event follows each SMTP session and delivery (--no-summaries).\n"
                "search  finds records in the logs and their .log.zip archives; --related prints\n"
                "        whole sessions, --trace follows a message to its delivery (search --help).\n"
                "report  summarizes a day or a range of logs (report --help).\n"
                "fields  lists every field the built-in code and the mappings can set.\n"
                "check-config  loads a config file for run and checks its outputs without\n"
                "        connecting; prints every problem as FILE:LINE: KEY: PROBLEM (exit 2), or\n"
                "        the effective settings (exit 0).\n"
                "\n"
                "Options:\n");
        opts_help(f, MODE_RUN | MODE_PARSE | MODE_FIELDS);
        fprintf(f, "\nExit status: 0 done, 1 an input or output failed or memory ran out, 2 usage or\n"
                "configuration error.\n");
}

/* A command's options (mode), --help and --verbose. Returns 1 to go on with
 * the arguments from argv[*ret_first], or 0 when the command is done (help
 * printed, or a bad option reported) with its exit status in *ret_status. */
static int command_options(struct shim *sh, unsigned mode, int argc, char **argv,
                           int *ret_first, int *ret_status)
{
        struct diag err = { 0 };
        int first = opts_parse(&sh->opts, mode, argc, argv, &err);

        if (first < 0) {
                diag_print(&err);
                *ret_status = load_status(first);
                return 0;
        }
        if (sh->opts.help) {
                if (mode == MODE_SEARCH || mode == MODE_REPORT) {
                        printf("Usage: smartermail-shim %s\n\nOptions:\n", mode == MODE_SEARCH
                               ? "search [OPTIONS] STRING [FILE...]" : "report [OPTIONS] [FILE...]");
                        opts_help(stdout, mode);
                } else {
                        usage(stdout);
                }
                *ret_status = SHIM_EXIT_OK;
                return 0;
        }
        if (sh->opts.verbose)
                log_max_level = LOG_LVL_INFO;
        *ret_first = first;
        return 1;
}

static int cmd_parse(struct shim *sh, int argc, char **argv)
{
        int first, status;

        if (!command_options(sh, MODE_PARSE, argc, argv, &first, &status))
                return status;
        return parse_main(&sh->opts, argc - first, argv + first);
}

static int cmd_search(struct shim *sh, int argc, char **argv)
{
        int first, status;

        if (!command_options(sh, MODE_SEARCH, argc, argv, &first, &status))
                return status;
        return search_main(&sh->opts, argc - first, argv + first, stdout);
}

static int cmd_report(struct shim *sh, int argc, char **argv)
{
        int first, status;

        if (!command_options(sh, MODE_REPORT, argc, argv, &first, &status))
                return status;
        if (sh->opts.unparsed)
                return unparsed_main(&sh->opts, argc - first, argv + first, stdout);
        return report_main(&sh->opts, argc - first, argv + first, stdout);
}

/* The value of --config/-c in argv, if any (read before the other options,
 * which override the file). */
static const char *find_config(int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--"))
                        break;
                if ((!strcmp(argv[i], "--config") || !strcmp(argv[i], "-c")) && i + 1 < argc)
                        return argv[i + 1];
                if (!strncmp(argv[i], "--config=", 9))
                        return argv[i] + 9;
        }
        return NULL;
}

/* Load the config file at path for run. Returns 0 or the exit status,
 * with every problem printed, then verdict when the file itself is bad. */
static int load_config(struct shim *sh, const char *path, const char *verdict)
{
        struct diag err = { 0 };
        int r = opts_load_config(&sh->opts, MODE_RUN, path, &err);

        if (r == 0)
                return 0;
        /* -EINVAL: each bad line was printed as it was found */
        if (r == -EINVAL)
                log_msg(LOG_LVL_ERR, "%s: %s", path, verdict);
        else
                diag_print(&err);
        return load_status(r);
}

/* Check the outputs before any is opened. Returns 0 or the exit status. */
static int check_outputs(struct shim *sh)
{
        int r = sink_check_outputs(&sh->opts);

        if (r == -ENOMEM)
                log_msg(LOG_LVL_ERR, "out of memory checking the outputs");
        return r < 0 ? load_status(r) : 0;
}

static int cmd_run(struct shim *sh, int argc, char **argv)
{
        const char *cfg = find_config(argc, argv);
        int first, r;

        if (cfg && (r = load_config(sh, cfg, "not started")))
                return r;
        if (!command_options(sh, MODE_RUN, argc, argv, &first, &r))
                return r;
        if (first < argc) {
                log_msg(LOG_LVL_ERR, "run: unexpected argument '%s' (see --help)", argv[first]);
                return SHIM_EXIT_USAGE;
        }
        /* a bad output setting stops here, before any output connects */
        if ((r = check_outputs(sh))) {
                if (r == SHIM_EXIT_USAGE)
                        log_msg(LOG_LVL_ERR, "run: not started (the outputs' settings, above)");
                return r;
        }
        if (geteuid() == 0 && !sh->opts.allow_root) {
                log_msg(LOG_LVL_ERR, "run: refusing to run as root: the daemon needs only read "
                        "access to the logs and its state directory (run it as its own user, as "
                        "the systemd unit does, or pass --allow-root)");
                return SHIM_EXIT_USAGE;
        }
        return run_main(&sh->opts, argv[0]);
}

/* Load a config file as run does, then build the pipeline from it (zone,
 * mappings) and check its outputs as run does; print every problem, or the
 * effective settings as a config file. */
static int cmd_check_config(struct shim *sh, int argc, char **argv)
{
        char tmp[PATH_MAX + 16];
        const char *path, *dir;
        int r, status = 0;

        if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
                usage(stdout);
                return 0;
        }
        if (argc != 2) {
                log_msg(LOG_LVL_ERR, "check-config: give exactly one config FILE (see --help)");
                return SHIM_EXIT_USAGE;
        }
        path = argv[1];
        if ((r = load_config(sh, path, "not valid")))
                return r;
        /* setup_init() says nothing when the directory cannot be opened */
        dir = setup_mappings_dir(sh->opts.mappings, tmp, sizeof(tmp));
        if (access(dir, R_OK | X_OK) < 0) {
                r = -errno;
                log_msg(LOG_LVL_ERR, "%s: mappings: %s: %s", path, dir, strerror(-r));
                status = load_status(r);
        } else if ((r = setup_init(&sh->p, &sh->opts)) < 0) {
                if (r == -ENOMEM)
                        return SHIM_EXIT_FAIL;         /* setup_init said so */
                status = SHIM_EXIT_USAGE;
        }
        /* the outputs too, whatever the mappings did: every problem at once */
        if ((r = check_outputs(sh)) == SHIM_EXIT_FAIL)
                return r;
        if (status || r) {
                log_msg(LOG_LVL_ERR, "%s: the settings load, but run would not start (above)",
                        path);
                return status ? status : r;
        }
        printf("# %s: no problems found. The effective settings, defaults included:\n", path);
        opts_dump(stdout, &sh->opts);
        return fflush(stdout) == 0 ? 0 : SHIM_EXIT_FAIL;
}

/* Load the mappings only, and list every field name in output order. */
static int cmd_fields(struct shim *sh, int argc, char **argv)
{
        char tmp[PATH_MAX + 16];
        struct diag err = { 0 };
        const char *dir;
        const struct key *sorted[KEYS_MAX];
        int first, r;

        if (!command_options(sh, MODE_FIELDS, argc, argv, &first, &r))
                return r;
        sh->keys = keys_new();
        if (!sh->keys || summary_keys_register(sh->keys) < 0) {
                log_msg(LOG_LVL_ERR, "out of memory");
                return SHIM_EXIT_FAIL;
        }
        dir = setup_mappings_dir(sh->opts.mappings, tmp, sizeof(tmp));
        r = mapping_load(&sh->maps, dir, sh->keys, 1, &err);
        if (r == -ENOMEM)
                log_msg(LOG_LVL_ERR, "out of memory loading mappings");
        else if (r == -ENOENT || r == -EACCES)
                diag_print(&err);       /* the directory itself: not printed yet */
        if (r < 0)
                return load_status(r);
        if (keys_finish(sh->keys, &err) < 0) {
                err.file = dir;
                diag_print(&err);
                return SHIM_EXIT_USAGE;
        }
        for (unsigned i = 0; i < sh->keys->n; i++)
                sorted[sh->keys->k[i].rank] = &sh->keys->k[i];
        for (unsigned i = 0; i < sh->keys->n; i++)
                printf("%s\n", sorted[i]->name);
        return 0;
}

struct command {
        const char *name;
        int (*run)(struct shim *sh, int argc, char **argv);
};

static const struct command commands[] = {
        { "run", cmd_run },
        { "parse", cmd_parse },
        { "search", cmd_search },
        { "report", cmd_report },
        { "fields", cmd_fields },
        { "check-config", cmd_check_config },
};

/* The arguments that print something and exit: --help, --version and the
 * generated documentation (make man, docs-check, deploy-regen). Returns 1
 * with the exit status in *ret_status when argv is one of them. */
static int info_command(int argc, char **argv, int *ret_status)
{
        const char *a = argv[1];
        int status = SHIM_EXIT_OK;

        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
                usage(stdout);
        else if (!strcmp(a, "--version"))
                printf("smartermail-shim %s\n", SHIM_VERSION);
        else if (!strcmp(a, "--options-markdown"))
                opts_markdown(stdout);
        else if (argc == 2 && !strcmp(a, "--config-template"))
                opts_config_template(stdout);
        else if (argc == 3 && !strcmp(a, "--man-options"))
                status = opts_man(stdout, atoi(argv[2])) < 0 ? SHIM_EXIT_USAGE : SHIM_EXIT_OK;
        else
                return 0;
        *ret_status = status;
        return 1;
}

static void teardown(struct shim *sh)
{
        setup_done(&sh->p);
        mapping_free(sh->maps);
        keys_free(sh->keys);
        opts_free(&sh->opts);
}

int main(int argc, char **argv)
{
        struct shim sh;
        int r = SHIM_EXIT_USAGE;
        size_t i;

        memset(&sh, 0, sizeof(sh));
        if (opts_defaults(&sh.opts) < 0) {
                log_msg(LOG_LVL_ERR, "out of memory");
                opts_free(&sh.opts);    /* the defaults set before it */
                return SHIM_EXIT_FAIL;
        }
        for (i = 0; argc >= 2 && i < sizeof(commands) / sizeof(commands[0]); i++)
                if (!strcmp(argv[1], commands[i].name))
                        break;
        if (argc >= 2 && i < sizeof(commands) / sizeof(commands[0]))
                r = commands[i].run(&sh, argc - 1, argv + 1);
        else if (argc < 2 || !info_command(argc, argv, &r))
                usage(stderr);
        teardown(&sh);
        return r;
}
