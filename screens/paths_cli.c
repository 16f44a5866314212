/* `lakeop paths`: every file and folder lakeop reads or writes, and
 * whether it is there, so that "which config did it read?" has one answer. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "mem.h"
#include "text.h"
#include "tzfile.h"

struct path_entry {
    char *what;        /* "config", "schema edw_sample", ... */
    char *path;
    const char *use;   /* what lakeop does with it */
};

struct path_list {
    struct path_entry *items;
    size_t n;
};

static void add(struct path_list *l, const char *what, const char *path, const char *use)
{
    if (!path || !*path)
        return;
    l->items = xrealloc(l->items, (l->n + 1) * sizeof *l->items);
    l->items[l->n++] = (struct path_entry){ xstrdup(what), xstrdup(path), use };
}

/* "file:///srv/lake/x" → "/srv/lake/x"; NULL for any other scheme. */
static const char *file_url_path(const char *url)
{
    if (url && strncmp(url, "file://", 7) == 0)
        return url + 7;
    return NULL;
}

static const char *exists_word(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return "missing";
    return S_ISDIR(sb.st_mode) ? "folder" : "file";
}

static void collect_config(struct cli *cli, struct path_list *l)
{
    char *config = cli->cfg && cli->cfg->path ? xstrdup(cli->cfg->path)
                   : cli->config_path       ? xstrdup(cli->config_path)
                                            : cfg_default_path();
    add(l, "config", config, "read: environments, objects, datasets, key bindings");
    free(config);
    char *state = cfg_state_dir();
    add(l, "state", state, "written: the console's state between runs");
    free(state);
    char *history = cfg_state_path("history");
    add(l, "history", history, "written: the console's command history");
    free(history);
    char *aws = cfg_aws_credentials_path();
    add(l, "aws-credentials", aws, "read: AWS keys when neither the config nor AWS_* variables give them");
    free(aws);
}

static void add_secret_file(const char *key, const char *path, void *ud)
{
    char *what = xasprintf("secret %s", key);
    add(ud, what, path, "read: the secret's value (file:PATH)");
    free(what);
}

/* The zone the C library shows local times in: $TZ (":NAME", "NAME" or a
 * path) else /etc/localtime; nothing for UTC or a POSIX rule with no file. */
static void add_local_zone(struct path_list *l)
{
    const char *tz = getenv("TZ");
    if (!tz || !*tz) {
        add(l, "local-zone", "/etc/localtime", "read: the time zone of times shown (TZ unset)");
        return;
    }
    if (*tz == ':')
        tz++;
    char *path = *tz == '/' ? xstrdup(tz) : tzfile_path(tz);
    if (path && access(path, R_OK) == 0)
        add(l, "local-zone", path, "read: the time zone of times shown ($TZ)");
    free(path);
}

static void collect_env(struct cli *cli, struct path_list *l)
{
    const struct cfg_env *env = cli->env;
    add(l, "ca-bundle", env->ca_bundle, "read: extra CA certificates for TLS");
    cfg_env_secret_files(cli->cfg, env, add_secret_file, l);
    if (env->zuora_url) {
        char *zone = tzfile_path(env->zuora_timezone);
        add(l, "zuora-zone", zone, "read: the zone of Zuora's times (zuora.timezone)");
        free(zone);
    }
    add_local_zone(l);
    const char *root = file_url_path(env->s3_endpoint);
    add(l, "store-root", root, "read and written: buckets as folders (s3.endpoint = file://)");
    if (file_url_path(env->cohorts_bucket))
        add(l, "cohorts", file_url_path(env->cohorts_bucket), "written: cohort files and manifests");
    for (size_t i = 0; i < env->n_objects; i++) {
        const struct cfg_object *o = &env->objects[i];
        if (file_url_path(o->raw)) {
            char *what = xasprintf("raw %s", o->name);
            add(l, what, file_url_path(o->raw), "written: the object's CSV and metadata file");
            free(what);
        }
    }
    for (size_t i = 0; i < env->n_datasets; i++) {
        const struct cfg_dataset *d = &env->datasets[i];
        char *schema = cfg_dataset_schema_path(cli->cfg, d);
        if (schema) {
            char *what = xasprintf("schema %s", d->name);
            add(l, what, schema, "read: the dataset's columns");
            free(what);
            free(schema);
        }
        if (file_url_path(d->incoming)) {
            char *what = xasprintf("incoming %s", d->name);
            add(l, what, file_url_path(d->incoming), "read: files that land for the dataset");
            free(what);
        }
        if (file_url_path(d->raw_hist)) {
            char *what = xasprintf("raw-hist %s", d->name);
            add(l, what, file_url_path(d->raw_hist), "written: files that passed their checks");
            free(what);
        }
    }
}

static json_t *jtext(const char *s)
{
    json_t *v = json_string(s);
    if (v)
        return v;
    /* Not UTF-8 (a path can be any bytes): its inert form is. */
    char *inert = text_inert(s);
    v = json_string(inert);
    free(inert);
    return v ? v : json_null();
}

static void print_json(struct cli *cli, const struct path_list *l)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "env", cli->env ? jtext(cli->env->name) : json_null());
    json_t *arr = json_array();
    for (size_t i = 0; i < l->n; i++) {
        json_t *o = json_object();
        const char *state = exists_word(l->items[i].path);
        json_object_set_new(o, "what", jtext(l->items[i].what));
        json_object_set_new(o, "path", jtext(l->items[i].path));
        json_object_set_new(o, "exists", json_boolean(strcmp(state, "missing") != 0));
        json_object_set_new(o, "kind", json_string(strcmp(state, "folder") == 0 ? "folder" : "file"));
        json_object_set_new(o, "use", json_string(l->items[i].use));
        json_array_append_new(arr, o);
    }
    json_object_set_new(doc, "paths", arr);
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fprintf(cli->out, "%s\n", text);
    free(text);
    json_decref(doc);
}

static void print_text(struct cli *cli, const struct path_list *l)
{
    int width = 4;
    for (size_t i = 0; i < l->n; i++) {
        char *inert = text_inert(l->items[i].what);
        int w = text_width(inert);
        if (w > width)
            width = w;
        free(inert);
    }
    for (size_t i = 0; i < l->n; i++) {
        char *what = text_inert(l->items[i].what);
        char *path = text_inert(l->items[i].path);
        fprintf(cli->out, "%s%*s  %-7s  %s\n", what, width - text_width(what), "",
                exists_word(l->items[i].path), path);
        free(what);
        free(path);
    }
}

int cli_paths(struct cli *cli, int argc, char **argv)
{
    static const char USAGE[] = "usage: lakeop paths [--json]\n";
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(USAGE, cli->out);
        return 0;
    }
    if (argc > 1) {
        fprintf(cli->errf, "lakeop: paths takes no arguments (only --json)\n%s", USAGE);
        return 2;
    }
    /* A broken config still has a path worth showing: list what does not
     * need it, then report the error's status. */
    int rc = cli_load_config(cli);
    struct path_list l = { 0 };
    collect_config(cli, &l);
    if (rc == 0)
        collect_env(cli, &l);
    if (cli->json)
        print_json(cli, &l);
    else
        print_text(cli, &l);
    for (size_t i = 0; i < l.n; i++) {
        free(l.items[i].what);
        free(l.items[i].path);
    }
    free(l.items);
    return rc;
}
