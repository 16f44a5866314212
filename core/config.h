/* Configuration: the file format and environment variables of
 * ARCHITECTURE.md ("Configuration (stable contract)").
 *
 * cfg_load() parses the file; cfg_env_select() picks an environment,
 * applies [object]/[dataset] overrides, LAKEOP_* / AWS_* variables and
 * resolves secrets (env:NAME, file:PATH).  Everything returned is owned by
 * the struct cfg and freed by cfg_free(). */
#ifndef LAKEOP_CONFIG_H
#define LAKEOP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct cfg_object {              /* [object "NAME"]: one Zuora object = one batch */
    char *name;
    char *zoql;
    char *raw;                   /* s3://BUCKET/Obj.csv or file://DIR/... */
    char *stage;                 /* Airflow task that ingests it, e.g. zuora_account */
};

struct cfg_dataset {             /* [dataset "NAME"] */
    char *name;
    char *source;                /* optional free text (ods_qlik, dmap, ...) */
    char *incoming;              /* prefix URL */
    char *raw_hist;              /* prefix URL */
    char *schema;                /* path of the column schema file, relative to the config file's folder */
    char *dialect;               /* "csv" or "redshift-unload" */
    long long freshness_s;       /* 0 = no freshness check */
    long long min_records;
    bool ods;                    /* ODS table: has LOAD... snapshots */
};

struct cfg_bind {                /* bind SCREEN KEY ACTION */
    char *screen;
    char *key;
    char *action;
    char *where;                 /* "file:line", for error messages */
};

struct cfg_env {
    char *name;
    char *database;              /* libpq conninfo or URI */
    char *zuora_url;
    char *zuora_file_url;        /* default: zuora_url */
    char *zuora_client_id;
    char *zuora_client_secret;   /* resolved secret; never print */
    char *zuora_partner;
    char *zuora_project;
    char *zuora_timezone;        /* default America/Los_Angeles */
    char *s3_endpoint;           /* https://..., http://127.0.0.1:PORT, or file://DIR */
    char *s3_region;             /* default us-east-1 */
    char *aws_access_key_id;
    char *aws_secret_access_key; /* secret */
    char *aws_session_token;     /* secret */
    char *ca_bundle;             /* optional CA file for TLS */
    char *airflow_url;
    char *airflow_user;
    char *airflow_password;      /* secret */
    char *airflow_dag;           /* default supporter_experience */
    char *cohorts_bucket;
    char *cohorts_table_stage;
    char *dynamodb_endpoint;
    char *operator_name;         /* operator = NAME, else $LAKEOP_OPERATOR, else $USER */
    bool protected_env;          /* "protected": typed confirmation, red banner */
    bool read_only;
    bool mouse;                  /* default true */

    /* The shared [object] and [dataset] sections with this environment's
     * overrides applied (object.NAME.KEY / dataset.NAME.KEY). */
    struct cfg_object *objects;
    size_t n_objects;
    struct cfg_dataset *datasets;
    size_t n_datasets;
};

struct cfg_private;

struct cfg {
    char *path;                  /* the file read, or NULL when none was found */
    char *dir;                   /* its folder (for relative schema paths) */
    struct cfg_env *envs;        /* in file order; envs[0] is the default */
    size_t n_envs;
    struct cfg_bind *binds;
    size_t n_binds;
    /* Secret values seen while resolving, so that cfg_redact() can hide them
     * in any text that is about to be shown or logged. */
    char **secrets;
    size_t n_secrets;
    struct cfg_private *priv;    /* config.c's own bookkeeping (unresolved secrets) */
};

/* The file lakeop reads: $LAKEOP_CONFIG, else $XDG_CONFIG_HOME/lakeop/config,
 * else ~/.config/lakeop/config.  Caller frees. */
char *cfg_default_path(void);

/* path NULL means cfg_default_path().  A missing default file is not an error
 * (LAKEOP_* variables may be all there is: an environment named "default" is
 * made); a missing explicit file is.  Errors carry "file:line: what was
 * expected" and status LK_USAGE. */
enum lk_status cfg_load(const char *path, bool path_is_explicit, struct cfg **out,
                        struct lk_error *err);

/* name NULL: $LAKEOP_ENV, else the first environment.  Resolves secrets and
 * environment-variable overrides of the chosen environment only.  A literal
 * secret in a file that group or others can read is refused, naming the
 * file and the fix (chmod 600 FILE). */
enum lk_status cfg_env_select(struct cfg *cfg, const char *name, const struct cfg_env **out,
                              struct lk_error *err);

const struct cfg_object *cfg_object_find(const struct cfg_env *env, const char *name);
const struct cfg_dataset *cfg_dataset_find(const struct cfg_env *env, const char *name);

/* Replaces every known secret in text (in place) with "****". */
void cfg_redact(const struct cfg *cfg, char *text);

/* Parses "26h", "90m", "2d", "3600" (seconds) into seconds; -1 when malformed. */
long long cfg_parse_duration(const char *text);

void cfg_free(struct cfg *cfg);

/* true/false, yes/no, on/off, 1/0 (any case); false when not a boolean. */
bool cfg_parse_bool(const char *text, bool *out);

/* Where lakeop keeps state between runs: $XDG_STATE_HOME/lakeop, else
 * ~/.local/state/lakeop (a relative $XDG_STATE_HOME is ignored, as the XDG
 * spec says).  The console's history is FILE "history", its only file
 * there.  Caller frees; nothing is created. */
char *cfg_state_dir(void);
char *cfg_state_path(const char *file);

/* The AWS shared credentials file: $AWS_SHARED_CREDENTIALS_FILE, else
 * ~/.aws/credentials.  Caller frees. */
char *cfg_aws_credentials_path(void);

/* A dataset's schema file as a path to open: "~/" from the home folder,
 * relative paths from the configuration file's folder (cfg may be NULL:
 * then as written).  The one resolution both `lakeop paths` and ingestion
 * use.  NULL when the dataset has none; caller frees. */
char *cfg_dataset_schema_path(const struct cfg *cfg, const struct cfg_dataset *ds);

/* Calls fn for each file:PATH secret the selected env (from
 * cfg_env_select) read: its key and the file as opened, never the value.
 * A secret a variable overrides is not read and not listed. */
void cfg_env_secret_files(const struct cfg *cfg, const struct cfg_env *env,
                          void (*fn)(const char *key, const char *path, void *ud), void *ud);

#endif
