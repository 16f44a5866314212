/* lakeop: parse the global options, then start the console or run one
 * subcommand (ARCHITECTURE.md, "Command line"). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"

struct command {
    const char *name;          /* as typed: cohort-sync */
    int (*run)(struct cli *cli, int argc, char **argv);
    const char *help;
};

#define LAKEOP_COMMAND_ENTRY(id, text) { #id, cli_##id, text },
static const struct command COMMANDS[] = { LAKEOP_COMMANDS(LAKEOP_COMMAND_ENTRY) };
#undef LAKEOP_COMMAND_ENTRY

static void print_help(FILE *f)
{
    fprintf(f,
            "lakeop %s: an operator console for a data lake's ingestion pipelines\n"
            "\n"
            "usage: lakeop [--env NAME] [--config FILE] [--read-only]     start the console\n"
            "       lakeop [global options] COMMAND [ARGS] [--json]\n"
            "\n"
            "global options:\n"
            "  --env NAME      the environment (default: $LAKEOP_ENV, else the first in the file)\n"
            "  --config FILE   the configuration file (default: $LAKEOP_CONFIG, else\n"
            "                  $XDG_CONFIG_HOME/lakeop/config, else ~/.config/lakeop/config)\n"
            "  --read-only     refuse every change\n"
            "  --json          one JSON document on stdout\n"
            "  --help, --version\n"
            "\n"
            "commands:\n",
            LAKEOP_VERSION);
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s", COMMANDS[i].name);
        for (char *p = name; *p; p++)
            if (*p == '_')
                *p = '-';
        fprintf(f, "  %-14s %s\n", name, COMMANDS[i].help);
    }
    fprintf(f, "\nexit codes: 0 done, 1 failed, 2 usage or configuration, 3 refused, 4 not found\n"
               "see lakeop(1) and lakeop.conf(5)\n");
}

static const struct command *find_command(const char *typed)
{
    char name[32];
    if (strlen(typed) >= sizeof name)
        return NULL;
    snprintf(name, sizeof name, "%s", typed);
    for (char *p = name; *p; p++)
        if (*p == '-')
            *p = '_';
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (strcmp(COMMANDS[i].name, name) == 0)
            return &COMMANDS[i];
    return NULL;
}

/* --json may stand anywhere after the command: take it out before the
 * command's own option parser sees it. */
static int strip_json_flag(int argc, char **argv, bool *json)
{
    int kept = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            *json = true;
            continue;
        }
        argv[kept++] = argv[i];
    }
    argv[kept] = NULL;
    return kept;
}

int main(int argc, char **argv)
{
    struct cli cli = { 0 };
    cli.out = stdout;
    cli.errf = stderr;
    cli.stdin_tty = isatty(0);
    cli.stdout_tty = isatty(1);
    cli.stderr_tty = isatty(2);

    static const struct option opts[] = {
        { "env", required_argument, NULL, 'e' },
        { "config", required_argument, NULL, 'c' },
        { "read-only", no_argument, NULL, 'r' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    /* "+": stop at the first non-option, the command. */
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'e': cli.env_name = optarg; break;
        case 'c': cli.config_path = optarg; break;
        case 'r': cli.read_only = true; break;
        case 'j': cli.json = true; break;
        case 'h': print_help(stdout); return 0;
        case 'V': printf("lakeop %s\n", LAKEOP_VERSION); return 0;
        default:
            fprintf(stderr, "lakeop: try 'lakeop --help'\n");
            return 2;
        }
    }

    int status;
    if (optind >= argc) {
        if (!app_run) {
            fprintf(stderr, "lakeop: this build has no console\n");
            return 2;
        }
        status = app_run(&cli);
    } else {
        const struct command *cmd = find_command(argv[optind]);
        if (!cmd) {
            fprintf(stderr, "lakeop: unknown command '%s'; 'lakeop --help' lists them\n", argv[optind]);
            return 2;
        }
        if (!cmd->run) {
            fprintf(stderr, "lakeop: '%s' is not part of this build\n", argv[optind]);
            return 2;
        }
        char **sub_argv = argv + optind;
        int sub_argc = strip_json_flag(argc - optind, sub_argv, &cli.json);
        optind = 0;   /* reset getopt for the command's own options */
        status = cmd->run(&cli, sub_argc, sub_argv);
    }
    cli_close(&cli);
    return status;
}
