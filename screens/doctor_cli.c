/* `lakeop doctor`: reads the configuration and reaches every configured
 * service once, saying for each whether it answered, whether our
 * credentials work, its version and the round trip.  It changes nothing:
 * the database is connected to, not migrated.  It also checks the config's
 * bind lines as the console applies them (screen, key and action), since
 * the console can only say so in its status line. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "airflow.h"
#include "cli.h"
#include "commands.h"
#include "buf.h"
#include "db.h"
#include "dynamo.h"
#include "keymap.h"
#include "mem.h"
#include "store.h"
#include "text.h"
#include "zuora.h"

enum check_state { CHECK_OK, CHECK_FAILED, CHECK_SKIPPED };

struct check {
    const char *service;
    bool local;           /* checked here, nothing reached: no round trip */
    enum check_state state;
    char detail[2048];    /* what was reached, or why it failed */
    char version[128];
    long ms;
};

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (long)((t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

static void check_failed(struct check *c, const struct lk_error *err)
{
    c->state = CHECK_FAILED;
    err_text(err, c->detail, sizeof c->detail);
}

static void check_database(struct cli *cli, struct check *c)
{
    const struct cfg_env *env = cli->env;
    c->service = "database";
    if (!env->database) {
        c->state = CHECK_SKIPPED;
        return;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    PGconn *conn = NULL;
    struct lk_error err;
    err_clear(&err);
    if (db_connect(env->database, &conn, &err) != LK_OK) {
        check_failed(c, &err);
        c->ms = elapsed_ms(&t0);
        return;
    }
    int have = db_schema_version(conn);
    c->ms = elapsed_ms(&t0);
    const char *server = PQparameterStatus(conn, "server_version");
    snprintf(c->version, sizeof c->version, "PostgreSQL %s", server ? server : "?");
    int latest = db_latest_version();
    c->state = CHECK_OK;
    if (have < 0)
        snprintf(c->detail, sizeof c->detail, "connected as %s; cannot read lakeop.schema_migrations: %s",
                 PQuser(conn), PQerrorMessage(conn));
    else if (have < latest)
        snprintf(c->detail, sizeof c->detail,
                 "connected as %s; schema version %d of %d (lakeop upgrades it on first use)", PQuser(conn),
                 have, latest);
    else if (have > latest)
        snprintf(c->detail, sizeof c->detail,
                 "connected as %s; schema version %d is newer than this lakeop's %d", PQuser(conn), have, latest);
    else
        snprintf(c->detail, sizeof c->detail, "connected as %s; schema version %d of %d", PQuser(conn), have,
                 latest);
    db_close(conn);
}

/* Reaches a service whose client answers with its version (Zuora,
 * Airflow): fills c's version, round trip and state; true when it answered. */
static bool ping_service(struct lk_ctx *ctx, struct check *c,
                         enum lk_status (*ping)(struct lk_ctx *ctx, char *version,
                                                size_t version_size, struct lk_error *err))
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct lk_error err;
    err_clear(&err);
    enum lk_status st = ping(ctx, c->version, sizeof c->version, &err);
    c->ms = elapsed_ms(&t0);
    if (st != LK_OK) {
        check_failed(c, &err);
        return false;
    }
    c->state = CHECK_OK;
    return true;
}

static void check_zuora(struct lk_ctx *ctx, struct check *c)
{
    c->service = "zuora";
    if (!ctx->env->zuora_url) {
        c->state = CHECK_SKIPPED;
        return;
    }
    if (!ping_service(ctx, c, zuora_ping))
        return;
    snprintf(c->detail, sizeof c->detail, "%s: token issued for client %s", ctx->env->zuora_url,
             ctx->env->zuora_client_id ? ctx->env->zuora_client_id : "(none)");
}

/* The bucket a cheap request can prove: the cohorts bucket, else the first
 * object's raw bucket, else the first dataset's incoming prefix. */
static const char *s3_probe_url(const struct cfg_env *env)
{
    if (env->cohorts_bucket)
        return env->cohorts_bucket;
    for (size_t i = 0; i < env->n_objects; i++)
        if (env->objects[i].raw)
            return env->objects[i].raw;
    for (size_t i = 0; i < env->n_datasets; i++)
        if (env->datasets[i].incoming)
            return env->datasets[i].incoming;
    return NULL;
}

/* Times one probe of a service; on failure the error is led by what was
 * reached.  True when it answered. */
static bool run_probe(struct lk_ctx *ctx, struct check *c,
                      enum lk_status (*probe)(struct lk_ctx *ctx, struct lk_error *err), const char *reached)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct lk_error err;
    err_clear(&err);
    enum lk_status st = probe(ctx, &err);
    c->ms = elapsed_ms(&t0);
    if (st != LK_OK) {
        err_prefix(&err, "%s", reached);
        check_failed(c, &err);
        return false;
    }
    c->state = CHECK_OK;
    return true;
}

static enum lk_status probe_store(struct lk_ctx *ctx, struct lk_error *err)
{
    struct store *s = NULL;
    enum lk_status st = store_open(ctx->env, ctx->http, &s, err);
    if (st == LK_OK)
        st = store_ping(s, s3_probe_url(ctx->env), err);
    store_free(s);
    return st;
}

static void check_store(struct lk_ctx *ctx, struct check *c)
{
    c->service = "s3";
    const char *url = s3_probe_url(ctx->env);
    if (!url) {
        c->state = CHECK_SKIPPED;
        return;
    }
    if (!run_probe(ctx, c, probe_store, url))
        return;
    const char *endpoint = ctx->env->s3_endpoint ? ctx->env->s3_endpoint : "AWS";
    snprintf(c->detail, sizeof c->detail, "%s reachable through %s (region %s)", url, endpoint,
             ctx->env->s3_region);
}

static void check_airflow(struct lk_ctx *ctx, struct check *c)
{
    c->service = "airflow";
    if (!ctx->env->airflow_url) {
        c->state = CHECK_SKIPPED;
        return;
    }
    if (!ping_service(ctx, c, airflow_ping))
        return;
    snprintf(c->detail, sizeof c->detail, "%s as %s", ctx->env->airflow_url,
             ctx->env->airflow_user ? ctx->env->airflow_user : "(no user)");
    if (c->version[0]) {
        /* "Airflow 2.7.3", not a bare number next to other services' names. */
        char v[sizeof c->version];
        snprintf(v, sizeof v, "%s", c->version);
        if (strncmp(v, "Airflow", 7) != 0)
            snprintf(c->version, sizeof c->version, "Airflow %.100s", v);
    }
}

/* ListTables needs no table name: the cheapest signed call there is. */
static enum lk_status probe_dynamo(struct lk_ctx *ctx, struct lk_error *err)
{
    struct dynamo *d = NULL;
    json_t *answer = NULL;
    enum lk_status st = dynamo_open(ctx->env, ctx->http, &d, err);
    if (st == LK_OK)
        st = dynamo_call(d, "ListTables", "{\"Limit\":1}", &answer, err);
    dynamo_free(d);
    json_decref(answer);
    return st;
}

/* DynamoDB is configured when the cohorts are: cohort-sync reads the
 * engine's tables there. */
static void check_dynamo(struct lk_ctx *ctx, struct check *c)
{
    const struct cfg_env *env = ctx->env;
    c->service = "dynamodb";
    if (!env->cohorts_table_stage || !env->dynamodb_endpoint) {
        c->state = CHECK_SKIPPED;
        return;
    }
    if (!run_probe(ctx, c, probe_dynamo, env->dynamodb_endpoint))
        return;
    snprintf(c->detail, sizeof c->detail, "%s answered a signed ListTables (tables PriceMigration-%s-*)",
             env->dynamodb_endpoint, env->cohorts_table_stage);
}

/* The config's bind lines against the keymap and the screen registry,
 * each bad one named by file:line as the console would name it. */
static void check_keys(struct cli *cli, struct check *c)
{
    c->service = "keys";
    c->local = true;
    if (!cli->cfg->n_binds) {
        c->state = CHECK_SKIPPED;
        return;
    }
    struct keymap *km = keymap_new();
    struct buf bad = BUF_INIT;
    for (size_t i = 0; i < cli->cfg->n_binds; i++) {
        const struct cfg_bind *b = &cli->cfg->binds[i];
        char why[600];
        if (!keymap_bind_user(km, b->screen, b->key, b->action, why, sizeof why))
            buf_printf(&bad, "%s%s: %s", bad.len ? "; " : "", b->where ? b->where : "config", why);
    }
    keymap_free(km);
    if (bad.len) {
        c->state = CHECK_FAILED;
        snprintf(c->detail, sizeof c->detail, "%s", buf_cstr(&bad));
    } else {
        c->state = CHECK_OK;
        snprintf(c->detail, sizeof c->detail, "%zu bind line%s, every screen, key and action known",
                 cli->cfg->n_binds, cli->cfg->n_binds == 1 ? "" : "s");
    }
    buf_free(&bad);
}

static const char *state_word(enum check_state s)
{
    switch (s) {
    case CHECK_OK: return "ok";
    case CHECK_FAILED: return "failed";
    case CHECK_SKIPPED: return "not configured";
    }
    return "failed";
}

static json_t *jtext(const char *s)
{
    char *inert = text_inert(s);
    json_t *v = json_string(inert);
    free(inert);
    return v ? v : json_null();
}

static void print_json(struct cli *cli, const struct check *checks, size_t n, bool ok)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "env", jtext(cli->env->name));
    json_object_set_new(doc, "config", cli->cfg->path ? jtext(cli->cfg->path) : json_null());
    json_object_set_new(doc, "operator", jtext(cli->operator_name));
    json_object_set_new(doc, "read_only", json_boolean(cli->read_only));
    json_object_set_new(doc, "protected", json_boolean(cli->env->protected_env));
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct check *c = &checks[i];
        json_t *o = json_object();
        json_object_set_new(o, "service", json_string(c->service));
        json_object_set_new(o, "status", json_string(state_word(c->state)));
        if (c->state != CHECK_SKIPPED && c->local) {
            json_object_set_new(o, "detail", jtext(c->detail));
        } else if (c->state != CHECK_SKIPPED) {
            json_object_set_new(o, "reachable", json_boolean(c->state == CHECK_OK));
            json_object_set_new(o, "detail", jtext(c->detail));
            json_object_set_new(o, "version", c->version[0] ? jtext(c->version) : json_null());
            json_object_set_new(o, "ms", json_integer(c->ms));
        }
        json_array_append_new(arr, o);
    }
    json_object_set_new(doc, "checks", arr);
    json_object_set_new(doc, "ok", json_boolean(ok));
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fprintf(cli->out, "%s\n", text);
    free(text);
    json_decref(doc);
}

static void print_text(struct cli *cli, const struct check *checks, size_t n)
{
    char *env = text_inert(cli->env->name);
    char *path = text_inert(cli->cfg->path ? cli->cfg->path : "no file; LAKEOP_* variables only");
    fprintf(cli->out, "environment %s%s%s (config: %s)\n", env, cli->env->protected_env ? ", protected" : "",
            cli->read_only ? ", read-only" : "", path);
    free(env);
    free(path);
    for (size_t i = 0; i < n; i++) {
        const struct check *c = &checks[i];
        fprintf(cli->out, "  %-9s %-14s", c->service, state_word(c->state));
        if (c->state != CHECK_SKIPPED) {
            if (c->version[0]) {
                char *v = text_inert(c->version);
                fprintf(cli->out, " %s;", v);
                free(v);
            }
            char *d = text_inert(c->detail);
            if (c->local)
                fprintf(cli->out, " %s", d);
            else
                fprintf(cli->out, " %s (%ld ms)", d, c->ms);
            free(d);
        }
        fputc('\n', cli->out);
    }
}

int cli_doctor(struct cli *cli, int argc, char **argv)
{
    static const char USAGE[] = "usage: lakeop doctor [--json]\n";
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(USAGE, cli->out);
        return 0;
    }
    if (argc > 1) {
        fprintf(cli->errf, "lakeop: doctor takes no arguments (only --json)\n%s", USAGE);
        return 2;
    }
    struct lk_ctx ctx;
    int rc = cli_ctx(cli, false, &ctx);
    if (rc)
        return rc;
    struct check checks[6];
    memset(checks, 0, sizeof checks);
    check_database(cli, &checks[0]);
    check_zuora(&ctx, &checks[1]);
    check_store(&ctx, &checks[2]);
    check_airflow(&ctx, &checks[3]);
    check_dynamo(&ctx, &checks[4]);
    check_keys(cli, &checks[5]);
    size_t n = sizeof checks / sizeof checks[0];

    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        cfg_redact(cli->cfg, checks[i].detail);
        cfg_redact(cli->cfg, checks[i].version);
        if (checks[i].state == CHECK_FAILED)
            ok = false;
    }
    if (cli->json)
        print_json(cli, checks, n, ok);
    else
        print_text(cli, checks, n);
    if (!ok) {
        char failed[128] = "";
        for (size_t i = 0; i < n; i++)
            if (checks[i].state == CHECK_FAILED)
                snprintf(failed + strlen(failed), sizeof failed - strlen(failed), "%s%s", failed[0] ? ", " : "",
                         checks[i].service);
        fprintf(cli->errf, "lakeop: doctor: %s failed\n", failed);
        return 1;
    }
    return 0;
}
