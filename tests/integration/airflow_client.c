/* Drives core/airflow.h directly for tests/integration/airflow_client.sh:
 * the calls no command exposes (ping, last success, trigger, pause, log).
 *
 *   airflow_client ping
 *   airflow_client dags
 *   airflow_client runs DAG [MAX]
 *   airflow_client last_success DAG TASK
 *   airflow_client trigger DAG [CONF_JSON]
 *   airflow_client pause DAG 1|0
 *   airflow_client log DAG RUN TASK TRY
 *   airflow_client tis DAG RUN
 *
 * Connection from LAKEOP_AIRFLOW_URL / _USER / _PASSWORD.  Prints one
 * result per line; on failure "error STATUS HTTP: TEXT" on stdout and exits
 * with the status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airflow.h"
#include "config.h"
#include "ctx.h"
#include "http.h"

static int fail(const struct lk_error *err)
{
    char text[2600];
    printf("error %d %ld: %s\n", (int)err->status, err->http_status,
           err_text(err, text, sizeof text));
    return err->status ? (int)err->status : 1;
}

static int run(struct lk_ctx *ctx, int argc, char **argv)
{
    struct lk_error err = { 0 };
    const char *cmd = argv[1];
    if (strcmp(cmd, "ping") == 0 && argc == 2) {
        char version[64];
        if (airflow_ping(ctx, version, sizeof version, &err) != LK_OK)
            return fail(&err);
        printf("ok version=%s\n", version);
        return 0;
    }
    if (strcmp(cmd, "dags") == 0 && argc == 2) {
        struct airflow_dag_list l;
        if (airflow_list_dags(ctx, &l, &err) != LK_OK)
            return fail(&err);
        for (size_t i = 0; i < l.n; i++)
            printf("%s paused=%d active=%d\n", l.items[i].dag_id, l.items[i].is_paused,
                   l.items[i].is_active);
        airflow_dag_list_free(&l);
        return 0;
    }
    if (strcmp(cmd, "runs") == 0 && (argc == 3 || argc == 4)) {
        struct airflow_run_list l;
        size_t max = argc == 4 ? (size_t)strtoul(argv[3], NULL, 10) : 0;
        if (airflow_list_runs(ctx, argv[2], max, &l, &err) != LK_OK)
            return fail(&err);
        printf("count %zu\n", l.n);
        for (size_t i = 0; i < l.n; i++)
            printf("%s %s\n", l.items[i].dag_run_id, l.items[i].state ? l.items[i].state : "-");
        airflow_run_list_free(&l);
        return 0;
    }
    if (strcmp(cmd, "last_success") == 0 && argc == 4) {
        long long when = -1;
        if (airflow_task_last_success(ctx, argv[2], argv[3], &when, &err) != LK_OK)
            return fail(&err);
        printf("%lld\n", when);
        return 0;
    }
    if (strcmp(cmd, "trigger") == 0 && (argc == 3 || argc == 4)) {
        struct airflow_run r;
        if (airflow_trigger(ctx, argv[2], argc == 4 ? argv[3] : NULL, &r, &err) != LK_OK)
            return fail(&err);
        printf("%s %s\n", r.dag_run_id, r.state ? r.state : "-");
        airflow_run_free(&r);
        return 0;
    }
    if (strcmp(cmd, "pause") == 0 && argc == 4) {
        struct airflow_dag d;
        if (airflow_set_paused(ctx, argv[2], strcmp(argv[3], "1") == 0, &d, &err) != LK_OK)
            return fail(&err);
        printf("%s paused=%d\n", d.dag_id, d.is_paused);
        airflow_dag_free(&d);
        return 0;
    }
    if (strcmp(cmd, "log") == 0 && argc == 6) {
        struct buf b = BUF_INIT;
        if (airflow_task_log(ctx, argv[2], argv[3], argv[4], atoi(argv[5]), &b, &err) != LK_OK) {
            buf_free(&b);
            return fail(&err);
        }
        fwrite(b.data ? b.data : "", 1, b.len, stdout);
        buf_free(&b);
        return 0;
    }
    if (strcmp(cmd, "tis") == 0 && argc == 4) {
        struct airflow_ti_list l;
        if (airflow_list_task_instances(ctx, argv[2], argv[3], &l, &err) != LK_OK)
            return fail(&err);
        for (size_t i = 0; i < l.n; i++)
            printf("%s %s %d\n", l.items[i].task_id, l.items[i].state ? l.items[i].state : "-",
                   l.items[i].try_number);
        airflow_ti_list_free(&l);
        return 0;
    }
    fprintf(stderr, "usage: see the comment at the top of airflow_client.c\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: see the comment at the top of airflow_client.c\n");
        return 2;
    }
    struct cfg_env env = { 0 };
    env.name = (char *)"test";
    env.airflow_url = getenv("LAKEOP_AIRFLOW_URL");
    env.airflow_user = getenv("LAKEOP_AIRFLOW_USER");
    env.airflow_password = getenv("LAKEOP_AIRFLOW_PASSWORD");
    struct lk_ctx ctx = { 0 };
    ctx.env = &env;
    ctx.http = http_client_new(NULL, "lakeop-test");
    ctx.operator_name = "test";
    int rc = run(&ctx, argc, argv);
    http_client_free(ctx.http);
    return rc;
}
