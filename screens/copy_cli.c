/* lakeop copy: a job's completed batches (or one Zuora file) to their raw
 * targets, with a plan first, confirmation, progress on a terminal, and a
 * result per file.  The work is copy_batch() (core/copy.h). */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "cli.h"
#include "commands.h"
#include "copy.h"
#include "fmt.h"
#include "jobstore.h"
#include "mem.h"
#include "store.h"
#include "text.h"
#include "zuora.h"

/* Set by SIGINT/SIGTERM: the copy in flight is aborted and cleaned up,
 * never left half-visible. */
static volatile int copy_cancel;

static void on_signal(int sig)
{
    (void)sig;
    copy_cancel = 1;
}

struct copy_opts {
    const char *job_id;
    const char *file_id;
    const char *to;
    long long record_count;     /* -1: not given */
    const char **objects;
    size_t n_objects;
    bool yes, dry_run, force;
};

/* One planned copy. */
struct plan_item {
    struct copy_spec spec;
    char *meta_url;
    bool already;               /* copy_already_done() */
    struct store_object_info csv_now, meta_now;
    /* result */
    const char *outcome;        /* "copied", "already copied", ... */
    struct copy_result res;
    char error[2400];
    /* owned strings behind spec */
    char *job_id, *batch_id, *name, *file_id, *target;
    char **segments;
    size_t n_segments;
};

struct plan {
    struct plan_item *items;
    size_t n;
};

static void plan_free(struct plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        struct plan_item *it = &p->items[i];
        free(it->meta_url);
        store_object_info_free(&it->csv_now);
        store_object_info_free(&it->meta_now);
        copy_result_free(&it->res);
        free(it->job_id);
        free(it->batch_id);
        free(it->name);
        free(it->file_id);
        free(it->target);
        for (size_t j = 0; j < it->n_segments; j++)
            free(it->segments[j]);
        free(it->segments);
    }
    free(p->items);
    p->items = NULL;
    p->n = 0;
}

static struct plan_item *plan_add(struct plan *p, const char *job_id, const char *batch_id,
                                  const char *name, const char *file_id, char *const *segments,
                                  size_t n_segments, long long record_count, const char *target)
{
    p->items = xrealloc(p->items, (p->n + 1) * sizeof *p->items);
    struct plan_item *it = &p->items[p->n++];
    memset(it, 0, sizeof *it);
    it->job_id = xstrdup(job_id);
    it->batch_id = xstrdup(batch_id ? batch_id : "");
    it->name = xstrdup(name);
    it->file_id = xstrdup(file_id);
    it->target = xstrdup(target);
    if (!file_id && n_segments) {
        it->segments = xcalloc(n_segments, sizeof *it->segments);
        for (size_t i = 0; i < n_segments; i++)
            it->segments[i] = xstrdup(segments[i]);
        it->n_segments = n_segments;
    }
    it->spec = (struct copy_spec){
        .job_id = it->job_id,
        .batch_id = it->batch_id,
        .name = it->name,
        .file_id = it->file_id,
        .segments = (const char *const *)it->segments,
        .n_segments = it->n_segments,
        .record_count = record_count,
        .target = it->target,
    };
    it->meta_url = copy_metadata_url(target, name);
    return it;
}

/* why NULL: asked for (--help), so on stdout like every command's. */
static int usage(struct cli *cli, const char *why)
{
    if (why)
        fprintf(cli->errf, "lakeop copy: %s\n", why);
    fprintf(why ? cli->errf : cli->out,
            "usage: lakeop copy JOB_ID [--object NAME]... [--yes] [--dry-run] [--force]\n"
            "       lakeop copy --file-id FILE_ID --to s3://BUCKET/KEY [--job JOB_ID] "
            "[--record-count N] [--yes] [--dry-run] [--force]\n");
    return LK_USAGE;
}

static int parse_args(struct cli *cli, int argc, char **argv, struct copy_opts *o)
{
    static const struct option longopts[] = {
        { "object", required_argument, NULL, 'o' },
        { "yes", no_argument, NULL, 'y' },
        { "dry-run", no_argument, NULL, 'n' },
        { "force", no_argument, NULL, 'f' },
        { "file-id", required_argument, NULL, 'F' },
        { "to", required_argument, NULL, 't' },
        { "job", required_argument, NULL, 'j' },
        { "record-count", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    memset(o, 0, sizeof *o);
    o->record_count = -1;
    o->objects = xcalloc((size_t)argc + 1, sizeof *o->objects);
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->objects[o->n_objects++] = optarg; break;
        case 'y': o->yes = true; break;
        case 'n': o->dry_run = true; break;
        case 'f': o->force = true; break;
        case 'F': o->file_id = optarg; break;
        case 't': o->to = optarg; break;
        case 'j': o->job_id = optarg; break;
        case 'r': {
            char *end;
            o->record_count = strtoll(optarg, &end, 10);
            if (!*optarg || *end || o->record_count < 0)
                return usage(cli, "--record-count takes a number of records (0 or more)");
            break;
        }
        case 'h': usage(cli, NULL); return -1;
        default: {
            char why[256];
            snprintf(why, sizeof why, "unknown or incomplete option '%s'", argv[optind - 1]);
            return usage(cli, why);
        }
        }
    }
    if (o->file_id) {
        if (!o->to)
            return usage(cli, "--file-id needs --to s3://BUCKET/KEY");
        if (optind < argc)
            return usage(cli, "give either JOB_ID or --file-id, not both (use --job with --file-id)");
        if (o->n_objects)
            return usage(cli, "--object does not go with --file-id");
    } else {
        if (o->to || o->record_count >= 0)
            return usage(cli, "--to and --record-count go with --file-id");
        if (optind != argc - 1)
            return usage(cli, optind >= argc ? "which job? give JOB_ID" : "one JOB_ID at a time");
        o->job_id = argv[optind];
    }
    return 0;
}

/* ---- finding the job ---------------------------------------------------- */

/* The job from the database when it completed there, else from Zuora
 * (and stored, so its ids stay findable). */
static enum lk_status load_job(struct cli *cli, struct zuora_client *zc, const char *job_id,
                               struct zuora_job *job, struct lk_error *err)
{
    memset(job, 0, sizeof *job);
    enum lk_status rc = jobstore_load_job(cli->db, job_id, job, NULL, err);
    if (rc == LK_OK && zuora_job_outcome(job) == ZUORA_COMPLETED)
        return LK_OK;
    if (rc == LK_OK)
        zuora_job_free(job);
    else if (rc != LK_NOTFOUND)
        return rc;
    memset(job, 0, sizeof *job);
    err_clear(err);
    rc = zuora_job_get(zc, job_id, job, err);
    if (rc != LK_OK)
        return rc;
    struct lk_error serr;
    err_clear(&serr);
    if (jobstore_save_job(cli->db, cli->env->name, job, JOBSTORE_LOOKUP, NULL, cli->env->zuora_timezone,
                          &serr) != LK_OK) {
        zuora_job_free(job);
        *err = serr;
        return serr.status;
    }
    return LK_OK;
}

static bool wanted(const struct copy_opts *o, const char *name)
{
    if (!o->n_objects)
        return true;
    for (size_t i = 0; i < o->n_objects; i++)
        if (strcmp(o->objects[i], name) == 0)
            return true;
    return false;
}

static int plan_job(struct cli *cli, const struct copy_opts *o, const struct zuora_job *job,
                    struct plan *p)
{
    for (size_t i = 0; i < o->n_objects; i++) {
        bool found = false;
        for (size_t b = 0; b < job->n_batches; b++)
            found = found || strcmp(job->batches[b].name, o->objects[i]) == 0;
        if (!found) {
            char *inert = text_inert(o->objects[i]);
            int rc = cli_failf(cli, LK_NOTFOUND, "job %s has no batch for object '%s'", job->id, inert);
            free(inert);
            return rc;
        }
    }
    for (size_t b = 0; b < job->n_batches; b++) {
        const struct zuora_batch *zb = &job->batches[b];
        if (!wanted(o, zb->name))
            continue;
        char *name = text_inert(zb->name);
        if (strcmp(zb->status, "completed") != 0) {
            char *status = text_inert(zb->status);
            int rc = 0;
            if (o->n_objects)
                rc = cli_failf(cli, LK_FAIL, "batch %s (%s) is %s, not completed: nothing to copy",
                               zb->batch_id, name, status);
            else
                fprintf(cli->errf, "lakeop: skipping batch %s (%s): it is %s, not completed\n",
                        zb->batch_id, name, status);
            free(status);
            free(name);
            if (rc)
                return rc;
            continue;
        }
        const struct cfg_object *obj = cfg_object_find(cli->env, zb->name);
        if (!obj || !obj->raw || !obj->raw[0]) {
            int rc = cli_failf(cli, LK_USAGE,
                               "object '%s' has no raw target: add [object \"%s\"] raw = s3://BUCKET/%s.csv "
                               "to the configuration, or leave it out with --object",
                               name, name, name);
            free(name);
            return rc;
        }
        free(name);
        plan_add(p, job->id, zb->batch_id, zb->name, zb->file_id, zb->segments, zb->n_segments,
                 zb->record_count, obj->raw);
    }
    if (!p->n)
        return cli_failf(cli, LK_NOTFOUND, "job %s has no completed batch to copy", job->id);
    return 0;
}

/* The object's name for a manual upload of a file no batch knows: the key's
 * last part without its extension. */
static char *name_from_key(const char *url)
{
    const char *slash = strrchr(url, '/');
    const char *base = slash ? slash + 1 : url;
    const char *dot = strrchr(base, '.');
    return xstrndup(base, dot && dot > base ? (size_t)(dot - base) : strlen(base));
}

static int plan_file(struct cli *cli, const struct copy_opts *o, struct zuora_client *zc,
                     struct plan *p)
{
    struct lk_error err;
    err_clear(&err);
    struct copy_known_file kf;
    enum lk_status rc = copy_find_file(cli->db, o->file_id, &kf, &err);
    if (rc == LK_NOTFOUND && o->job_id) {
        /* Zuora may know the job even if this database never saw it. */
        struct zuora_job job;
        err_clear(&err);
        if (load_job(cli, zc, o->job_id, &job, &err) == LK_OK) {
            zuora_job_free(&job);
            rc = copy_find_file(cli->db, o->file_id, &kf, &err);
        } else if (err.status != LK_NOTFOUND) {
            return cli_fail(cli, &err);
        } else {
            rc = LK_NOTFOUND;
        }
    }
    if (rc == LK_OK) {
        int status = 0;
        if (kf.segment_of)
            status = cli_failf(cli, LK_USAGE,
                               "file %s is one segment of batch %s (%s) of job %s: copy the whole batch "
                               "with 'lakeop copy %s --object %s'",
                               o->file_id, kf.batch_id, kf.name, kf.job_id, kf.job_id, kf.name);
        else if (o->job_id && strcmp(o->job_id, kf.job_id) != 0)
            status = cli_failf(cli, LK_USAGE, "file %s belongs to job %s, not %s", o->file_id,
                               kf.job_id, o->job_id);
        else if (o->record_count >= 0 && kf.record_count >= 0 && o->record_count != kf.record_count)
            status = cli_failf(cli, LK_USAGE,
                               "batch %s says %lld records, --record-count says %lld: which is right?",
                               kf.batch_id, kf.record_count, o->record_count);
        if (!status)
            plan_add(p, kf.job_id, kf.batch_id, kf.name, o->file_id, NULL, 0,
                     kf.record_count >= 0 ? kf.record_count : o->record_count, o->to);
        copy_known_file_free(&kf);
        return status;
    }
    if (rc != LK_NOTFOUND)
        return cli_fail(cli, &err);
    if (!o->job_id || o->record_count < 0)
        return cli_failf(cli, LK_USAGE,
                         "no known batch has file %s: give --job JOB_ID and --record-count N for its "
                         "metadata", o->file_id);
    char *name = name_from_key(o->to);
    plan_add(p, o->job_id, "", name, o->file_id, NULL, 0, o->record_count, o->to);
    free(name);
    return 0;
}

/* ---- output --------------------------------------------------------------- */

static void fmt_unix(long long t, char *out, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!t || !gmtime_r(&tt, &tm) || !strftime(out, size, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(out, size, "unknown time");
}

static void print_inert(FILE *f, const char *label, const char *text)
{
    char *inert = text_inert(text);
    fprintf(f, "  %-14s %s\n", label, inert);
    free(inert);
}

static void print_existing(FILE *f, const char *label, const char *url,
                           const struct store_object_info *now)
{
    char *inert = text_inert(url);
    if (now->exists) {
        char size[32], when[64];
        fmt_size(now->size, size, sizeof size);
        fmt_unix(now->mtime, when, sizeof when);
        fprintf(f, "  %-14s %s (overwrites %s, %s)\n", label, inert, size, when);
    } else {
        fprintf(f, "  %-14s %s (new)\n", label, inert);
    }
    free(inert);
}

static void print_plan(struct cli *cli, const struct plan *p, bool dry_run)
{
    FILE *f = cli->json ? cli->errf : cli->out;
    char *env = text_inert(cli->env->name);
    size_t already = 0;
    for (size_t i = 0; i < p->n; i++)
        already += p->items[i].already;
    fprintf(f, "%s %zu file%s in environment %s%s", dry_run ? "Would copy" : "Copy", p->n - already,
            p->n - already == 1 ? "" : "s", env, cli->env->protected_env ? " (PROTECTED)" : "");
    if (already)
        fprintf(f, "; %zu already copied", already);
    fprintf(f, "\n");
    free(env);
    for (size_t i = 0; i < p->n; i++) {
        const struct plan_item *it = &p->items[i];
        fprintf(f, "\n");
        print_inert(f, "object", it->spec.name);
        print_inert(f, "job", it->spec.job_id);
        print_inert(f, "batch", it->spec.batch_id[0] ? it->spec.batch_id : "(none known)");
        if (it->spec.file_id) {
            print_inert(f, "file", it->spec.file_id);
        } else {
            for (size_t s = 0; s < it->spec.n_segments; s++) {
                char label[32];
                snprintf(label, sizeof label, "segment %zu", s + 1);
                print_inert(f, label, it->spec.segments[s]);
            }
        }
        fprintf(f, "  %-14s %lld\n", "records", it->spec.record_count);
        fprintf(f, "  %-14s %s\n", "size", "known once downloaded (checked against Content-Length)");
        print_existing(f, "csv", it->spec.target, &it->csv_now);
        print_existing(f, "metadata", it->meta_url, &it->meta_now);
        if (it->already)
            fprintf(f, "  %-14s already copied (same size and ETag): nothing to do; --force copies "
                       "again\n", "state");
    }
    fprintf(f, "\n");
}

struct progress_state {
    FILE *f;
    double started, last;
    bool shown;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_progress(const struct lk_progress *pr, void *ud)
{
    struct progress_state *ps = ud;
    double t = now_s();
    if (t - ps->last < 0.2)
        return;
    ps->last = t;
    char done[32];
    fmt_size(pr->bytes_done, done, sizeof done);
    double rate = t > ps->started ? (double)pr->bytes_done / (t - ps->started) / 1e6 : 0;
    fprintf(ps->f, "\r  %s, %lld/%lld records, %.1f MB/s   ", done, pr->records_done,
            pr->records_total, rate);
    fflush(ps->f);
    ps->shown = true;
}

static json_t *item_json(const struct plan_item *it, bool dry_run)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(it->spec.name));
    json_object_set_new(o, "jobId", json_string(it->spec.job_id));
    json_object_set_new(o, "batchId", json_string(it->spec.batch_id));
    json_t *ids = json_array();
    if (it->spec.file_id)
        json_array_append_new(ids, json_string(it->spec.file_id));
    for (size_t s = 0; s < it->spec.n_segments; s++)
        json_array_append_new(ids, json_string(it->spec.segments[s]));
    json_object_set_new(o, "fileIds", ids);
    json_object_set_new(o, "recordCount", json_integer(it->spec.record_count));
    json_object_set_new(o, "to", json_string(it->spec.target));
    json_object_set_new(o, "metadata", json_string(it->meta_url));
    json_object_set_new(o, "overwritesCsv", json_boolean(it->csv_now.exists));
    json_object_set_new(o, "overwritesMetadata", json_boolean(it->meta_now.exists));
    json_object_set_new(o, "result", json_string(dry_run ? (it->already ? "already copied" : "would copy")
                                                         : it->outcome ? it->outcome : "not run"));
    if (!dry_run && it->outcome && strcmp(it->outcome, "failed") != 0) {
        json_object_set_new(o, "bytes", json_integer(it->res.bytes));
        json_object_set_new(o, "records", json_integer(it->res.records));
        json_object_set_new(o, "etag", it->res.etag ? json_string(it->res.etag) : json_null());
    }
    if (it->error[0])
        json_object_set_new(o, "error", json_string(it->error));
    if (dry_run) {
        char *meta = copy_metadata_json(&it->spec);
        json_object_set_new(o, "metadataText", json_string(meta));
        free(meta);
    }
    return o;
}

static void print_json_result(struct cli *cli, const struct plan *p, bool dry_run)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "env", json_string(cli->env->name));
    json_object_set_new(doc, "dryRun", json_boolean(dry_run));
    json_t *arr = json_array();
    for (size_t i = 0; i < p->n; i++)
        json_array_append_new(arr, item_json(&p->items[i], dry_run));
    json_object_set_new(doc, "copies", arr);
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    fprintf(cli->out, "%s\n", text);
    free(text);
    json_decref(doc);
}

/* ---- the command ------------------------------------------------------------ */

static int inspect_targets(struct cli *cli, struct lk_ctx *ctx, struct store *st, struct plan *p,
                           bool force)
{
    for (size_t i = 0; i < p->n; i++) {
        struct plan_item *it = &p->items[i];
        struct lk_error err;
        err_clear(&err);
        if (!it->meta_url)
            return cli_failf(cli, LK_USAGE, "'%s' is not an object URL (s3://BUCKET/KEY or file:///DIR/KEY)",
                             it->spec.target);
        enum lk_status rc = copy_check_bucket(st, it->spec.target, &err);
        if (rc == LK_NOTFOUND)
            return cli_fail(cli, &err);
        if (rc == LK_OK)
            rc = store_head_url(st, it->spec.target, &it->csv_now, &err);
        if (rc == LK_OK)
            rc = store_head_url(st, it->meta_url, &it->meta_now, &err);
        if (rc == LK_OK && !force)
            rc = copy_already_done(ctx, st, &it->spec, &it->already, &err);
        if (rc != LK_OK) {
            err_prefix(&err, "looking at %s", it->spec.target);
            return cli_fail(cli, &err);
        }
    }
    return 0;
}

static int run_copies(struct cli *cli, struct lk_ctx *ctx, struct zuora_client *zc, struct store *st,
                      struct plan *p, bool force)
{
    struct copy_source src = copy_source_zuora(zc);
    int status = 0;
    for (size_t i = 0; i < p->n; i++) {
        struct plan_item *it = &p->items[i];
        if (copy_cancel) {
            it->outcome = "not run";
            snprintf(it->error, sizeof it->error, "cancelled before it started");
            status = LK_FAIL;
            continue;
        }
        struct progress_state ps = { cli->errf, now_s(), 0, false };
        ctx->progress = cli->stderr_tty && !cli->json ? on_progress : NULL;
        ctx->progress_ud = &ps;
        struct lk_error err;
        err_clear(&err);
        enum lk_status rc = copy_batch(ctx, &src, st, &it->spec, force, &it->res, &err);
        if (ps.shown)
            fprintf(cli->errf, "\r\033[K");
        char *target = text_inert(it->spec.target);
        if (rc != LK_OK) {
            it->outcome = "failed";
            err_text(&err, it->error, sizeof it->error);
            cfg_redact(cli->cfg, it->error);
            cli_fail(cli, &err);
            if (status == 0 || status == LK_FAIL)
                status = rc == LK_NOTFOUND ? LK_FAIL : (int)rc;
        } else if (it->res.already_copied) {
            it->outcome = "already copied";
            if (!cli->json)
                fprintf(cli->out, "%s: already copied (%lld bytes, ETag %s)\n", target, it->res.bytes,
                        it->res.etag ? it->res.etag : "-");
        } else if (it->res.metadata_only) {
            it->outcome = "metadata written";
            if (!cli->json)
                fprintf(cli->out, "%s: already copied; wrote its missing metadata\n", target);
        } else {
            it->outcome = "copied";
            if (!cli->json) {
                char size[32];
                fmt_size(it->res.bytes, size, sizeof size);
                char *meta = text_inert(it->res.metadata_url);
                fprintf(cli->out, "%s: copied %lld records (%s), then %s", target, it->res.records,
                        size, meta);
                if (it->res.attempts > 1)
                    fprintf(cli->out, " (on try %d: S3 failed the earlier PUTs)", it->res.attempts);
                fputc('\n', cli->out);
                free(meta);
            }
        }
        free(target);
    }
    ctx->progress = NULL;
    return status;
}

int cli_copy(struct cli *cli, int argc, char **argv)
{
    struct copy_opts o;
    int rc = parse_args(cli, argc, argv, &o);
    if (rc) {
        free(o.objects);
        return rc < 0 ? 0 : rc;
    }
    struct lk_ctx ctx;
    rc = cli_ctx(cli, true, &ctx);
    if (rc) {
        free(o.objects);
        return rc;
    }
    const char *audit_target = o.file_id ? o.file_id : o.job_id;
    if (!o.dry_run && (rc = cli_check_writable(cli, "copy", audit_target)) != 0) {
        free(o.objects);
        return rc;
    }

    struct zuora_client *zc = zuora_client_new(cli->env, cli_http(cli));
    zuora_client_set_cancel(zc, &copy_cancel);
    /* The store works in this thread while the download uses the Zuora
     * client's HTTP handle in another: one handle each. */
    struct http_client *store_http = http_client_new(cli->env->ca_bundle, "lakeop/" LAKEOP_VERSION);
    for (size_t i = 0; i < cli->cfg->n_secrets; i++)
        http_client_add_secret(store_http, cli->cfg->secrets[i]);
    struct store *st = NULL;
    struct plan p = { 0 };
    struct zuora_job job = { 0 };
    bool have_job = false;
    struct lk_error err;
    err_clear(&err);

    if (store_open(cli->env, store_http, &st, &err) != LK_OK) {
        rc = cli_fail(cli, &err);
        goto out;
    }
    if (o.file_id) {
        rc = plan_file(cli, &o, zc, &p);
    } else {
        if (load_job(cli, zc, o.job_id, &job, &err) != LK_OK) {
            rc = cli_fail(cli, &err);
            goto out;
        }
        have_job = true;
        if (zuora_job_outcome(&job) != ZUORA_COMPLETED && !o.n_objects) {
            char *status = text_inert(job.status);
            fprintf(cli->errf, "lakeop: job %s is %s; copying its completed batches only\n", job.id,
                    status);
            free(status);
        }
        rc = plan_job(cli, &o, &job, &p);
    }
    if (rc)
        goto out;
    rc = inspect_targets(cli, &ctx, st, &p, o.force);
    if (rc)
        goto out;

    print_plan(cli, &p, o.dry_run);
    if (o.dry_run) {
        if (cli->json) {
            print_json_result(cli, &p, true);
        } else {
            for (size_t i = 0; i < p.n; i++) {
                if (p.items[i].already)
                    continue;
                char *meta = copy_metadata_json(&p.items[i].spec);
                char *inert_url = text_inert(p.items[i].meta_url);
                fprintf(cli->out, "%s would contain:\n", inert_url);
                for (char *line = strtok(meta, "\n"); line; line = strtok(NULL, "\n")) {
                    char *inert = text_inert(line);
                    fprintf(cli->out, "%s\n", inert);
                    free(inert);
                }
                free(inert_url);
                free(meta);
            }
            fprintf(cli->out, "dry run: nothing was written\n");
        }
        rc = 0;
        goto out;
    }
    size_t todo = 0;
    for (size_t i = 0; i < p.n; i++)
        todo += !p.items[i].already;
    if (todo) {
        char question[128];
        snprintf(question, sizeof question, "Copy %zu file%s?", todo, todo == 1 ? "" : "s");
        rc = cli_confirm_change(cli, o.yes, question, "copy", audit_target, NULL);
        if (rc)
            goto out;
    }

    struct cli_signals saved;
    cli_signals_catch(&saved, on_signal);
    ctx.cancel = &copy_cancel;
    rc = run_copies(cli, &ctx, zc, st, &p, o.force);
    cli_signals_restore(&saved);
    if (cli->json)
        print_json_result(cli, &p, false);

out:
    if (have_job)
        zuora_job_free(&job);
    plan_free(&p);
    store_free(st);
    http_client_free(store_http);
    zuora_client_free(zc);
    free(o.objects);
    return rc;
}
