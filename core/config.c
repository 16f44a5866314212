/* Configuration: the meaning of the file's lines (config_parse.c reads
 * them), environment selection, secrets and environment variables.  The
 * format is ARCHITECTURE.md's "Configuration (stable contract)" and
 * lakeop.conf(5). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config_parse.h"
#include "mem.h"

enum key_type { KT_STR, KT_BOOL, KT_SECRET };

struct env_key {
    const char *name;
    enum key_type type;
    size_t off;
};

#define ENV_FIELD(field) offsetof(struct cfg_env, field)

static const struct env_key ENV_KEYS[] = {
    { "database", KT_STR, ENV_FIELD(database) },
    { "zuora.url", KT_STR, ENV_FIELD(zuora_url) },
    { "zuora.file_url", KT_STR, ENV_FIELD(zuora_file_url) },
    { "zuora.client_id", KT_STR, ENV_FIELD(zuora_client_id) },
    { "zuora.client_secret", KT_SECRET, ENV_FIELD(zuora_client_secret) },
    { "zuora.partner", KT_STR, ENV_FIELD(zuora_partner) },
    { "zuora.project", KT_STR, ENV_FIELD(zuora_project) },
    { "zuora.timezone", KT_STR, ENV_FIELD(zuora_timezone) },
    { "s3.endpoint", KT_STR, ENV_FIELD(s3_endpoint) },
    { "s3.region", KT_STR, ENV_FIELD(s3_region) },
    { "aws.access_key_id", KT_STR, ENV_FIELD(aws_access_key_id) },
    { "aws.secret_access_key", KT_SECRET, ENV_FIELD(aws_secret_access_key) },
    { "aws.session_token", KT_SECRET, ENV_FIELD(aws_session_token) },
    { "ca_bundle", KT_STR, ENV_FIELD(ca_bundle) },
    { "airflow.url", KT_STR, ENV_FIELD(airflow_url) },
    { "airflow.user", KT_STR, ENV_FIELD(airflow_user) },
    { "airflow.password", KT_SECRET, ENV_FIELD(airflow_password) },
    { "airflow.dag", KT_STR, ENV_FIELD(airflow_dag) },
    { "cohorts.bucket", KT_STR, ENV_FIELD(cohorts_bucket) },
    { "cohorts.table_stage", KT_STR, ENV_FIELD(cohorts_table_stage) },
    { "dynamodb.endpoint", KT_STR, ENV_FIELD(dynamodb_endpoint) },
    { "operator", KT_STR, ENV_FIELD(operator_name) },
    { "protected", KT_BOOL, ENV_FIELD(protected_env) },
    { "read_only", KT_BOOL, ENV_FIELD(read_only) },
    { "mouse", KT_BOOL, ENV_FIELD(mouse) },
};
#define N_ENV_KEYS (sizeof ENV_KEYS / sizeof ENV_KEYS[0])

/* Variables that override the selected environment (ARCHITECTURE.md). */
struct env_var {
    const char *var;
    size_t off;
    bool secret;
};

static const struct env_var ENV_VARS[] = {
    { "LAKEOP_DATABASE_URL", ENV_FIELD(database), false },
    { "LAKEOP_ZUORA_URL", ENV_FIELD(zuora_url), false },
    { "LAKEOP_ZUORA_FILE_URL", ENV_FIELD(zuora_file_url), false },
    { "LAKEOP_ZUORA_CLIENT_ID", ENV_FIELD(zuora_client_id), false },
    { "LAKEOP_ZUORA_CLIENT_SECRET", ENV_FIELD(zuora_client_secret), true },
    { "LAKEOP_ZUORA_PARTNER", ENV_FIELD(zuora_partner), false },
    { "LAKEOP_ZUORA_PROJECT", ENV_FIELD(zuora_project), false },
    { "LAKEOP_ZUORA_TIMEZONE", ENV_FIELD(zuora_timezone), false },
    { "LAKEOP_S3_ENDPOINT", ENV_FIELD(s3_endpoint), false },
    { "LAKEOP_AIRFLOW_URL", ENV_FIELD(airflow_url), false },
    { "LAKEOP_AIRFLOW_USER", ENV_FIELD(airflow_user), false },
    { "LAKEOP_AIRFLOW_PASSWORD", ENV_FIELD(airflow_password), true },
    { "LAKEOP_AIRFLOW_DAG", ENV_FIELD(airflow_dag), false },
    { "LAKEOP_DYNAMODB_ENDPOINT", ENV_FIELD(dynamodb_endpoint), false },
    { "LAKEOP_COHORTS_BUCKET", ENV_FIELD(cohorts_bucket), false },
    { "LAKEOP_CA_BUNDLE", ENV_FIELD(ca_bundle), false },
    { "AWS_REGION", ENV_FIELD(s3_region), false },
};
#define N_ENV_VARS (sizeof ENV_VARS / sizeof ENV_VARS[0])

static const char OBJECT_KEYS[] = "zoql, raw, stage";
static const char DATASET_KEYS[] =
    "incoming, raw_hist, schema, dialect, freshness, min_records, source, ods";

/* A secret as written in the file (env:NAME, file:PATH or a literal):
 * resolved only for the environment that is selected, so that a missing
 * variable of another environment is no obstacle. */
struct secret_src {
    size_t off;
    const char *key;
    char *spec;
    int line;
};

struct env_priv {
    struct secret_src *secrets;
    size_t n_secrets;
    int database_line;           /* where the file set database, 0: it did not */
    bool resolved;
};

struct cfg_private {
    bool others_can_read;        /* the file's mode lets group or others read it */
    struct env_priv *envs;       /* parallel to cfg->envs */
};

/* An env's object.NAME.KEY / dataset.NAME.KEY line, applied once every
 * shared section has been read. */
struct override {
    size_t env;
    char *key;
    char *value;
    int line;
};

enum section { SEC_NONE, SEC_ENV, SEC_OBJECT, SEC_DATASET, SEC_KEYS };

struct parse {
    struct cfg *cfg;
    const char *path;
    int line;
    enum section sec;
    size_t idx;
    struct cfg_object *objects;   /* the shared sections, before overrides */
    size_t n_objects;
    struct cfg_dataset *datasets;
    size_t n_datasets;
    struct override *overrides;
    size_t n_overrides;
};

static char **env_str(struct cfg_env *env, size_t off)
{
    return (char **)((char *)env + off);
}

static bool *env_bool(struct cfg_env *env, size_t off)
{
    return (bool *)((char *)env + off);
}

static void set_str(char **field, const char *value)
{
    xfree(field);
    *field = (value && *value) ? xstrdup(value) : NULL;
}

bool cfg_parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = { "true", "yes", "on", "1" };
    static const char *const no[] = { "false", "no", "off", "0" };
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

long long cfg_parse_duration(const char *text)
{
    if (!text || !*text)
        return -1;
    const char *p = text;
    long long total = 0;
    bool bare_number = true;
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return -1;
        long long n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n > (LLONG_MAX - 9) / 10)
                return -1;
            n = n * 10 + (*p++ - '0');
        }
        long long unit;
        switch (*p) {
        case '\0': unit = 1; break;
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        case 'w': unit = 604800; break;
        default: return -1;
        }
        if (*p == '\0') {
            /* A bare number is seconds, but only on its own ("1h30" is a typo). */
            if (!bare_number)
                return -1;
        } else {
            bare_number = false;
            p++;
        }
        if (n > (LLONG_MAX - total) / unit)
            return -1;
        total += n * unit;
    }
    return total;
}

static void object_free(struct cfg_object *o)
{
    xfree(&o->name);
    xfree(&o->zoql);
    xfree(&o->raw);
    xfree(&o->stage);
}

static void dataset_free(struct cfg_dataset *d)
{
    xfree(&d->name);
    xfree(&d->source);
    xfree(&d->incoming);
    xfree(&d->raw_hist);
    xfree(&d->schema);
    xfree(&d->dialect);
}

static void object_copy(struct cfg_object *dst, const struct cfg_object *src)
{
    dst->name = xstrdup(src->name);
    dst->zoql = xstrdup(src->zoql);
    dst->raw = xstrdup(src->raw);
    dst->stage = xstrdup(src->stage);
}

static void dataset_copy(struct cfg_dataset *dst, const struct cfg_dataset *src)
{
    *dst = *src;
    dst->name = xstrdup(src->name);
    dst->source = xstrdup(src->source);
    dst->incoming = xstrdup(src->incoming);
    dst->raw_hist = xstrdup(src->raw_hist);
    dst->schema = xstrdup(src->schema);
    dst->dialect = xstrdup(src->dialect);
}

static void env_free(struct cfg_env *env)
{
    for (size_t i = 0; i < N_ENV_KEYS; i++)
        if (ENV_KEYS[i].type != KT_BOOL)
            xfree(env_str(env, ENV_KEYS[i].off));
    xfree(&env->name);
    for (size_t i = 0; i < env->n_objects; i++)
        object_free(&env->objects[i]);
    xfree(&env->objects);
    for (size_t i = 0; i < env->n_datasets; i++)
        dataset_free(&env->datasets[i]);
    xfree(&env->datasets);
}

static size_t env_add(struct cfg *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_envs; i++)
        if (strcmp(cfg->envs[i].name, name) == 0)
            return i;
    cfg->envs = xrealloc(cfg->envs, (cfg->n_envs + 1) * sizeof *cfg->envs);
    cfg->priv->envs = xrealloc(cfg->priv->envs, (cfg->n_envs + 1) * sizeof *cfg->priv->envs);
    struct cfg_env *env = &cfg->envs[cfg->n_envs];
    memset(env, 0, sizeof *env);
    memset(&cfg->priv->envs[cfg->n_envs], 0, sizeof cfg->priv->envs[0]);
    env->name = xstrdup(name);
    env->mouse = true;
    return cfg->n_envs++;
}

static size_t object_add(struct parse *ps, const char *name)
{
    for (size_t i = 0; i < ps->n_objects; i++)
        if (strcmp(ps->objects[i].name, name) == 0)
            return i;
    ps->objects = xrealloc(ps->objects, (ps->n_objects + 1) * sizeof *ps->objects);
    memset(&ps->objects[ps->n_objects], 0, sizeof ps->objects[0]);
    ps->objects[ps->n_objects].name = xstrdup(name);
    return ps->n_objects++;
}

static size_t dataset_add(struct parse *ps, const char *name)
{
    for (size_t i = 0; i < ps->n_datasets; i++)
        if (strcmp(ps->datasets[i].name, name) == 0)
            return i;
    ps->datasets = xrealloc(ps->datasets, (ps->n_datasets + 1) * sizeof *ps->datasets);
    memset(&ps->datasets[ps->n_datasets], 0, sizeof ps->datasets[0]);
    ps->datasets[ps->n_datasets].name = xstrdup(name);
    return ps->n_datasets++;
}

static const char *where_path(const struct parse *ps)
{
    return ps->path ? ps->path : "(config)";
}

static enum lk_status set_object_key(const struct parse *ps, int line, const char *section,
                                     struct cfg_object *o, const char *key, const char *value,
                                     struct lk_error *err)
{
    char **field = NULL;
    if (strcasecmp(key, "zoql") == 0)
        field = &o->zoql;
    else if (strcasecmp(key, "raw") == 0)
        field = &o->raw;
    else if (strcasecmp(key, "stage") == 0)
        field = &o->stage;
    if (!field)
        return err_set(err, LK_USAGE, "%s:%d: unknown key '%s' in %s; expected one of: %s",
                       where_path(ps), line, key, section, OBJECT_KEYS);
    set_str(field, value);
    return LK_OK;
}

static enum lk_status set_dataset_key(const struct parse *ps, int line, const char *section,
                                      struct cfg_dataset *d, const char *key, const char *value,
                                      struct lk_error *err)
{
    const char *path = where_path(ps);
    if (strcasecmp(key, "incoming") == 0) {
        set_str(&d->incoming, value);
    } else if (strcasecmp(key, "raw_hist") == 0) {
        set_str(&d->raw_hist, value);
    } else if (strcasecmp(key, "schema") == 0) {
        set_str(&d->schema, value);
    } else if (strcasecmp(key, "source") == 0) {
        set_str(&d->source, value);
    } else if (strcasecmp(key, "dialect") == 0) {
        if (strcmp(value, "csv") != 0 && strcmp(value, "redshift-unload") != 0)
            return err_set(err, LK_USAGE, "%s:%d: dialect = '%s' in %s; expected csv or redshift-unload",
                           path, line, value, section);
        set_str(&d->dialect, value);
    } else if (strcasecmp(key, "freshness") == 0) {
        long long s = cfg_parse_duration(value);
        if (s < 0)
            return err_set(err, LK_USAGE,
                           "%s:%d: freshness = '%s' in %s is not a duration; expected e.g. 26h, 90m, 2d or seconds",
                           path, line, value, section);
        d->freshness_s = s;
    } else if (strcasecmp(key, "min_records") == 0) {
        char *end = NULL;
        errno = 0;
        long long n = strtoll(value, &end, 10);
        if (!*value || *end || errno || n < 0)
            return err_set(err, LK_USAGE,
                           "%s:%d: min_records = '%s' in %s; expected a whole number, 0 or more",
                           path, line, value, section);
        d->min_records = n;
    } else if (strcasecmp(key, "ods") == 0) {
        if (!cfg_parse_bool(value, &d->ods))
            return err_set(err, LK_USAGE, "%s:%d: ods = '%s' in %s; expected true or false",
                           path, line, value, section);
    } else {
        return err_set(err, LK_USAGE, "%s:%d: unknown key '%s' in %s; expected one of: %s",
                       path, line, key, section, DATASET_KEYS);
    }
    return LK_OK;
}

static enum lk_status unknown_env_key(const struct parse *ps, const char *key, struct lk_error *err)
{
    struct buf b = BUF_INIT;
    for (size_t i = 0; i < N_ENV_KEYS; i++)
        buf_printf(&b, "%s, ", ENV_KEYS[i].name);
    buf_puts(&b, "object.NAME.KEY, dataset.NAME.KEY");
    err_set(err, LK_USAGE, "%s:%d: unknown key '%s' in [env \"%s\"]; expected one of: %s",
            where_path(ps), ps->line, key, ps->cfg->envs[ps->idx].name, buf_cstr(&b));
    buf_free(&b);
    return LK_USAGE;
}

static void secret_src_set(struct env_priv *ep, const struct env_key *k, const char *spec, int line)
{
    for (size_t i = 0; i < ep->n_secrets; i++) {
        if (ep->secrets[i].off == k->off) {
            xfree(&ep->secrets[i].spec);
            ep->secrets[i].spec = xstrdup(spec);
            ep->secrets[i].line = line;
            return;
        }
    }
    ep->secrets = xrealloc(ep->secrets, (ep->n_secrets + 1) * sizeof *ep->secrets);
    ep->secrets[ep->n_secrets++] = (struct secret_src){ k->off, k->name, xstrdup(spec), line };
}

static void secret_src_drop(struct env_priv *ep, size_t off)
{
    for (size_t i = 0; i < ep->n_secrets; i++) {
        if (ep->secrets[i].off == off) {
            xfree(&ep->secrets[i].spec);
            ep->secrets[i] = ep->secrets[--ep->n_secrets];
            return;
        }
    }
}

static enum lk_status env_keyval(struct parse *ps, const char *key, const char *value,
                                 struct lk_error *err)
{
    struct cfg_env *env = &ps->cfg->envs[ps->idx];
    if (strncasecmp(key, "object.", 7) == 0 || strncasecmp(key, "dataset.", 8) == 0) {
        ps->overrides = xrealloc(ps->overrides, (ps->n_overrides + 1) * sizeof *ps->overrides);
        ps->overrides[ps->n_overrides++] =
            (struct override){ ps->idx, xstrdup(key), xstrdup(value), ps->line };
        return LK_OK;
    }
    for (size_t i = 0; i < N_ENV_KEYS; i++) {
        const struct env_key *k = &ENV_KEYS[i];
        if (strcasecmp(key, k->name) != 0)
            continue;
        switch (k->type) {
        case KT_STR:
            set_str(env_str(env, k->off), value);
            if (k->off == ENV_FIELD(database))
                ps->cfg->priv->envs[ps->idx].database_line = ps->line;
            break;
        case KT_BOOL:
            if (!cfg_parse_bool(value, env_bool(env, k->off)))
                return err_set(err, LK_USAGE, "%s:%d: %s = '%s' in [env \"%s\"]; expected true or false",
                               where_path(ps), ps->line, k->name, value, env->name);
            break;
        case KT_SECRET:
            if (*value)
                secret_src_set(&ps->cfg->priv->envs[ps->idx], k, value, ps->line);
            else
                secret_src_drop(&ps->cfg->priv->envs[ps->idx], k->off);
            break;
        }
        return LK_OK;
    }
    return unknown_env_key(ps, key, err);
}

static enum lk_status on_section(struct parse *ps, const struct cfg_line *l, struct lk_error *err)
{
    const char *kind = l->section;
    bool named = l->name != NULL;
    if (named && !*l->name)
        return err_set(err, LK_USAGE, "%s:%d: [%s \"\"]: the name is empty", where_path(ps), ps->line, kind);
    if (strcmp(kind, "env") == 0 && named) {
        ps->sec = SEC_ENV;
        ps->idx = env_add(ps->cfg, l->name);
    } else if (strcmp(kind, "object") == 0 && named) {
        ps->sec = SEC_OBJECT;
        ps->idx = object_add(ps, l->name);
    } else if (strcmp(kind, "dataset") == 0 && named) {
        ps->sec = SEC_DATASET;
        ps->idx = dataset_add(ps, l->name);
    } else if (strcmp(kind, "keys") == 0 && !named) {
        ps->sec = SEC_KEYS;
    } else {
        return err_set(err, LK_USAGE,
                       "%s:%d: unknown section [%s%s]; expected [env \"NAME\"], [object \"NAME\"], "
                       "[dataset \"NAME\"] or [keys]",
                       where_path(ps), ps->line, kind, named ? " \"...\"" : "");
    }
    return LK_OK;
}

static enum lk_status on_keyval(struct parse *ps, const struct cfg_line *l, struct lk_error *err)
{
    char section[300];
    switch (ps->sec) {
    case SEC_NONE:
        return err_set(err, LK_USAGE, "%s:%d: '%s' is outside any section; put it under [env \"NAME\"]",
                       where_path(ps), ps->line, l->key);
    case SEC_KEYS:
        return err_set(err, LK_USAGE, "%s:%d: [keys] holds only lines 'bind SCREEN KEY ACTION'",
                       where_path(ps), ps->line);
    case SEC_ENV:
        return env_keyval(ps, l->key, l->value, err);
    case SEC_OBJECT:
        snprintf(section, sizeof section, "[object \"%s\"]", ps->objects[ps->idx].name);
        return set_object_key(ps, ps->line, section, &ps->objects[ps->idx], l->key, l->value, err);
    case SEC_DATASET:
        snprintf(section, sizeof section, "[dataset \"%s\"]", ps->datasets[ps->idx].name);
        return set_dataset_key(ps, ps->line, section, &ps->datasets[ps->idx], l->key, l->value, err);
    }
    return LK_OK;
}

static enum lk_status on_bind(struct parse *ps, const struct cfg_line *l, struct lk_error *err)
{
    if (ps->sec != SEC_NONE && ps->sec != SEC_KEYS)
        return err_set(err, LK_USAGE, "%s:%d: bind lines belong in [keys] (or before the first section)",
                       where_path(ps), ps->line);
    struct cfg *cfg = ps->cfg;
    cfg->binds = xrealloc(cfg->binds, (cfg->n_binds + 1) * sizeof *cfg->binds);
    struct cfg_bind *b = &cfg->binds[cfg->n_binds++];
    b->screen = xstrdup(l->words[0]);
    b->key = xstrdup(l->words[1]);
    b->action = xstrdup(l->words[2]);
    b->where = xasprintf("%s:%d", where_path(ps), ps->line);
    return LK_OK;
}

/* Splits "object.NAME.KEY": NAME may itself hold dots, KEY never does. */
static enum lk_status apply_override(struct parse *ps, struct cfg_env *env, const struct override *ov,
                                     struct lk_error *err)
{
    bool is_object = strncasecmp(ov->key, "object.", 7) == 0;
    const char *rest = ov->key + (is_object ? 7 : 8);
    const char *dot = strrchr(rest, '.');
    if (!dot || dot == rest || !dot[1])
        return err_set(err, LK_USAGE, "%s:%d: '%s' in [env \"%s\"]; expected %s.NAME.KEY",
                       where_path(ps), ov->line, ov->key, env->name, is_object ? "object" : "dataset");
    char *name = xstrndup(rest, (size_t)(dot - rest));
    const char *key = dot + 1;
    char section[300];
    snprintf(section, sizeof section, "[env \"%s\"] (%s)", env->name, ov->key);
    enum lk_status st = LK_OK;
    if (is_object) {
        struct cfg_object *o = NULL;
        for (size_t i = 0; i < env->n_objects; i++)
            if (strcmp(env->objects[i].name, name) == 0)
                o = &env->objects[i];
        if (!o)
            st = err_set(err, LK_USAGE, "%s:%d: '%s' in [env \"%s\"]: there is no [object \"%s\"] section",
                         where_path(ps), ov->line, ov->key, env->name, name);
        else
            st = set_object_key(ps, ov->line, section, o, key, ov->value, err);
    } else {
        struct cfg_dataset *d = NULL;
        for (size_t i = 0; i < env->n_datasets; i++)
            if (strcmp(env->datasets[i].name, name) == 0)
                d = &env->datasets[i];
        if (!d)
            st = err_set(err, LK_USAGE, "%s:%d: '%s' in [env \"%s\"]: there is no [dataset \"%s\"] section",
                         where_path(ps), ov->line, ov->key, env->name, name);
        else
            st = set_dataset_key(ps, ov->line, section, d, key, ov->value, err);
    }
    free(name);
    return st;
}

/* Gives every environment its own copy of the shared sections, then applies
 * its overrides. */
static enum lk_status finish(struct parse *ps, struct lk_error *err)
{
    struct cfg *cfg = ps->cfg;
    if (cfg->n_envs == 0)
        env_add(cfg, "default");
    for (size_t i = 0; i < ps->n_datasets; i++)
        if (!ps->datasets[i].dialect)
            ps->datasets[i].dialect = xstrdup("csv");
    for (size_t e = 0; e < cfg->n_envs; e++) {
        struct cfg_env *env = &cfg->envs[e];
        env->objects = xcalloc(ps->n_objects, sizeof *env->objects);
        env->n_objects = ps->n_objects;
        for (size_t i = 0; i < ps->n_objects; i++)
            object_copy(&env->objects[i], &ps->objects[i]);
        env->datasets = xcalloc(ps->n_datasets, sizeof *env->datasets);
        env->n_datasets = ps->n_datasets;
        for (size_t i = 0; i < ps->n_datasets; i++)
            dataset_copy(&env->datasets[i], &ps->datasets[i]);
    }
    for (size_t i = 0; i < ps->n_overrides; i++) {
        const struct override *ov = &ps->overrides[i];
        if (apply_override(ps, &cfg->envs[ov->env], ov, err) != LK_OK)
            return LK_USAGE;
    }
    return LK_OK;
}

static void parse_free(struct parse *ps)
{
    for (size_t i = 0; i < ps->n_objects; i++)
        object_free(&ps->objects[i]);
    xfree(&ps->objects);
    for (size_t i = 0; i < ps->n_datasets; i++)
        dataset_free(&ps->datasets[i]);
    xfree(&ps->datasets);
    for (size_t i = 0; i < ps->n_overrides; i++) {
        xfree(&ps->overrides[i].key);
        xfree(&ps->overrides[i].value);
    }
    xfree(&ps->overrides);
}

static enum lk_status parse_file(struct parse *ps, FILE *f, struct lk_error *err)
{
    int next = 1;
    char *text;
    enum lk_status st = LK_OK;
    while (st == LK_OK && (text = cfg_read_line(f, &ps->line, &next)) != NULL) {
        /* A UTF-8 byte order mark, as some editors write it. */
        const char *body = text;
        if (ps->line == 1 && strncmp(body, "\xef\xbb\xbf", 3) == 0)
            body += 3;
        struct cfg_line l;
        cfg_lex(body, &l);
        switch (l.kind) {
        case CFG_LINE_BLANK: break;
        case CFG_LINE_ERROR:
            st = err_set(err, LK_USAGE, "%s:%d: %s", where_path(ps), ps->line, l.error);
            break;
        case CFG_LINE_SECTION: st = on_section(ps, &l, err); break;
        case CFG_LINE_KEYVAL: st = on_keyval(ps, &l, err); break;
        case CFG_LINE_BIND: st = on_bind(ps, &l, err); break;
        }
        cfg_line_free(&l);
        free(text);
    }
    if (st == LK_OK && ferror(f))
        st = err_set(err, LK_USAGE, "%s: cannot read: %s", where_path(ps), strerror(errno));
    return st;
}

static char *home_dir(void)
{
    const char *home = getenv("HOME");
    if (home && *home)
        return xstrdup(home);
    const struct passwd *pw = getpwuid(getuid());
    return xstrdup(pw && pw->pw_dir ? pw->pw_dir : "/");
}

static char *xdg_dir(const char *var, const char *fallback_under_home)
{
    const char *v = getenv(var);
    if (v && *v == '/')
        return xstrdup(v);
    char *home = home_dir();
    char *dir = xasprintf("%s/%s", home, fallback_under_home);
    free(home);
    return dir;
}

char *cfg_default_path(void)
{
    const char *v = getenv("LAKEOP_CONFIG");
    if (v && *v)
        return xstrdup(v);
    char *dir = xdg_dir("XDG_CONFIG_HOME", ".config");
    char *path = xasprintf("%s/lakeop/config", dir);
    free(dir);
    return path;
}

char *cfg_state_dir(void)
{
    char *dir = xdg_dir("XDG_STATE_HOME", ".local/state");
    char *path = xasprintf("%s/lakeop", dir);
    free(dir);
    return path;
}

char *cfg_state_path(const char *file)
{
    char *dir = cfg_state_dir();
    char *path = xasprintf("%s/%s", dir, file);
    free(dir);
    return path;
}

char *cfg_aws_credentials_path(void)
{
    const char *v = getenv("AWS_SHARED_CREDENTIALS_FILE");
    if (v && *v)
        return xstrdup(v);
    char *home = home_dir();
    char *path = xasprintf("%s/.aws/credentials", home);
    free(home);
    return path;
}

/* "~/x" from the home folder, "x" from base (the config file's folder). */
static char *resolve_path(const char *base, const char *path)
{
    if (path[0] == '~' && path[1] == '/') {
        char *home = home_dir();
        char *out = xasprintf("%s/%s", home, path + 2);
        free(home);
        return out;
    }
    if (path[0] == '/' || !base)
        return xstrdup(path);
    return xasprintf("%s/%s", base, path);
}

char *cfg_dataset_schema_path(const struct cfg *cfg, const struct cfg_dataset *ds)
{
    if (!ds->schema || !*ds->schema)
        return NULL;
    return resolve_path(cfg ? cfg->dir : NULL, ds->schema);
}

static struct cfg *cfg_new(void)
{
    struct cfg *cfg = xcalloc(1, sizeof *cfg);
    cfg->priv = xcalloc(1, sizeof *cfg->priv);
    return cfg;
}

enum lk_status cfg_load(const char *path, bool path_is_explicit, struct cfg **out,
                        struct lk_error *err)
{
    *out = NULL;
    char *file = path ? xstrdup(path) : cfg_default_path();
    struct cfg *cfg = cfg_new();
    struct parse ps = { .cfg = cfg };
    enum lk_status st = LK_OK;

    FILE *f = fopen(file, "r");
    if (!f) {
        if (errno == ENOENT && !path_is_explicit) {
            free(file);
        } else {
            if (errno == ENOENT)
                st = err_set(err, LK_USAGE, "%s: no such configuration file", file);
            else if (errno == EACCES)
                st = err_set(err, LK_USAGE,
                             "%s: cannot read the configuration file: %s; it must belong to the user "
                             "running lakeop (chown it, then `chmod 600 %s`), or pass another with --config",
                             file, strerror(errno), file);
            else
                st = err_set(err, LK_USAGE, "%s: cannot read the configuration file: %s", file,
                             strerror(errno));
            free(file);
            cfg_free(cfg);
            return st;
        }
    } else {
        struct stat sb;
        if (fstat(fileno(f), &sb) == 0) {
            if (S_ISDIR(sb.st_mode)) {
                fclose(f);
                st = err_set(err, LK_USAGE, "%s: is a folder, not a configuration file", file);
                free(file);
                cfg_free(cfg);
                return st;
            }
            cfg->priv->others_can_read = (sb.st_mode & (S_IRGRP | S_IROTH)) != 0;
        }
        cfg->path = file;
        const char *slash = strrchr(file, '/');
        cfg->dir = slash ? xstrndup(file, slash == file ? 1 : (size_t)(slash - file)) : xstrdup(".");
        ps.path = cfg->path;
        st = parse_file(&ps, f, err);
        fclose(f);
    }
    if (st == LK_OK)
        st = finish(&ps, err);
    parse_free(&ps);
    if (st != LK_OK) {
        cfg_free(cfg);
        return st;
    }
    *out = cfg;
    return LK_OK;
}

static void add_secret(struct cfg *cfg, const char *value)
{
    if (!value || !*value)
        return;
    for (size_t i = 0; i < cfg->n_secrets; i++)
        if (strcmp(cfg->secrets[i], value) == 0)
            return;
    cfg->secrets = xrealloc(cfg->secrets, (cfg->n_secrets + 1) * sizeof *cfg->secrets);
    cfg->secrets[cfg->n_secrets++] = xstrdup(value);
}

static const char *override_var(size_t off)
{
    const char *aws = getenv("AWS_ACCESS_KEY_ID");
    if (aws && *aws && (off == ENV_FIELD(aws_secret_access_key) || off == ENV_FIELD(aws_session_token)))
        return "AWS_ACCESS_KEY_ID";
    for (size_t i = 0; i < N_ENV_VARS; i++)
        if (ENV_VARS[i].off == off) {
            const char *v = getenv(ENV_VARS[i].var);
            if (v && *v)
                return ENV_VARS[i].var;
        }
    return NULL;
}

static enum lk_status read_secret_file(const char *path, char **out, struct lk_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return err_set(err, LK_USAGE, "cannot read the secret file %s: %s", path, strerror(errno));
    struct buf b = BUF_INIT;
    char chunk[512];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, n);
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        buf_free(&b);
        return err_set(err, LK_USAGE, "cannot read the secret file %s", path);
    }
    while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
        b.data[--b.len] = '\0';
    if (b.len == 0) {
        buf_free(&b);
        return err_set(err, LK_USAGE, "the secret file %s is empty", path);
    }
    *out = buf_detach(&b);
    return LK_OK;
}

static enum lk_status resolve_secret(struct cfg *cfg, const struct cfg_env *env,
                                     const struct secret_src *s, char **out, struct lk_error *err)
{
    const char *spec = s->spec;
    const char *file = cfg->path ? cfg->path : "(config)";
    if (strncmp(spec, "env:", 4) == 0) {
        const char *v = getenv(spec + 4);
        if (!spec[4])
            return err_set(err, LK_USAGE, "%s:%d: %s in [env \"%s\"]: env: needs a variable name (env:NAME)",
                           file, s->line, s->key, env->name);
        if (!v || !*v)
            return err_set(err, LK_USAGE,
                           "%s:%d: %s in [env \"%s\"] comes from the environment variable %s, which is not set",
                           file, s->line, s->key, env->name, spec + 4);
        *out = xstrdup(v);
        return LK_OK;
    }
    if (strncmp(spec, "file:", 5) == 0) {
        char *path = resolve_path(cfg->dir, spec + 5);
        enum lk_status st = read_secret_file(path, out, err);
        free(path);
        if (st != LK_OK)
            err_prefix(err, "%s:%d: %s in [env \"%s\"]", file, s->line, s->key, env->name);
        return st;
    }
    if (cfg->priv->others_can_read)
        return err_set(err, LK_USAGE,
                       "%s:%d: %s in [env \"%s\"] is written in a file that group or others can read; "
                       "run `chmod 600 %s`, or use env:NAME or file:PATH",
                       file, s->line, s->key, env->name, file);
    *out = xstrdup(spec);
    return LK_OK;
}

/* [default] or [$AWS_PROFILE] of the shared credentials file, the way the
 * AWS CLI reads it; a missing file is no error. */
static void read_aws_credentials(struct cfg *cfg, struct cfg_env *env)
{
    char *path = cfg_aws_credentials_path();
    FILE *f = fopen(path, "r");
    free(path);
    if (!f)
        return;
    const char *profile = getenv("AWS_PROFILE");
    if (!profile || !*profile)
        profile = "default";
    int lineno = 0, next = 1;
    char *text;
    bool in_profile = false;
    while ((text = cfg_read_line(f, &lineno, &next)) != NULL) {
        char *p = text;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '[') {
            char *end = strchr(p, ']');
            if (end) {
                *end = '\0';
                char *name = p + 1;
                while (*name == ' ')
                    name++;
                in_profile = strcmp(name, profile) == 0;
            }
        } else if (in_profile && *p != '#' && *p != ';') {
            char *eq = strchr(p, '=');
            if (eq) {
                char *k = p, *kend = eq, *v = eq + 1;
                while (kend > k && (kend[-1] == ' ' || kend[-1] == '\t'))
                    kend--;
                *kend = '\0';
                while (*v == ' ' || *v == '\t')
                    v++;
                size_t vl = strlen(v);
                while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                    v[--vl] = '\0';
                if (strcmp(k, "aws_access_key_id") == 0)
                    set_str(&env->aws_access_key_id, v);
                else if (strcmp(k, "aws_secret_access_key") == 0)
                    set_str(&env->aws_secret_access_key, v);
                else if (strcmp(k, "aws_session_token") == 0)
                    set_str(&env->aws_session_token, v);
            }
        }
        free(text);
    }
    fclose(f);
    add_secret(cfg, env->aws_secret_access_key);
    add_secret(cfg, env->aws_session_token);
}

static void apply_defaults(struct cfg_env *env)
{
    if (!env->zuora_file_url && env->zuora_url)
        env->zuora_file_url = xstrdup(env->zuora_url);
    if (!env->zuora_timezone)
        env->zuora_timezone = xstrdup("America/Los_Angeles");
    if (!env->s3_region) {
        const char *r = getenv("AWS_DEFAULT_REGION");
        env->s3_region = xstrdup(r && *r ? r : "us-east-1");
    }
    if (!env->airflow_dag)
        env->airflow_dag = xstrdup("supporter_experience");
    /* Only beside AWS's own S3: a local S3 double must not send the cohort
     * commands to the real DynamoDB. */
    if (!env->dynamodb_endpoint && (!env->s3_endpoint || strstr(env->s3_endpoint, "amazonaws.com")))
        env->dynamodb_endpoint = xasprintf("https://dynamodb.%s.amazonaws.com", env->s3_region);
    if (!env->operator_name) {
        const char *op = getenv("LAKEOP_OPERATOR");
        if (!op || !*op)
            op = getenv("USER");
        if (op && *op) {
            env->operator_name = xstrdup(op);
        } else {
            const struct passwd *pw = getpwuid(getuid());
            env->operator_name = pw && pw->pw_name ? xstrdup(pw->pw_name)
                                                   : xasprintf("uid %u", (unsigned)getuid());
        }
    }
}

/* The password inside a database URL or conninfo (a copy), or NULL. */
static char *conninfo_password(const char *conninfo)
{
    if (!conninfo)
        return NULL;
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &errmsg);
    PQfreemem(errmsg);
    if (!opts)
        return NULL;
    char *password = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
            password = xstrdup(o->val);
    PQconninfoFree(opts);
    return password;
}

/* A password written into the file's database line is a literal secret
 * like any other: refused when group or others can read the file. */
static enum lk_status check_database_password(const struct cfg *cfg, size_t idx, struct lk_error *err)
{
    const struct env_priv *ep = &cfg->priv->envs[idx];
    if (!cfg->priv->others_can_read || !ep->database_line || override_var(ENV_FIELD(database)))
        return LK_OK;
    char *password = conninfo_password(cfg->envs[idx].database);
    if (!password)
        return LK_OK;
    free(password);
    return err_set(err, LK_USAGE,
                   "%s:%d: database in [env \"%s\"] holds a password, in a file that group or others can "
                   "read; run `chmod 600 %s`, or leave the password out and keep it in ~/.pgpass or PGPASSWORD",
                   cfg->path, ep->database_line, cfg->envs[idx].name, cfg->path);
}

static enum lk_status env_resolve(struct cfg *cfg, size_t idx, struct lk_error *err)
{
    struct cfg_env *env = &cfg->envs[idx];
    struct env_priv *ep = &cfg->priv->envs[idx];
    if (check_database_password(cfg, idx, err) != LK_OK)
        return LK_USAGE;
    for (size_t i = 0; i < ep->n_secrets; i++) {
        const struct secret_src *s = &ep->secrets[i];
        if (override_var(s->off))
            continue;
        char *value = NULL;
        if (resolve_secret(cfg, env, s, &value, err) != LK_OK)
            return LK_USAGE;
        char **field = env_str(env, s->off);
        free(*field);
        *field = value;
        add_secret(cfg, value);
    }
    for (size_t i = 0; i < N_ENV_VARS; i++) {
        const char *v = getenv(ENV_VARS[i].var);
        if (!v || !*v)
            continue;
        set_str(env_str(env, ENV_VARS[i].off), v);
        if (ENV_VARS[i].secret)
            add_secret(cfg, v);
    }
    /* AWS credentials come as a set: key id, secret and token from one place. */
    const char *key_id = getenv("AWS_ACCESS_KEY_ID");
    if (key_id && *key_id) {
        set_str(&env->aws_access_key_id, key_id);
        set_str(&env->aws_secret_access_key, getenv("AWS_SECRET_ACCESS_KEY"));
        set_str(&env->aws_session_token, getenv("AWS_SESSION_TOKEN"));
        add_secret(cfg, env->aws_secret_access_key);
        add_secret(cfg, env->aws_session_token);
    } else if (!env->aws_access_key_id) {
        read_aws_credentials(cfg, env);
    }
    apply_defaults(env);
    char *db_password = conninfo_password(env->database);
    add_secret(cfg, db_password);
    free(db_password);
    ep->resolved = true;
    return LK_OK;
}

void cfg_env_secret_files(const struct cfg *cfg, const struct cfg_env *env,
                          void (*fn)(const char *key, const char *path, void *ud), void *ud)
{
    size_t idx = 0;
    while (idx < cfg->n_envs && &cfg->envs[idx] != env)
        idx++;
    if (idx == cfg->n_envs)
        return;
    const struct env_priv *ep = &cfg->priv->envs[idx];
    for (size_t i = 0; i < ep->n_secrets; i++) {
        const struct secret_src *s = &ep->secrets[i];
        if (strncmp(s->spec, "file:", 5) != 0 || override_var(s->off))
            continue;
        char *path = resolve_path(cfg->dir, s->spec + 5);
        fn(s->key, path, ud);
        free(path);
    }
}

enum lk_status cfg_env_select(struct cfg *cfg, const char *name, const struct cfg_env **out,
                              struct lk_error *err)
{
    *out = NULL;
    const char *from = "--env";
    if (!name || !*name) {
        name = getenv("LAKEOP_ENV");
        from = "LAKEOP_ENV";
    }
    size_t idx = 0;
    if (name && *name) {
        for (idx = 0; idx < cfg->n_envs; idx++)
            if (strcmp(cfg->envs[idx].name, name) == 0)
                break;
        if (idx == cfg->n_envs) {
            struct buf known = BUF_INIT;
            for (size_t i = 0; i < cfg->n_envs; i++)
                buf_printf(&known, "%s%s", i ? ", " : "", cfg->envs[i].name);
            if (cfg->path)
                err_set(err, LK_USAGE, "unknown environment '%s' (%s); %s defines: %s", name, from,
                        cfg->path, buf_cstr(&known));
            else
                err_set(err, LK_USAGE,
                        "unknown environment '%s' (%s); there is no configuration file, only the "
                        "environment 'default' made from LAKEOP_* variables", name, from);
            buf_free(&known);
            return LK_USAGE;
        }
    }
    if (!cfg->priv->envs[idx].resolved && env_resolve(cfg, idx, err) != LK_OK)
        return LK_USAGE;
    *out = &cfg->envs[idx];
    return LK_OK;
}

const struct cfg_object *cfg_object_find(const struct cfg_env *env, const char *name)
{
    for (size_t i = 0; i < env->n_objects; i++)
        if (strcmp(env->objects[i].name, name) == 0)
            return &env->objects[i];
    return NULL;
}

const struct cfg_dataset *cfg_dataset_find(const struct cfg_env *env, const char *name)
{
    for (size_t i = 0; i < env->n_datasets; i++)
        if (strcmp(env->datasets[i].name, name) == 0)
            return &env->datasets[i];
    return NULL;
}

void cfg_redact(const struct cfg *cfg, char *text)
{
    if (!cfg || !text)
        return;
    for (size_t i = 0; i < cfg->n_secrets; i++)
        err_hide_secret(text, cfg->secrets[i]);
}

void cfg_free(struct cfg *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_envs; i++) {
        env_free(&cfg->envs[i]);
        struct env_priv *ep = &cfg->priv->envs[i];
        for (size_t j = 0; j < ep->n_secrets; j++)
            xfree(&ep->secrets[j].spec);
        xfree(&ep->secrets);
    }
    xfree(&cfg->envs);
    xfree(&cfg->priv->envs);
    xfree(&cfg->priv);
    for (size_t i = 0; i < cfg->n_binds; i++) {
        xfree(&cfg->binds[i].screen);
        xfree(&cfg->binds[i].key);
        xfree(&cfg->binds[i].action);
        xfree(&cfg->binds[i].where);
    }
    xfree(&cfg->binds);
    for (size_t i = 0; i < cfg->n_secrets; i++)
        xfree(&cfg->secrets[i]);
    xfree(&cfg->secrets);
    xfree(&cfg->path);
    xfree(&cfg->dir);
    free(cfg);
}
