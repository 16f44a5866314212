/* The Job detail screen (`:job ID`, Enter on Jobs): the job's header, its
 * batches (name, status, records, file id or segment count, full or
 * incremental, where the copy is, whether the lake ingested it, message),
 * Enter for a batch with the job's raw JSON, y to copy the batch's file id
 * (or batch id), w to watch until the job ends, cancel (X) to cancel it
 * (confirmed, audited), c to copy the marked batches (or the cursor's) to
 * their raw buckets (screens/job_copy.c), C to clear the cursor batch's
 * stage in Airflow (the Stages screen's clear dialog).  The job is asked of
 * Zuora and stored; when Zuora no longer knows it, the stored copy is shown
 * with a note.
 *
 * Links (issue 7): per batch, when it was copied (zuora_batches.copied_at)
 * and when its object's stage last succeeded (airflow_task_last_success,
 * asked once per stage on a worker and kept for the screen's life; r asks
 * again): a success after the copy means the lake has ingested it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "audit.h"
#include "db.h"
#include "detail.h"
#include "airflow.h"
#include "job_detail.h"
#include "jobs_cli.h"
#include "jobstore.h"
#include "json.h"
#include "mem.h"
#include "stages_ui.h"
#include "tbl.h"
#include "text.h"
#include "tui.h"
#include "watch.h"
#include "zuora.h"

#define JOBD_TICK_MS 500
#define JOBD_HEADER_LINES 4

enum { COL_BATCH, COL_NAME, COL_STATUS, COL_RECORDS, COL_FILE, COL_FULL, COL_COPY, COL_STAGE, COL_MESSAGE,
       N_COLS };

static const struct tbl_col BATCH_COLS[N_COLS] = {
    { "Batch", 32, 8, TBL_LEFT, false },
    { "Name", 14, 6, TBL_LEFT, false },
    { "Status", 10, 6, TBL_LEFT, false },
    { "Records", 9, 5, TBL_RIGHT, true },
    { "File", 32, 8, TBL_LEFT, false },
    { "Load", 11, 4, TBL_LEFT, false },
    { "Copy", 14, 6, TBL_LEFT, false },
    { "Lake", 16, 6, TBL_LEFT, false },
    { "Message", 0, 8, TBL_LEFT, false },
};

/* When a batch's file reached its raw bucket (zuora_batches.copied_at). */
struct copied_at {
    char *batch_id;
    long long at;
    bool in_lake;   /* not lakeop's copy: found in the lake by its metadata */
};

/* What a copy that ended left to say about a batch the database does not
 * know (a failure, a cancel): kept for the screen's life. */
struct batch_note {
    char *batch_id;
    char text[600];
};

/* A stage's last success, asked of Airflow once per screen (r again). */
enum stage_state { STAGE_LOADING, STAGE_KNOWN, STAGE_FAILED };
struct stage_info {
    char *task;
    enum stage_state state;
    long long last_success;      /* 0: never succeeded */
    char error[300];
};

/* What the job history knows of a job's run (for "took" in the header). */
struct job_times {
    bool known;
    long long start_unix, submitted_unix, ended_unix;   /* 0 unknown */
};

struct jobd {
    struct screen *s;
    struct tbl *tbl;
    char *job_id;
    struct zuora_job job;
    bool have_job;
    char source[16];             /* "zuora" or "history" */
    char note[600];
    struct watch w;
    bool watching;
    unsigned timer;
    struct zuora_client *zc;     /* lent to one worker at a time */
    bool in_flight;
    WINDOW *sub;
    struct job_times times;

    struct copied_at *copied;
    size_t n_copied;
    struct job_copy *copy;       /* being planned or running; it tells us when it ends */
    struct batch_note *notes;
    size_t n_notes;
    struct stage_info *stages;
    size_t n_stages;
    unsigned stage_generation;
    bool stages_in_flight;
    bool fetch_again;            /* a copy ended while a fetch was running */
};

struct fetch {
    struct jobd *jd;
    struct zuora_client *zc;
    const struct cfg_env *env;
    char *job_id;
    bool cancel;                 /* cancel the job instead of asking for it */
    char operator_name[128];
    struct zuora_job job;
    bool have_job;
    bool from_history;
    enum lk_status st;
    long retry_after;
    struct lk_error err;
    struct copied_at *copied;
    size_t n_copied;
    struct job_times times;
};

static void copied_free(struct copied_at *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(c[i].batch_id);
    free(c);
}

static void load_copied(PGconn *db, struct fetch *f)
{
    const char *params[] = { f->job_id };
    PGresult *res = NULL;
    struct lk_error err;
    err_clear(&err);
    if (db_exec(db, "SELECT b.batch_id, extract(epoch FROM b.copied_at)::bigint, " JOBSTORE_FOUND_IN_LAKE
                    " FROM lakeop.zuora_batches b WHERE b.job_id = $1 AND b.copied_at IS NOT NULL ORDER BY b.id",
                1, params, &res, &err) == LK_OK) {
        int n = PQntuples(res);
        f->copied = xcalloc(n ? (size_t)n : 1, sizeof *f->copied);
        for (int i = 0; i < n; i++) {
            f->copied[i].batch_id = xstrdup(PQgetvalue(res, i, 0));
            f->copied[i].at = atoll(PQgetvalue(res, i, 1));
            f->copied[i].in_lake = PQgetvalue(res, i, 2)[0] == 't';
        }
        f->n_copied = (size_t)n;
    }
    if (res)
        PQclear(res);
}

static enum theme_el status_el(const char *status)
{
    if (!strcmp(status, "completed"))
        return TH_STATE_SUCCESS;
    if (!strcmp(status, "error") || !strcmp(status, "aborted") || !strcmp(status, "cancelled"))
        return TH_STATE_FAILED;
    if (!strcmp(status, "executing"))
        return TH_STATE_RUNNING;
    return TH_STATE_QUEUED;
}

/* Zuora does not echo incrementalTime: what lakeop sent is in the
 * history, and so is when the job ended (Zuora does not say that either). */
static void add_sent_time(PGconn *db, struct fetch *f)
{
    const char *params[] = { f->job_id };
    PGresult *res = NULL;
    struct lk_error err;
    err_clear(&err);
    if (db_exec(db, "SELECT incremental_time, coalesce(extract(epoch FROM start_time)::bigint, 0),"
                    " extract(epoch FROM submitted_at)::bigint, coalesce(extract(epoch FROM ended_at)::bigint, 0)"
                    " FROM lakeop.zuora_jobs WHERE job_id = $1",
                1, params, &res, &err) == LK_OK && PQntuples(res) == 1) {
        if (!f->job.incremental_time && !PQgetisnull(res, 0, 0))
            f->job.incremental_time = xstrdup(PQgetvalue(res, 0, 0));
        f->times.known = true;
        f->times.start_unix = atoll(PQgetvalue(res, 0, 1));
        f->times.submitted_unix = atoll(PQgetvalue(res, 0, 2));
        f->times.ended_unix = atoll(PQgetvalue(res, 0, 3));
    }
    if (res)
        PQclear(res);
}

static void fetch_work(void *wctx, void *p)
{
    struct fetch *f = p;
    err_clear(&f->err);
    PGconn *db = app_db(wctx, &f->err);
    if (!db) {
        f->st = f->err.status ? f->err.status : LK_FAIL;
        return;
    }
    struct lk_ctx *ctx = app_ctx(wctx);
    zuora_client_set_http(f->zc, ctx->http);
    if (f->cancel) {
        f->st = zuora_cancel(f->zc, f->job_id, &f->job, &f->err);
        char text[1400];
        const struct audit_entry entry = {
            .operator_name = f->operator_name, .env = f->env->name, .action = "export.cancel",
            .target = f->job_id, .params_json = NULL,
            .result = f->st == LK_OK ? AUDIT_OK : AUDIT_FAILED,
            .message = f->st == LK_OK ? "cancelled" : err_text(&f->err, text, sizeof text),
        };
        struct lk_error aerr;
        err_clear(&aerr);
        audit_append(db, &entry, &aerr);
        if (f->st == LK_OK) {
            f->have_job = true;
            jobstore_save_job(db, f->env->name, &f->job, JOBSTORE_LOOKUP, NULL, f->env->zuora_timezone, &aerr);
        }
        return;
    }
    f->st = zuora_job_get(f->zc, f->job_id, &f->job, &f->err);
    f->retry_after = zuora_client_retry_after(f->zc);
    if (f->st == LK_OK) {
        f->have_job = true;
        struct lk_error serr;
        err_clear(&serr);
        if (jobstore_save_job(db, f->env->name, &f->job, JOBSTORE_LOOKUP, NULL, f->env->zuora_timezone, &serr))
            f->err = serr;
        add_sent_time(db, f);
        load_copied(db, f);
        return;
    }
    /* Zuora forgot it (or cannot be asked): the stored copy, if any. */
    struct lk_error herr;
    err_clear(&herr);
    if (jobstore_load_job(db, f->job_id, &f->job, NULL, &herr) == LK_OK) {
        f->have_job = true;
        f->from_history = true;
        add_sent_time(db, f);
        load_copied(db, f);
    }
}

void jobd_short_time(long long unix_seconds, char *out, size_t size)
{
    time_t t = (time_t)unix_seconds, now = time(NULL);
    struct tm tm, today;
    localtime_r(&t, &tm);
    localtime_r(&now, &today);
    if (tm.tm_year == today.tm_year && tm.tm_yday == today.tm_yday)
        strftime(out, size, "%H:%M", &tm);
    else
        strftime(out, size, "%m-%d %H:%M", &tm);
}

static const struct copied_at *batch_copy(const struct jobd *jd, const char *batch_id)
{
    for (size_t i = 0; i < jd->n_copied; i++)
        if (!strcmp(jd->copied[i].batch_id, batch_id))
            return &jd->copied[i];
    return NULL;
}

static long long batch_copied_at(const struct jobd *jd, const char *batch_id)
{
    const struct copied_at *c = batch_copy(jd, batch_id);
    return c ? c->at : 0;
}

static struct batch_note *batch_note(struct jobd *jd, const char *batch_id)
{
    for (size_t i = 0; i < jd->n_notes; i++)
        if (!strcmp(jd->notes[i].batch_id, batch_id))
            return &jd->notes[i];
    return NULL;
}

static void notes_free(struct jobd *jd)
{
    for (size_t i = 0; i < jd->n_notes; i++)
        free(jd->notes[i].batch_id);
    free(jd->notes);
    jd->notes = NULL;
    jd->n_notes = 0;
}

static const struct stage_info *stage_of(const struct jobd *jd, const char *object_name, const char **task)
{
    const struct cfg_object *obj = cfg_object_find(app_env(jd->s->tui), object_name);
    *task = obj && obj->stage && obj->stage[0] ? obj->stage : NULL;
    for (size_t i = 0; *task && i < jd->n_stages; i++)
        if (!strcmp(jd->stages[i].task, *task))
            return &jd->stages[i];
    return NULL;
}

/* The Copy cell: a running copy's word, else what an ended one left, else
 * the database's copied_at. */
static void copy_cell(struct jobd *jd, const struct zuora_batch *b, char *out, size_t size)
{
    enum theme_el el;
    if (jd->copy && job_copy_batch_state(jd->copy, b->batch_id, out, size, &el))
        return;
    const struct batch_note *note = batch_note(jd, b->batch_id);
    const struct copied_at *c = batch_copy(jd, b->batch_id);
    if (note && note->text[0]) {
        snprintf(out, size, "%s", note->text);
    } else if (c) {
        char when[32];
        jobd_short_time(c->at, when, sizeof when);
        /* A copy lakeop found in the lake (the scheduled exporter's). */
        snprintf(out, size, "%s %s", c->in_lake ? "in lake" : "copied", when);
    } else {
        snprintf(out, size, "-");
    }
}

/* The Lake cell: has the object's stage succeeded since this batch was
 * copied?  long_form: the header's sentence. */
static void lake_text(struct jobd *jd, const struct zuora_batch *b, bool long_form, char *out, size_t size)
{
    const char *task;
    const struct stage_info *si = stage_of(jd, b->name, &task);
    long long copied = batch_copied_at(jd, b->batch_id);
    char when[32] = "", last[64] = "";
    if (copied)
        jobd_short_time(copied, when, sizeof when);
    if (!task) {
        snprintf(out, size, long_form ? "%s: %s%s; no stage configured ([object] stage = TASK)" : "no stage",
                 b->name, copied ? "copied " : "not copied", when);
        return;
    }
    if (!si || si->state == STAGE_LOADING) {
        snprintf(out, size, long_form ? "%s: %s%s, %s: asking Airflow..." : "...", b->name,
                 copied ? "copied " : "not copied", when, task);
        return;
    }
    if (si->state == STAGE_FAILED) {
        if (long_form)
            snprintf(out, size, "%s: %s%s, %s: Airflow did not answer: %s", b->name,
                     copied ? "copied " : "not copied", when, task, si->error);
        else
            snprintf(out, size, "Airflow: unknown");
        return;
    }
    if (si->last_success)
        jobd_short_time(si->last_success, last, sizeof last);
    const char *verdict = !copied ? "" : !si->last_success || si->last_success < copied ? "not ingested yet" : "ingested";
    if (long_form) {
        char head[200];
        snprintf(head, sizeof head, "%s: %s%s, ", b->name, copied ? "copied " : "not copied", when);
        if (si->last_success)
            snprintf(out, size, "%s%s last succeeded %s%s%s   C: clear %s", head, task, last, *verdict ? ": " : "",
                     verdict, task);
        else
            snprintf(out, size, "%s%s never succeeded%s%s   C: clear %s", head, task, *verdict ? ": " : "",
                     verdict, task);
    } else if (!copied) {
        snprintf(out, size, "%s%s", si->last_success ? "ran " : "never ran", last);
    } else if (!strcmp(verdict, "ingested")) {
        snprintf(out, size, "ingested %s", last);
    } else {
        snprintf(out, size, "not yet");
    }
}

static void show_job(struct jobd *jd)
{
    tbl_begin(jd->tbl, true);
    for (size_t i = 0; i < jd->job.n_batches; i++) {
        const struct zuora_batch *b = &jd->job.batches[i];
        char records[32], file[96], copy[700], lake[200];
        if (b->record_count >= 0)
            snprintf(records, sizeof records, "%lld", b->record_count);
        else
            snprintf(records, sizeof records, "-");
        if (b->file_id)
            snprintf(file, sizeof file, "%s", b->file_id);
        else if (b->segments)
            snprintf(file, sizeof file, "%zu segments", b->n_segments);
        else
            snprintf(file, sizeof file, "-");
        copy_cell(jd, b, copy, sizeof copy);
        lake_text(jd, b, false, lake, sizeof lake);
        const char *cells[N_COLS] = {
            b->batch_id, b->name, b->status, records, file,
            b->full == 1 ? "full" : b->full == 0 ? "incremental" : "-", copy, lake,
            b->message ? b->message : "",
        };
        tbl_row(jd->tbl, b->batch_id, cells, COL_STATUS, status_el(b->status));
    }
    tbl_end(jd->tbl, false);
}

/* ---- stages: when each object's stage last succeeded ---------------------- */

struct stage_fetch {
    struct jobd *jd;
    unsigned generation;
    char *dag;
    char **tasks;
    size_t n;
    long long *when;
    enum lk_status *st;
    char (*error)[300];
};

static void stage_fetch_free(struct stage_fetch *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->tasks[i]);
    free(f->tasks);
    free(f->when);
    free(f->st);
    free(f->error);
    free(f->dag);
    free(f);
}

static void stage_work(void *wctx, void *p)
{
    struct stage_fetch *f = p;
    struct lk_ctx *ctx = app_ctx(wctx);
    for (size_t i = 0; i < f->n; i++) {
        struct lk_error err;
        err_clear(&err);
        f->st[i] = airflow_task_last_success(ctx, f->dag, f->tasks[i], &f->when[i], &err);
        if (f->st[i] != LK_OK) {
            err_text(&err, f->error[i], sizeof f->error[i]);
            cfg_redact(ctx->cfg, f->error[i]);
        }
    }
}

static void stage_done(struct loop *loop, void *p, bool orphaned)
{
    struct stage_fetch *f = p;
    if (!orphaned && f->generation == f->jd->stage_generation) {
        struct jobd *jd = f->jd;
        jd->stages_in_flight = false;
        for (size_t i = 0; i < f->n; i++) {
            for (size_t k = 0; k < jd->n_stages; k++) {
                struct stage_info *si = &jd->stages[k];
                if (strcmp(si->task, f->tasks[i]) != 0)
                    continue;
                si->state = f->st[i] == LK_OK ? STAGE_KNOWN : STAGE_FAILED;
                si->last_success = f->when[i];
                snprintf(si->error, sizeof si->error, "%s", f->error[i]);
            }
        }
        show_job(jd);
        tui_dirty(jd->s, true);
    }
    stage_fetch_free(f);
}

static void stages_forget(struct jobd *jd)
{
    for (size_t i = 0; i < jd->n_stages; i++)
        free(jd->stages[i].task);
    free(jd->stages);
    jd->stages = NULL;
    jd->n_stages = 0;
}

/* Asks Airflow about the stages of the shown batches it has not been asked
 * about yet (all of them after r). */
static void stages_fetch(struct jobd *jd)
{
    const struct cfg_env *env = app_env(jd->s->tui);
    struct stage_fetch *f = xcalloc(1, sizeof *f);
    f->jd = jd;
    f->tasks = xcalloc(jd->job.n_batches ? jd->job.n_batches : 1, sizeof *f->tasks);
    for (size_t i = 0; i < jd->job.n_batches; i++) {
        const char *task;
        if (stage_of(jd, jd->job.batches[i].name, &task) || !task)
            continue;
        jd->stages = xrealloc(jd->stages, (jd->n_stages + 1) * sizeof *jd->stages);
        struct stage_info *si = &jd->stages[jd->n_stages++];
        memset(si, 0, sizeof *si);
        si->task = xstrdup(task);
        if (!env->airflow_url || !env->airflow_url[0]) {
            si->state = STAGE_FAILED;
            snprintf(si->error, sizeof si->error, "airflow.url is not configured");
            continue;
        }
        f->tasks[f->n++] = xstrdup(task);
    }
    if (!f->n) {
        stage_fetch_free(f);
        return;
    }
    f->dag = xstrdup(env->airflow_dag && env->airflow_dag[0] ? env->airflow_dag : "supporter_experience");
    f->when = xcalloc(f->n, sizeof *f->when);
    f->st = xcalloc(f->n, sizeof *f->st);
    f->error = xcalloc(f->n, sizeof *f->error);
    f->generation = jd->stage_generation;
    jd->stages_in_flight = true;
    tui_submit(jd->s, stage_work, stage_done, f);
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool start_fetch(struct jobd *jd, bool cancel);

static void fetch_done(struct loop *loop, void *p, bool orphaned)
{
    struct fetch *f = p;
    if (orphaned) {
        zuora_client_free(f->zc);
    } else {
        struct jobd *jd = f->jd;
        jd->in_flight = false;
        if (jd->fetch_again && !f->cancel) {
            jd->fetch_again = false;
            start_fetch(jd, false);
        }
        char text[1200];
        if (f->have_job) {
            zuora_job_free(&jd->job);
            jd->job = f->job;
            memset(&f->job, 0, sizeof f->job);
            jd->have_job = true;
            if (f->times.known)
                jd->times = f->times;
            snprintf(jd->source, sizeof jd->source, "%s", f->from_history ? "history" : "zuora");
            copied_free(jd->copied, jd->n_copied);
            jd->copied = f->copied;
            jd->n_copied = f->n_copied;
            f->copied = NULL;
            f->n_copied = 0;
            stages_fetch(jd);
            show_job(jd);
        } else if (!jd->have_job) {
            tbl_fail(jd->tbl, err_text(&f->err, text, sizeof text));
        }
        if (f->cancel) {
            if (f->st == LK_OK)
                tui_message(jd->s->tui, TUI_INFO, "job %s cancelled", f->job_id);
            else
                tui_message(jd->s->tui, TUI_ERROR, "cancel failed: %s", err_text(&f->err, text, sizeof text));
        }
        if (f->st == LK_NOTFOUND && f->from_history)
            snprintf(jd->note, sizeof jd->note, "Zuora no longer knows this job: showing the stored copy");
        else if (f->st != LK_OK)
            snprintf(jd->note, sizeof jd->note, "%s%s", f->have_job ? "stored copy; " : "",
                     err_text(&f->err, text, sizeof text));
        else
            jd->note[0] = '\0';
        if (jd->watching) {
            if (f->st == LK_OK && !f->from_history) {
                bool over = zuora_job_outcome(&jd->job) != ZUORA_RUNNING || zuora_status_terminal(jd->job.status);
                watch_end_ok(&jd->w, mono_ms(), over);
                if (over) {
                    jd->watching = false;
                    char why[512];
                    tui_message(jd->s->tui, zuora_job_outcome(&jd->job) == ZUORA_COMPLETED ? TUI_INFO : TUI_ERROR,
                                "job %s ended: %s", jd->job_id, zuora_job_reason(&jd->job, why, sizeof why));
                }
            } else if (f->st == LK_NOTFOUND) {
                watch_end_ok(&jd->w, mono_ms(), true);
                jd->watching = false;
            } else {
                /* Refused credentials, not authorised: asking again cannot help. */
                if (f->err.retryable)
                    watch_end_error(&jd->w, mono_ms(), f->retry_after);
                else
                    watch_end_fatal(&jd->w);
                if (jd->w.gave_up) {
                    jd->watching = false;
                    tui_message(jd->s->tui, TUI_ERROR, "stopped watching job %s: %s", jd->job_id,
                                err_text(&f->err, text, sizeof text));
                }
            }
        }
        tui_dirty(jd->s, true);
        tui_header_dirty(jd->s->tui);
    }
    zuora_job_free(&f->job);
    copied_free(f->copied, f->n_copied);
    free(f->job_id);
    free(f);
}

static bool start_fetch(struct jobd *jd, bool cancel)
{
    if (jd->in_flight || !jd->zc)
        return false;
    struct fetch *f = xcalloc(1, sizeof *f);
    f->jd = jd;
    f->zc = jd->zc;
    f->env = app_env(jd->s->tui);
    f->job_id = xstrdup(jd->job_id);
    f->cancel = cancel;
    f->retry_after = -1;
    /* A watch spaces its own retries: one request per interval. */
    zuora_client_set_attempts(jd->zc, jd->watching && !cancel ? 1 : 0);
    snprintf(f->operator_name, sizeof f->operator_name, "%s", app_operator(jd->s->tui));
    jd->in_flight = true;
    if (!jd->have_job)
        tbl_loading(jd->tbl);
    tui_submit(jd->s, fetch_work, fetch_done, f);
    return true;
}

static void jobd_tick(struct loop *loop, void *ud)
{
    struct jobd *jd = ud;
    if (!jd->watching || jd->in_flight)
        return;
    if (watch_begin(&jd->w, mono_ms()) && !start_fetch(jd, false))
        watch_end_error(&jd->w, mono_ms(), -1);
    if (jd->w.timed_out) {
        jd->watching = false;
        tui_message(jd->s->tui, TUI_ERROR, "stopped watching job %s: still %s after %lld s, longer than Zuora "
                    "lets a job run: it is probably stuck", jd->job_id, jd->have_job ? jd->job.status : "running",
                    jobs_watch_ceiling_ms() / 1000);
        tui_dirty(jd->s, true);
    }
}

static void *jobd_open(struct screen *s, const char *arg, void *data)
{
    if (!arg || !*arg) {
        tui_message(s->tui, TUI_WARN, "which job? :job JOB_ID");
        return NULL;
    }
    const struct cfg_env *env = app_env(s->tui);
    struct jobd *jd = xcalloc(1, sizeof *jd);
    jd->s = s;
    jd->job_id = xstrdup(arg);
    jd->tbl = tbl_new(BATCH_COLS, N_COLS);
    s->st = jd;
    jd->zc = zuora_client_new(env, NULL);
    zuora_client_use_tokens(jd->zc, app_zuora_tokens(s->tui));
    jd->timer = loop_timer_add(s->tui->loop, JOBD_TICK_MS, true, jobd_tick, jd);
    start_fetch(jd, false);
    return jd;
}

static void jobd_close(struct screen *s)
{
    struct jobd *jd = s->st;
    /* Leaving the screen leaves a copy running in the background; quitting
     * cancels it (copy_batch leaves nothing partial). */
    if (jd->copy)
        job_copy_detach(jd->copy, s->tui->quit);
    copied_free(jd->copied, jd->n_copied);
    notes_free(jd);
    stages_forget(jd);
    loop_timer_cancel(s->tui->loop, jd->timer);
    if (jd->sub)
        delwin(jd->sub);
    tbl_free(jd->tbl);
    zuora_job_free(&jd->job);
    /* A fetch still on a worker owns the client and frees it when done. */
    if (!jd->in_flight)
        zuora_client_free(jd->zc);
    free(jd->job_id);
    free(jd);
}

static void put_line(WINDOW *win, int y, const struct theme *th, enum theme_el el, const char *raw)
{
    char *inert = text_inert(raw);
    char fit[1024];
    text_fit(inert, getmaxx(win) - 1, 1, fit, sizeof fit);
    wattrset(win, theme_attr(th, el));
    mvwaddstr(win, y, 1, fit);
    wattrset(win, theme_attr(th, TH_NORMAL));
    free(inert);
}

static const struct zuora_batch *cursor_batch(struct jobd *jd);

static void jobd_draw(struct screen *s, WINDOW *win, bool full)
{
    struct jobd *jd = s->st;
    const struct theme *th = &s->tui->th;
    int h = getmaxy(win), w = getmaxx(win);
    /* The links line follows the cursor, so the header is drawn each time. */
    {
        for (int y = 0; y < JOBD_HEADER_LINES && y < h; y++) {
            wmove(win, y, 0);
            wclrtoeol(win);
        }
        char line[1024];
        if (jd->have_job) {
            const struct zuora_job *j = &jd->job;
            snprintf(line, sizeof line, "Job %s  %s%s", j->id, j->status, jd->watching ? "  (watching)" : "");
            put_line(win, 0, th, status_el(j->status), line);
            char took[48] = "-";
            bool ended = zuora_status_terminal(j->status);
            long long secs = jd->times.known
                ? jobstore_duration(jd->times.start_unix, jd->times.submitted_unix, jd->times.ended_unix, ended,
                                    (long long)time(NULL))
                : -1;
            if (secs >= 0) {
                char age[32];
                app_age(secs, age, sizeof age);
                snprintf(took, sizeof took, "%s%s", age, ended ? "" : " so far");
            }
            snprintf(line, sizeof line, "name %s  partner %s  project %s  started %s  took %s  from %s",
                     j->name ? j->name : "-", j->partner ? j->partner : "-", j->project ? j->project : "-",
                     j->start_time ? j->start_time : "-", took,
                     j->incremental_time ? j->incremental_time : "-");
            put_line(win, 1, th, TH_NORMAL, line);
            char why[512];
            if (jd->note[0])
                put_line(win, 2, th, TH_STATUS_WARN, jd->note);
            else if (zuora_job_outcome(j) == ZUORA_FAILED)
                put_line(win, 2, th, TH_STATE_FAILED, zuora_job_reason(j, why, sizeof why));
            else
                put_line(win, 2, th, TH_DIM,
                         "Enter: batch and raw JSON   y: yank file id   Space: mark   c: copy to raw   "
                         "C: clear stage   w: watch   X: cancel job");
            const struct zuora_batch *cur = cursor_batch(jd);
            if (cur) {
                char links[1400];
                lake_text(jd, cur, true, links, sizeof links);
                put_line(win, 3, th, TH_NORMAL, links);
            }
        } else {
            snprintf(line, sizeof line, "Job %s", jd->job_id);
            put_line(win, 0, th, TH_NORMAL, line);
            if (jd->note[0])
                put_line(win, 2, th, TH_STATUS_ERROR, jd->note);
        }
    }
    if (h <= JOBD_HEADER_LINES)
        return;
    if (jd->sub && (getmaxy(jd->sub) != h - JOBD_HEADER_LINES || getmaxx(jd->sub) != w)) {
        delwin(jd->sub);
        jd->sub = NULL;
    }
    if (!jd->sub)
        jd->sub = derwin(win, h - JOBD_HEADER_LINES, w, JOBD_HEADER_LINES, 0);
    if (jd->sub) {
        if (tbl_draw(jd->tbl, jd->sub, th, full))
            wsyncup(jd->sub);   /* the frame refreshes the parent window */
    }
}

static void jobd_reload(struct screen *s)
{
    struct jobd *jd = s->st;
    jd->stage_generation++;
    stages_forget(jd);
    start_fetch(jd, false);
}

static void jobd_notify(struct screen *s, const char *table)
{
    /* Our own answers are shown directly; other writers' go through the poll. */
}

static const struct zuora_batch *cursor_batch(struct jobd *jd)
{
    const char *id = tbl_cursor_id(jd->tbl);
    for (size_t i = 0; id && i < jd->job.n_batches; i++)
        if (!strcmp(jd->job.batches[i].batch_id, id))
            return &jd->job.batches[i];
    return NULL;
}

static void open_batch(struct jobd *jd)
{
    const struct zuora_batch *b = cursor_batch(jd);
    if (!b)
        return;
    char title[160], count[32];
    snprintf(title, sizeof title, "Batch %s of job %s", b->name, jd->job_id);
    struct detail *d = detail_new(title);
    detail_set_id(d, b->file_id ? b->file_id : b->batch_id);
    detail_kv(d, "job", jd->job_id);
    detail_kv(d, "batch", b->batch_id);
    detail_kv(d, "name", b->name);
    detail_kv_el(d, "status", b->status, status_el(b->status));
    snprintf(count, sizeof count, "%lld", b->record_count);
    detail_kv(d, "records", b->record_count >= 0 ? count : "-");
    detail_kv(d, "load", b->full == 1 ? "full" : b->full == 0 ? "incremental" : "-");
    if (b->file_id)
        detail_kv(d, "file", b->file_id);
    for (size_t i = 0; i < b->n_segments; i++) {
        char key[32];
        snprintf(key, sizeof key, "segment %zu", i + 1);
        detail_kv(d, key, b->segments[i]);
    }
    if (b->message && *b->message)
        detail_kv_el(d, "message", b->message, TH_STATE_FAILED);
    if (b->query) {
        detail_heading(d, "Query");
        detail_text(d, b->query, TH_NORMAL);
    }
    detail_heading(d, "The job as Zuora sent it");
    detail_json(d, jd->job.json ? jd->job.json : "null");
    tui_push(jd->s->tui, &detail_screen_ops, NULL, d);
}

struct cancel_ask {
    struct tui *t;
    char *job_id;
};

/* Still the same job, and still running? */
static bool cancel_still_valid(struct tui *t, void *ud, char *why, size_t why_size)
{
    struct cancel_ask *c = ud;
    struct screen *top = tui_top(t);
    struct jobd *jd = top && top->ops->name && !strcmp(top->ops->name, "job") ? top->st : NULL;
    if (!jd || strcmp(jd->job_id, c->job_id) != 0) {
        snprintf(why, why_size, "the job shown is no longer %s", c->job_id);
        return false;
    }
    if (jd->have_job && zuora_status_terminal(jd->job.status)) {
        snprintf(why, why_size, "job %s has already ended (%s)", c->job_id, jd->job.status);
        return false;
    }
    return true;
}

static void cancel_confirmed(struct tui *t, bool ok, const char *input, void *ud)
{
    struct cancel_ask *c = ud;
    struct screen *top = ok ? tui_top(t) : NULL;
    if (top && top->ops->name && !strcmp(top->ops->name, "job")) {
        struct jobd *jd = top->st;
        if (!start_fetch(jd, true))
            tui_message(t, TUI_WARN, "a request for this job is still running; try again");
    }
    free(c->job_id);
    free(c);
}

static void ask_cancel(struct jobd *jd)
{
    struct tui *t = jd->s->tui;
    if (t->read_only) {
        tui_message(t, TUI_WARN, "read-only: cancelling a job is refused");
        return;
    }
    if (jd->have_job && zuora_status_terminal(jd->job.status)) {
        tui_message(t, TUI_WARN, "job %s has already ended (%s)", jd->job_id, jd->job.status);
        return;
    }
    struct cancel_ask *c = xcalloc(1, sizeof *c);
    c->t = t;
    c->job_id = xstrdup(jd->job_id);
    app_confirm(t, ACT_CANCEL, "Cancel job", "Zuora stops the job; batches not yet completed are cancelled.",
                jd->job_id, cancel_still_valid, cancel_confirmed, c);
}

/* ---- copy (screens/job_copy.c) and the stage link ------------------------- */

static void copy_changed(void *ud, struct job_copy *c, bool finished)
{
    struct jobd *jd = ud;
    if (finished) {
        /* How each batch's copy ended stays shown (the database does not
         * keep failures); copied_at is read back for the links line. */
        for (size_t i = 0; i < jd->job.n_batches; i++) {
            const char *id = jd->job.batches[i].batch_id;
            char text[600];
            enum theme_el el;
            if (!job_copy_batch_state(c, id, text, sizeof text, &el))
                continue;
            struct batch_note *note = batch_note(jd, id);
            if (!note) {
                jd->notes = xrealloc(jd->notes, (jd->n_notes + 1) * sizeof *jd->notes);
                note = &jd->notes[jd->n_notes++];
                note->batch_id = xstrdup(id);
            }
            snprintf(note->text, sizeof note->text, "%s", text);
        }
        jd->copy = NULL;
        if (!start_fetch(jd, false))
            jd->fetch_again = true;
    }
    show_job(jd);
    tui_dirty(jd->s, true);
}

/* The marked batches, or the cursor's when none is marked.  Caller frees
 * the array (not the ids, which belong to the table). */
static size_t selection(struct jobd *jd, const char ***ids)
{
    size_t n = tbl_marked(jd->tbl, ids);
    if (!n && tbl_cursor_id(jd->tbl)) {
        (*ids)[0] = tbl_cursor_id(jd->tbl);
        n = 1;
    }
    return n;
}

static void start_copy(struct jobd *jd)
{
    struct tui *t = jd->s->tui;
    if (!jd->have_job) {
        tui_message(t, TUI_WARN, "the job is not loaded yet");
        return;
    }
    if (jd->copy) {
        tui_message(t, TUI_WARN, "a copy of job %s is %s; wait for it to end", jd->job_id,
                    job_copy_running(jd->copy) ? "running" : "being planned");
        return;
    }
    const char **ids;
    size_t n = selection(jd, &ids);
    if (n) {
        /* A new attempt replaces what an earlier one left to say. */
        for (size_t i = 0; i < n; i++) {
            struct batch_note *note = batch_note(jd, ids[i]);
            if (note)
                note->text[0] = '\0';
        }
        jd->copy = job_copy_start(jd->s, &jd->job, ids, n, copy_changed, jd);
    } else {
        tui_message(t, TUI_INFO, "no batch to copy");
    }
    free(ids);
}

static void clear_stage(struct jobd *jd)
{
    const struct zuora_batch *b = cursor_batch(jd);
    if (!b)
        return;
    const char *task;
    stage_of(jd, b->name, &task);
    if (!task) {
        tui_message(jd->s->tui, TUI_WARN, "object %s names no stage: add stage = TASK to its [object] section",
                    b->name);
        return;
    }
    const struct cfg_env *env = app_env(jd->s->tui);
    stages_open_clear(jd->s->tui, env->airflow_dag && env->airflow_dag[0] ? env->airflow_dag : NULL, task);
}

static bool jobd_key(struct screen *s, enum action act, int ch)
{
    struct jobd *jd = s->st;
    switch (act) {
    case ACT_ENTER:
        open_batch(jd);
        return true;
    case ACT_YANK: {
        const struct zuora_batch *b = cursor_batch(jd);
        const char *id = b ? (b->file_id ? b->file_id : b->batch_id) : jd->job_id;
        tui_clipboard(s->tui, id);
        tui_message(s->tui, TUI_INFO, "copied %s %s", b && b->file_id ? "file id" : b ? "batch id" : "job id", id);
        return true;
    }
    case ACT_WATCH:
        if (jd->watching) {
            jd->watching = false;
            tui_message(s->tui, TUI_INFO, "stopped watching job %s", jd->job_id);
        } else if (jd->have_job && zuora_status_terminal(jd->job.status)) {
            tui_message(s->tui, TUI_INFO, "job %s has already ended (%s)", jd->job_id, jd->job.status);
        } else {
            jd->watching = true;
            watch_init(&jd->w, WATCH_DEFAULT_INTERVAL_MS, mono_ms());
            watch_set_ceiling(&jd->w, jobs_watch_ceiling_ms(), mono_ms());
            tui_message(s->tui, TUI_INFO, "watching job %s every %lld s", jd->job_id, jd->w.interval_ms / 1000);
        }
        tui_dirty(s, true);
        return true;
    case ACT_CANCEL:
        ask_cancel(jd);
        return true;
    case ACT_COPY:
        start_copy(jd);
        return true;
    case ACT_CLEAR:
        clear_stage(jd);
        return true;
    case ACT_NONE:
        return tbl_key(jd->tbl, act, ch);
    default:
        /* The table sits below the header, so it handles its own keys
         * rather than the frame (whose mouse lines would be off). */
        if (tbl_key(jd->tbl, act, ch)) {
            tui_dirty(s, false);
            return true;
        }
        return false;
    }
}

static void jobd_status(struct screen *s, char *out, size_t out_size)
{
    struct jobd *jd = s->st;
    char table[256];
    tbl_status(jd->tbl, table, sizeof table);
    if (jd->watching)
        snprintf(out, out_size, "watching every %lld s  %s", jd->w.interval_ms / 1000, table);
    else if (jd->have_job)
        snprintf(out, out_size, "from %s  %s", jd->source, table);
    else
        snprintf(out, out_size, "%s", table);
}

static bool is_job_detail(const struct screen *s);

bool jobd_selection_is(struct screen *s, const char *job_id, const char *const *batch_ids,
                       const char *const *file_ids, size_t n, char *why, size_t why_size)
{
    struct tui *t = s->tui;
    bool on_stack = false;
    for (int i = 0; i < t->depth; i++)
        on_stack = on_stack || t->stack[i] == s;
    if (!on_stack || !is_job_detail(s)) {
        snprintf(why, why_size, "Job detail of %s was closed", job_id);
        return false;
    }
    struct jobd *jd = s->st;
    if (strcmp(jd->job_id, job_id) != 0 || !jd->have_job) {
        snprintf(why, why_size, "Job detail no longer shows job %s", job_id);
        return false;
    }
    const char **ids;
    size_t m = selection(jd, &ids);
    bool same = m == n;
    for (size_t i = 0; same && i < n; i++) {
        bool found = false;
        for (size_t k = 0; k < m && !found; k++)
            found = !strcmp(ids[k], batch_ids[i]);
        same = found;
    }
    free(ids);
    if (!same) {
        snprintf(why, why_size, "the selected batches changed");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const struct zuora_batch *b = NULL;
        for (size_t k = 0; k < jd->job.n_batches && !b; k++)
            if (!strcmp(jd->job.batches[k].batch_id, batch_ids[i]))
                b = &jd->job.batches[k];
        const char *file = b ? (b->file_id ? b->file_id : b->n_segments ? b->segments[0] : NULL) : NULL;
        if (!b || strcmp(b->status, "completed") != 0 || !file || strcmp(file, file_ids[i]) != 0) {
            snprintf(why, why_size, "batch %s is no longer completed with file %s", batch_ids[i], file_ids[i]);
            return false;
        }
    }
    return true;
}

static const struct screen_ops job_detail_ops = {
    .name = "job",
    .title = "Job",
    .order = 0,
    .flags = 0,
    .open = jobd_open,
    .close = jobd_close,
    .draw = jobd_draw,
    .key = jobd_key,
    .reload = jobd_reload,
    .on_notify = jobd_notify,
    .status = jobd_status,
};
SCREEN_DEFINE(job_detail_ops);

static bool is_job_detail(const struct screen *s)
{
    return s && s->ops == &job_detail_ops;
}
