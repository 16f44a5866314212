/* The configuration file, environment selection, overrides and secrets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "mem.h"

static char tmpdir[256];

/* Every variable lakeop reads, so that the caller's environment never leaks in. */
static const char *const VARS[] = {
    "LAKEOP_CONFIG", "LAKEOP_ENV", "LAKEOP_OPERATOR", "LAKEOP_DATABASE_URL", "LAKEOP_ZUORA_URL",
    "LAKEOP_ZUORA_FILE_URL", "LAKEOP_ZUORA_CLIENT_ID", "LAKEOP_ZUORA_CLIENT_SECRET",
    "LAKEOP_ZUORA_PARTNER", "LAKEOP_ZUORA_PROJECT", "LAKEOP_ZUORA_TIMEZONE", "LAKEOP_S3_ENDPOINT",
    "LAKEOP_AIRFLOW_URL", "LAKEOP_AIRFLOW_USER", "LAKEOP_AIRFLOW_PASSWORD", "LAKEOP_AIRFLOW_DAG",
    "LAKEOP_DYNAMODB_ENDPOINT", "LAKEOP_COHORTS_BUCKET", "LAKEOP_CA_BUNDLE", "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "TEST_SECRET",
};

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "%s/lakeop-cfg.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir))
        return -1;
    for (size_t i = 0; i < sizeof VARS / sizeof VARS[0]; i++)
        unsetenv(VARS[i]);
    setenv("HOME", tmpdir, 1);
    setenv("USER", "tester", 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char *cmd = xasprintf("rm -rf '%s'", tmpdir);
    int rc = system(cmd);
    free(cmd);
    return rc == 0 ? 0 : -1;
}

/* Writes FILE under the temporary folder with the given mode; returns its path. */
static char *write_file(const char *name, const char *text, mode_t mode)
{
    char *path = xasprintf("%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

/* Loads text as a config file (mode 0600) and expects success. */
static struct cfg *load_ok(const char *text)
{
    char *path = write_file("config", text, 0600);
    struct cfg *cfg = NULL;
    struct lk_error err;
    err_clear(&err);
    enum lk_status st = cfg_load(path, true, &cfg, &err);
    if (st != LK_OK)
        fail_msg("cfg_load: %s", err.message);
    free(path);
    return cfg;
}

/* Loads text and expects a usage error whose message contains want. */
static void load_fails(const char *text, const char *want)
{
    char *path = write_file("config", text, 0600);
    struct cfg *cfg = NULL;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(cfg_load(path, true, &cfg, &err), LK_USAGE);
    assert_null(cfg);
    if (!strstr(err.message, want))
        fail_msg("expected '%s' in: %s", want, err.message);
    free(path);
}

static const struct cfg_env *select_ok(struct cfg *cfg, const char *name)
{
    const struct cfg_env *env = NULL;
    struct lk_error err;
    err_clear(&err);
    if (cfg_env_select(cfg, name, &env, &err) != LK_OK)
        fail_msg("cfg_env_select: %s", err.message);
    return env;
}

static void select_fails(struct cfg *cfg, const char *name, const char *want)
{
    const struct cfg_env *env = NULL;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(cfg_env_select(cfg, name, &env, &err), LK_USAGE);
    assert_null(env);
    if (!strstr(err.message, want))
        fail_msg("expected '%s' in: %s", want, err.message);
}

static const char FULL[] =
    "# lakeop configuration\n"
    "[env \"CODE\"]\n"
    "database        = postgresql://lakeop@db.example/lakeop\n"
    "zuora.url       = https://rest.apisandbox.zuora.com   # trailing comment\n"
    "zuora.client_id = abc#def\n"
    "zuora.partner   = \"guardian # not a comment\"\n"
    "zuora.project   = zuora-datalake-export-1\n"
    "s3.endpoint     = http://127.0.0.1:4568\n"
    "s3.region       = eu-west-1\n"
    "airflow.url     = https://airflow.example\n"
    "airflow.user    = ops\n"
    "protected       = false\n"
    "read_only       = no\n"
    "mouse           = off\n"
    "cohorts.bucket  = s3://cohorts\n"
    "object.Account.raw = s3://code-raw/Account.csv\n"
    "dataset.edw.sample.freshness = 2h\n"
    "\n"
    "[env \"PROD\"]\n"
    "protected = true\n"
    "operator = alice\n"
    "zuora.url = https://rest.zuora.com\n"
    "zuora.file_url = https://files.zuora.com\n"
    "zuora.timezone = UTC\n"
    "dynamodb.endpoint = http://127.0.0.1:8000\n"
    "\n"
    "[object \"Account\"]\n"
    "zoql = SELECT Account.Id FROM Account \\\n"
    "       WHERE Status != 'Canceled'\n"
    "raw  = s3://raw/Account.csv\n"
    "stage = zuora_account\n"
    "\n"
    "[dataset \"edw.sample\"]\n"
    "incoming = s3://incoming/cubic/ods_qlik/EDW.SAMPLE/\n"
    "raw_hist = s3://raw-hist/cubic/ods_qlik/EDW.SAMPLE/\n"
    "schema   = meta/edw_sample.json\n"
    "dialect  = redshift-unload\n"
    "freshness = 26h\n"
    "min_records = 1\n"
    "source = ods_qlik\n"
    "ods = true\n"
    "\n"
    "[keys]\n"
    "bind loads r retry  # comment\n"
    "bind global \"#\" help\n";

static void test_full_file(void **state)
{
    (void)state;
    struct cfg *cfg = load_ok(FULL);
    assert_int_equal(cfg->n_envs, 2);
    const struct cfg_env *env = select_ok(cfg, NULL);
    assert_string_equal(env->name, "CODE");
    assert_string_equal(env->database, "postgresql://lakeop@db.example/lakeop");
    assert_string_equal(env->zuora_url, "https://rest.apisandbox.zuora.com");
    assert_string_equal(env->zuora_file_url, "https://rest.apisandbox.zuora.com");
    assert_string_equal(env->zuora_client_id, "abc#def");
    assert_string_equal(env->zuora_partner, "guardian # not a comment");
    assert_string_equal(env->zuora_timezone, "America/Los_Angeles");
    assert_string_equal(env->s3_region, "eu-west-1");
    assert_string_equal(env->airflow_dag, "supporter_experience");
    assert_null(env->dynamodb_endpoint);   /* a local S3: no AWS default */
    assert_false(env->protected_env);
    assert_false(env->read_only);
    assert_false(env->mouse);
    assert_string_equal(env->operator_name, "tester");

    const struct cfg_object *acc = cfg_object_find(env, "Account");
    assert_non_null(acc);
    assert_string_equal(acc->zoql, "SELECT Account.Id FROM Account        WHERE Status != 'Canceled'");
    assert_string_equal(acc->raw, "s3://code-raw/Account.csv");
    assert_string_equal(acc->stage, "zuora_account");
    const struct cfg_dataset *ds = cfg_dataset_find(env, "edw.sample");
    assert_non_null(ds);
    assert_int_equal(ds->freshness_s, 7200);
    assert_string_equal(ds->dialect, "redshift-unload");
    assert_int_equal(ds->min_records, 1);
    assert_true(ds->ods);
    assert_string_equal(ds->source, "ods_qlik");
    assert_null(cfg_object_find(env, "Nope"));
    char *schema = cfg_dataset_schema_path(cfg, ds);
    char *want = xasprintf("%s/meta/edw_sample.json", tmpdir);
    assert_string_equal(schema, want);
    free(schema);
    free(want);

    const struct cfg_env *prod = select_ok(cfg, "PROD");
    assert_true(prod->protected_env);
    assert_true(prod->mouse);
    assert_string_equal(prod->operator_name, "alice");
    assert_string_equal(prod->zuora_file_url, "https://files.zuora.com");
    assert_string_equal(prod->zuora_timezone, "UTC");
    assert_string_equal(prod->s3_region, "us-east-1");
    assert_string_equal(prod->dynamodb_endpoint, "http://127.0.0.1:8000");
    /* Overrides are per environment: PROD sees the shared values. */
    assert_string_equal(cfg_object_find(prod, "Account")->raw, "s3://raw/Account.csv");
    assert_int_equal(cfg_dataset_find(prod, "edw.sample")->freshness_s, 26 * 3600);

    assert_int_equal(cfg->n_binds, 2);
    assert_string_equal(cfg->binds[0].screen, "loads");
    assert_string_equal(cfg->binds[0].key, "r");
    assert_string_equal(cfg->binds[0].action, "retry");
    assert_string_equal(cfg->binds[1].key, "#");
    assert_non_null(strstr(cfg->binds[1].where, "config:45"));
    cfg_free(cfg);
}

static void test_malformed(void **state)
{
    (void)state;
    load_fails("[env \"A\"\ndatabase = x\n", "config:1: malformed section header");
    load_fails("[env A]\n", "config:1: malformed section header");
    load_fails("[wat \"A\"]\n", "config:1: unknown section [wat");
    load_fails("[env \"A\"]\n# ok\n\njust words\n", "config:4: expected KEY = VALUE");
    load_fails("[env \"A\"]\nfoo = 1\n", "config:2: unknown key 'foo' in [env \"A\"]; expected one of: database,");
    load_fails("[env \"A\"]\nprotected = maybe\n", "config:2: protected = 'maybe' in [env \"A\"]; expected true or false");
    load_fails("[dataset \"d\"]\nfreshness = 26 hours\n", "config:2: freshness = '26 hours' in [dataset \"d\"] is not a duration");
    load_fails("[dataset \"d\"]\nods = sometimes\n", "config:2: ods = 'sometimes'");
    load_fails("[dataset \"d\"]\ndialect = tsv\n", "expected csv or redshift-unload");
    load_fails("[dataset \"d\"]\nmin_records = -3\n", "config:2: min_records");
    load_fails("[object \"o\"]\nquery = x\n", "config:2: unknown key 'query' in [object \"o\"]; expected one of: zoql, raw, stage");
    load_fails("database = x\n", "config:1: 'database' is outside any section");
    load_fails("[env \"A\"]\nzuora.partner = \"open\n", "config:2: unterminated quoted string");
    load_fails("[env \"A\"]\nobject.Nope.raw = s3://x/y\n", "config:2: 'object.Nope.raw' in [env \"A\"]: there is no [object \"Nope\"] section");
    load_fails("[object \"O\"]\n[env \"A\"]\nobject.O.wrong = 1\n", "config:3: unknown key 'wrong'");
    load_fails("[keys]\nbind loads r\n", "config:2: expected: bind SCREEN KEY ACTION");
    load_fails("[env \"A\"]\nbind loads r retry\n", "config:2: bind lines belong in [keys]");
    load_fails("[env \"A\"]\n = x\n", "the key is missing");
}

static void test_missing_and_unreadable(void **state)
{
    (void)state;
    struct cfg *cfg = NULL;
    struct lk_error err;
    char *path = xasprintf("%s/nope", tmpdir);

    err_clear(&err);
    assert_int_equal(cfg_load(path, true, &cfg, &err), LK_USAGE);
    assert_non_null(strstr(err.message, "no such configuration file"));
    assert_non_null(strstr(err.message, path));

    /* Not explicit: no file is fine, and "default" comes from variables. */
    setenv("LAKEOP_DATABASE_URL", "host=/nowhere dbname=x", 1);
    assert_int_equal(cfg_load(path, false, &cfg, &err), LK_OK);
    assert_null(cfg->path);
    const struct cfg_env *env = select_ok(cfg, NULL);
    assert_string_equal(env->name, "default");
    assert_string_equal(env->database, "host=/nowhere dbname=x");
    select_fails(cfg, "PROD", "unknown environment 'PROD' (--env); there is no configuration file");
    cfg_free(cfg);
    free(path);

    if (geteuid() != 0) {   /* root reads anything */
        char *locked = write_file("locked", "[env \"A\"]\n", 0000);
        err_clear(&err);
        assert_int_equal(cfg_load(locked, true, &cfg, &err), LK_USAGE);
        assert_non_null(strstr(err.message, "cannot read the configuration file"));
        free(locked);
    }
    err_clear(&err);
    assert_int_equal(cfg_load(tmpdir, true, &cfg, &err), LK_USAGE);
    assert_non_null(strstr(err.message, "is a folder"));
}

static void test_default_path(void **state)
{
    (void)state;
    char *p = cfg_default_path();
    char *want = xasprintf("%s/.config/lakeop/config", tmpdir);
    assert_string_equal(p, want);
    free(p);
    free(want);
    setenv("XDG_CONFIG_HOME", "/xdg", 1);
    p = cfg_default_path();
    assert_string_equal(p, "/xdg/lakeop/config");
    free(p);
    setenv("LAKEOP_CONFIG", "/etc/lakeop.conf", 1);
    p = cfg_default_path();
    assert_string_equal(p, "/etc/lakeop.conf");
    free(p);
    setenv("XDG_STATE_HOME", "/state", 1);
    p = cfg_state_path("history");
    assert_string_equal(p, "/state/lakeop/history");
    free(p);
}

static void test_env_selection(void **state)
{
    (void)state;
    struct cfg *cfg = load_ok("[env \"A\"]\n[env \"B\"]\n[env \"C\"]\n");
    assert_string_equal(select_ok(cfg, NULL)->name, "A");
    setenv("LAKEOP_ENV", "B", 1);
    assert_string_equal(select_ok(cfg, NULL)->name, "B");
    assert_string_equal(select_ok(cfg, "C")->name, "C");
    select_fails(cfg, "PROD", "unknown environment 'PROD' (--env)");
    select_fails(cfg, "PROD", "defines: A, B, C");
    setenv("LAKEOP_ENV", "nope", 1);
    select_fails(cfg, NULL, "unknown environment 'nope' (LAKEOP_ENV)");
    cfg_free(cfg);
}

static void test_env_vars_override(void **state)
{
    (void)state;
    setenv("LAKEOP_DATABASE_URL", "postgresql://u:dbpass@h/db", 1);
    setenv("LAKEOP_ZUORA_URL", "http://127.0.0.1:1", 1);
    setenv("LAKEOP_AIRFLOW_PASSWORD", "airpass-from-env", 1);
    setenv("LAKEOP_S3_ENDPOINT", "file:///srv/lake", 1);
    setenv("AWS_REGION", "eu-west-2", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env-secret-key", 1);
    setenv("LAKEOP_OPERATOR", "bob", 1);
    /* The file's airflow.password refers to a variable that is not set: the
     * override makes it irrelevant. */
    struct cfg *cfg = load_ok("[env \"A\"]\ndatabase = x\nairflow.password = env:MISSING_VAR\n"
                              "aws.access_key_id = AKIAFILE\naws.secret_access_key = env:MISSING_TOO\n");
    const struct cfg_env *env = select_ok(cfg, NULL);
    assert_string_equal(env->database, "postgresql://u:dbpass@h/db");
    assert_string_equal(env->zuora_url, "http://127.0.0.1:1");
    assert_string_equal(env->zuora_file_url, "http://127.0.0.1:1");
    assert_string_equal(env->airflow_password, "airpass-from-env");
    assert_string_equal(env->s3_endpoint, "file:///srv/lake");
    assert_string_equal(env->s3_region, "eu-west-2");
    assert_string_equal(env->aws_access_key_id, "AKIAENV");
    assert_string_equal(env->aws_secret_access_key, "env-secret-key");
    assert_null(env->aws_session_token);
    assert_string_equal(env->operator_name, "bob");
    assert_null(env->dynamodb_endpoint);

    char text[] = "u:dbpass@h airpass-from-env env-secret-key fine";
    cfg_redact(cfg, text);
    assert_string_equal(text, "u:****@h **** **** fine");
    cfg_free(cfg);
}

static void test_aws_credentials_file(void **state)
{
    (void)state;
    char *dir = xasprintf("%s/.aws", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    free(dir);
    free(write_file(".aws/credentials",
                    "[default]\naws_access_key_id = AKIADEF\naws_secret_access_key = defsecret\n"
                    "[ops]\naws_access_key_id=AKIAOPS\naws_secret_access_key=opssecret\naws_session_token=tok123\n",
                    0600));
    struct cfg *cfg = load_ok("[env \"A\"]\n[env \"B\"]\n");
    const struct cfg_env *env = select_ok(cfg, "A");
    assert_string_equal(env->aws_access_key_id, "AKIADEF");
    assert_string_equal(env->aws_secret_access_key, "defsecret");
    assert_string_equal(env->dynamodb_endpoint, "https://dynamodb.us-east-1.amazonaws.com");
    setenv("AWS_PROFILE", "ops", 1);
    env = select_ok(cfg, "B");
    assert_string_equal(env->aws_access_key_id, "AKIAOPS");
    assert_string_equal(env->aws_session_token, "tok123");
    char text[] = "x opssecret tok123 defsecret";
    cfg_redact(cfg, text);
    assert_string_equal(text, "x **** **** ****");
    cfg_free(cfg);

    char *other = write_file("creds2", "[default]\naws_access_key_id = AKIAOTHER\n", 0600);
    setenv("AWS_SHARED_CREDENTIALS_FILE", other, 1);
    unsetenv("AWS_PROFILE");
    cfg = load_ok("[env \"A\"]\n");
    assert_string_equal(select_ok(cfg, NULL)->aws_access_key_id, "AKIAOTHER");
    cfg_free(cfg);
    free(other);
}

static void test_secret_env(void **state)
{
    (void)state;
    struct cfg *cfg = load_ok("[env \"A\"]\nzuora.client_secret = env:TEST_SECRET\n"
                              "[env \"B\"]\nzuora.client_secret = env:OTHER_UNSET\n");
    select_fails(cfg, "A", "zuora.client_secret in [env \"A\"] comes from the environment variable TEST_SECRET, which is not set");
    setenv("TEST_SECRET", "s3cr3t-from-env", 1);
    const struct cfg_env *env = select_ok(cfg, "A");
    assert_string_equal(env->zuora_client_secret, "s3cr3t-from-env");
    char text[] = "token request with s3cr3t-from-env failed";
    cfg_redact(cfg, text);
    assert_string_equal(text, "token request with **** failed");
    /* B is never resolved unless selected. */
    select_fails(cfg, "B", "OTHER_UNSET");
    cfg_free(cfg);
}

static void test_secret_file(void **state)
{
    (void)state;
    char *secret = write_file("secret.txt", "pw-in-file\n", 0600);
    char *text = xasprintf("[env \"A\"]\nairflow.password = file:%s\n"
                           "[env \"R\"]\nairflow.password = file:secret.txt\n"
                           "[env \"M\"]\nairflow.password = file:missing.txt\n", secret);
    struct cfg *cfg = load_ok(text);
    assert_string_equal(select_ok(cfg, "A")->airflow_password, "pw-in-file");
    /* Relative to the configuration file's folder. */
    assert_string_equal(select_ok(cfg, "R")->airflow_password, "pw-in-file");
    select_fails(cfg, "M", "cannot read the secret file");
    select_fails(cfg, "M", "missing.txt");
    cfg_free(cfg);
    free(text);
    free(secret);
}

/* text written with mode is read, and selecting its first env is refused
 * naming where and the fix (chmod 600 FILE), never secret. */
static void literal_refused(const char *text, mode_t mode, const char *where, const char *secret)
{
    char *path = write_file("config", text, mode);
    struct cfg *cfg = NULL;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(cfg_load(path, true, &cfg, &err), LK_OK);
    const struct cfg_env *env = NULL;
    assert_int_equal(cfg_env_select(cfg, NULL, &env, &err), LK_USAGE);
    char *fix = xasprintf("chmod 600 %s", path);
    if (!strstr(err.message, fix) || !strstr(err.message, where))
        fail_msg("expected '%s' and '%s' in: %s", where, fix, err.message);
    assert_null(strstr(err.message, secret));
    cfg_free(cfg);
    free(fix);
    free(path);
}

static void test_secret_literal(void **state)
{
    (void)state;
    static const char text[] = "[env \"A\"]\nairflow.password = hunter2-literal\n";
    /* 0644: refused, naming the file and the fix, never the secret. */
    literal_refused(text, 0644, "config:2: airflow.password", "hunter2");

    /* 0600: accepted. */
    struct cfg *cfg = load_ok(text);
    assert_string_equal(select_ok(cfg, NULL)->airflow_password, "hunter2-literal");
    cfg_free(cfg);
}

/* A password in the database line is a literal secret too; one in
 * LAKEOP_DATABASE_URL or none at all is no reason to refuse the file. */
static void test_database_password_literal(void **state)
{
    (void)state;
    static const char text[] = "[env \"A\"]\n# the metadata database\ndatabase = postgresql://u:pw-literal@h/db\n";
    literal_refused(text, 0640, "config:3: database in [env \"A\"] holds a password", "pw-literal");
    literal_refused(text, 0604, "or leave the password out and keep it in ~/.pgpass or PGPASSWORD", "pw-literal");

    static const char nopw[] = "[env \"A\"]\ndatabase = host=h user=u dbname=db\n";
    struct cfg *cfg = NULL;
    struct lk_error err;
    err_clear(&err);
    const struct cfg_env *env = NULL;
    char *path = write_file("config", nopw, 0644);
    assert_int_equal(cfg_load(path, true, &cfg, &err), LK_OK);
    assert_int_equal(cfg_env_select(cfg, NULL, &env, &err), LK_OK);
    cfg_free(cfg);

    free(path);
    path = write_file("config", text, 0644);
    setenv("LAKEOP_DATABASE_URL", "host=elsewhere dbname=db", 1);
    assert_int_equal(cfg_load(path, true, &cfg, &err), LK_OK);
    assert_int_equal(cfg_env_select(cfg, NULL, &env, &err), LK_OK);
    assert_string_equal(env->database, "host=elsewhere dbname=db");
    unsetenv("LAKEOP_DATABASE_URL");
    cfg_free(cfg);
    free(path);

    cfg = load_ok(text);
    assert_string_equal(select_ok(cfg, NULL)->database, "postgresql://u:pw-literal@h/db");
    cfg_free(cfg);
}

static void test_duration(void **state)
{
    (void)state;
    assert_int_equal(cfg_parse_duration("26h"), 26 * 3600);
    assert_int_equal(cfg_parse_duration("90m"), 5400);
    assert_int_equal(cfg_parse_duration("2d"), 172800);
    assert_int_equal(cfg_parse_duration("3600"), 3600);
    assert_int_equal(cfg_parse_duration("1h30m"), 5400);
    assert_int_equal(cfg_parse_duration("1w"), 604800);
    assert_int_equal(cfg_parse_duration("45s"), 45);
    assert_int_equal(cfg_parse_duration(""), -1);
    assert_int_equal(cfg_parse_duration("h"), -1);
    assert_int_equal(cfg_parse_duration("-1h"), -1);
    assert_int_equal(cfg_parse_duration("1h30"), -1);
    assert_int_equal(cfg_parse_duration("26 h"), -1);
    assert_int_equal(cfg_parse_duration("1y"), -1);
    assert_int_equal(cfg_parse_duration("99999999999999999999h"), -1);
    bool b = false;
    assert_true(cfg_parse_bool("YES", &b));
    assert_true(b);
    assert_true(cfg_parse_bool("0", &b));
    assert_false(b);
    assert_false(cfg_parse_bool("nah", &b));
}

static void test_redact_short_and_repeated(void **state)
{
    (void)state;
    setenv("LAKEOP_AIRFLOW_PASSWORD", "ab", 1);
    setenv("LAKEOP_ZUORA_CLIENT_SECRET", "longsecretvalue", 1);
    struct cfg *cfg = load_ok("");
    select_ok(cfg, NULL);
    char text[] = "longsecretvalue/longsecretvalue cab";
    cfg_redact(cfg, text);
    assert_string_equal(text, "****/**** c**");
    cfg_redact(NULL, text);
    cfg_free(cfg);
}

static void test_crlf_bom_and_duplicates(void **state)
{
    (void)state;
    struct cfg *cfg = load_ok("\xef\xbb\xbf[env \"A\"]\r\nzuora.partner = p1\r\n"
                              "[object \"O\"]\r\nraw = s3://a/b\r\n"
                              "[env \"A\"]\r\nzuora.partner = p2\r\n");
    assert_int_equal(cfg->n_envs, 1);
    const struct cfg_env *env = select_ok(cfg, NULL);
    assert_string_equal(env->zuora_partner, "p2");
    assert_string_equal(cfg_object_find(env, "O")->raw, "s3://a/b");
    /* Selecting again is cheap and changes nothing. */
    assert_ptr_equal(select_ok(cfg, "A"), env);
    cfg_free(cfg);
}

/* What was written to f since it was made (a tmpfile). */
static char *slurp(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    rewind(f);
    char *text = xmalloc((size_t)n + 1);
    size_t got = fread(text, 1, (size_t)n, f);
    text[got] = '\0';
    rewind(f);
    assert_int_equal(ftruncate(fileno(f), 0), 0);
    return text;
}

static int confirm_with(struct cli *cli, const char *typed)
{
    char *path = write_file("answer", typed, 0600);
    assert_non_null(freopen(path, "r", stdin));
    free(path);
    return cli_confirm(cli, false, "Copy 2 files?");
}

static void test_cli_confirm(void **state)
{
    (void)state;
    char *path = write_file("config", "[env \"CODE\"]\n[env \"PROD\"]\nprotected = true\nread_only = yes\n", 0600);
    struct cli cli = { .config_path = path, .errf = tmpfile(), .out = tmpfile() };
    assert_int_equal(cli_load_config(&cli), 0);
    assert_string_equal(cli.env->name, "CODE");
    assert_false(cli.read_only);
    assert_string_equal(cli.operator_name, "tester");

    assert_int_equal(cli_confirm(&cli, true, "anything"), 0);
    cli.stdin_tty = false;
    assert_int_equal(cli_confirm(&cli, false, "Copy?"), 3);
    char *said = slurp(cli.errf);
    assert_non_null(strstr(said, "refusing to change anything without a terminal: add --yes"));
    free(said);

    cli.stdin_tty = true;
    assert_int_equal(confirm_with(&cli, "y\n"), 0);
    said = slurp(cli.errf);
    assert_non_null(strstr(said, "Copy 2 files?\nProceed? [y/N] "));
    free(said);
    assert_int_equal(confirm_with(&cli, "YES\n"), 0);
    assert_int_equal(confirm_with(&cli, "\n"), 3);   /* the default is No */
    assert_int_equal(confirm_with(&cli, "n\n"), 3);
    assert_int_equal(confirm_with(&cli, ""), 3);     /* end of input */
    cli_close(&cli);

    /* A protected environment wants its name, exactly. */
    struct cli prod = { .config_path = path, .env_name = "PROD", .errf = tmpfile(), .out = tmpfile(),
                        .stdin_tty = true };
    assert_int_equal(cli_load_config(&prod), 0);
    assert_true(prod.read_only);
    assert_int_equal(confirm_with(&prod, "y\n"), 3);
    said = slurp(prod.errf);
    assert_non_null(strstr(said, "Type the environment name (PROD) to proceed: "));
    free(said);
    assert_int_equal(confirm_with(&prod, "prod\n"), 3);
    assert_int_equal(confirm_with(&prod, "PROD \n"), 3);
    assert_int_equal(confirm_with(&prod, "PROD\n"), 0);
    fclose(prod.errf);
    fclose(prod.out);
    prod.errf = stderr;
    cli_close(&prod);
    fclose(cli.errf);
    fclose(cli.out);
    free(path);
}

static void test_cli_fail_is_redacted_and_inert(void **state)
{
    (void)state;
    setenv("LAKEOP_AIRFLOW_PASSWORD", "pa55word-xyz", 1);
    struct cli cli = { .errf = tmpfile(), .out = tmpfile() };
    assert_int_equal(cli_load_config(&cli), 0);
    assert_string_equal(cli.env->name, "default");
    assert_int_equal(cli_failf(&cli, 1, "server said \x1b[31mpa55word-xyz\x1b[0m"), 1);
    char *said = slurp(cli.errf);
    assert_string_equal(said, "lakeop: server said ^[[31m****^[[0m\n");
    free(said);

    struct lk_error err;
    err_clear(&err);
    err_set(&err, LK_NOTFOUND, "no job J1");
    err_remote(&err, 404, "NOT_FOUND", "bad pa55word-xyz\x07", NULL);
    assert_int_equal(cli_fail(&cli, &err), 4);
    said = slurp(cli.errf);
    assert_string_equal(said, "lakeop: no job J1 (HTTP 404 NOT_FOUND: bad ****^G)\n");
    free(said);
    err_clear(&err);
    assert_int_equal(cli_fail(&cli, &err), 1);
    free(slurp(cli.errf));

    cli_print_inert(&cli, cli.out, "a\x1b]0;title\x07z");
    said = slurp(cli.out);
    assert_null(strchr(said, '\x1b'));
    free(said);

    struct lk_ctx ctx;
    assert_int_equal(cli_ctx(&cli, false, &ctx), 0);
    assert_ptr_equal(ctx.env, cli.env);
    assert_non_null(ctx.http);
    assert_null(ctx.db);
    assert_string_equal(ctx.operator_name, "tester");
    /* No database configured: a database-needing command says so. */
    assert_int_equal(cli_ctx(&cli, true, &ctx), 2);
    said = slurp(cli.errf);
    assert_non_null(strstr(said, "no metadata database is configured"));
    free(said);
    fclose(cli.errf);
    fclose(cli.out);
    cli_close(&cli);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_and_unreadable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_selection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_vars_override, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aws_credentials_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_literal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_database_password_literal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redact_short_and_repeated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crlf_bom_and_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_confirm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_fail_is_redacted_and_inert, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
