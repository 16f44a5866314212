-- lakeop metadata schema, version 1.
-- Applied by lakeop itself (core/db_migrate.c) inside one transaction.

CREATE TABLE lakeop.datasets (
    id                bigserial PRIMARY KEY,
    name              text NOT NULL UNIQUE,
    source            text,
    incoming          text,
    raw_hist          text,
    schema_file       text,
    columns           jsonb,                  -- [{"name":..,"type":..,"nullable":..}]
    dialect           text NOT NULL DEFAULT 'csv' CHECK (dialect IN ('csv', 'redshift-unload')),
    freshness_seconds bigint,
    min_records       bigint NOT NULL DEFAULT 0,
    is_ods            boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE lakeop.loads (
    id                  bigserial PRIMARY KEY,
    dataset_id          bigint NOT NULL REFERENCES lakeop.datasets(id),
    key                 text NOT NULL,            -- object key under the incoming prefix
    size                bigint,
    modified_at         timestamptz,
    file_land_timestamp bigint,                   -- unix seconds, the raw-hist partition
    status              text NOT NULL CHECK (status IN ('ready', 'ingesting', 'ready_for_archiving',
                            'archiving', 'archived', 'ready_for_erroring', 'erroring', 'errored')),
    record_count        bigint,
    error               text,
    raw_hist_key        text,
    errored_key         text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (dataset_id, key)
);
CREATE INDEX loads_status_id ON lakeop.loads (status, id);
CREATE INDEX loads_dataset_id ON lakeop.loads (dataset_id, id);

CREATE TABLE lakeop.load_events (
    id          bigserial PRIMARY KEY,
    load_id     bigint NOT NULL REFERENCES lakeop.loads(id),
    at          timestamptz NOT NULL DEFAULT now(),
    from_status text,
    to_status   text NOT NULL,
    operator    text,
    message     text
);
CREATE INDEX load_events_load ON lakeop.load_events (load_id, id);

CREATE TABLE lakeop.dataset_snapshots (
    id           bigserial PRIMARY KEY,
    dataset_id   bigint NOT NULL REFERENCES lakeop.datasets(id),
    snapshot_key text NOT NULL,                   -- the LOAD... key that starts a collection
    started_at   timestamptz NOT NULL,
    UNIQUE (dataset_id, snapshot_key)
);

CREATE TABLE lakeop.load_snapshots (
    load_id     bigint PRIMARY KEY REFERENCES lakeop.loads(id),
    snapshot_id bigint NOT NULL REFERENCES lakeop.dataset_snapshots(id)
);
CREATE INDEX load_snapshots_snapshot ON lakeop.load_snapshots (snapshot_id);

CREATE TABLE lakeop.cohorts (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    table_name   text,                            -- PriceMigration-<STAGE>-<name>
    created_at   timestamptz NOT NULL DEFAULT now(),
    synced_at    timestamptz,
    exported_at  timestamptz,
    export_key   text,
    export_count bigint
);

CREATE TABLE lakeop.cohort_items (
    cohort_id                                  bigint NOT NULL REFERENCES lakeop.cohorts(id),
    subscription_name                          text NOT NULL,
    processing_stage                           text NOT NULL,
    start_date                                 date,
    currency                                   text,
    old_price                                  numeric,
    estimated_new_price                        numeric,
    billing_period                             text,
    when_estimation_done                       timestamptz,
    salesforce_price_rise_id                   text,
    when_sf_show_estimate                      timestamptz,
    new_price                                  numeric,
    new_subscription_id                        text,
    when_amendment_done                        timestamptz,
    when_notification_sent                     timestamptz,
    when_notification_sent_written_to_salesforce timestamptz,
    when_amendment_written_to_salesforce       timestamptz,
    cancellation_reason                        text,
    updated_at                                 timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cohort_id, subscription_name)
);
CREATE INDEX cohort_items_stage ON lakeop.cohort_items (cohort_id, processing_stage);

CREATE TABLE lakeop.zuora_jobs (
    id               bigserial PRIMARY KEY,       -- paging key (newest first)
    job_id           text NOT NULL UNIQUE,
    env              text NOT NULL,
    name             text,
    partner          text,
    project          text,
    incremental_time text,                        -- as sent; NULL = afterLastIncrement
    status           text NOT NULL,               -- kept as Zuora wrote it
    origin           text NOT NULL DEFAULT 'lakeop' CHECK (origin IN ('lakeop', 'scheduled', 'lookup')),
    start_time       timestamptz,
    submitted_at     timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    last_json        jsonb
);
CREATE INDEX zuora_jobs_status ON lakeop.zuora_jobs (status, id);

CREATE TABLE lakeop.zuora_batches (
    id             bigserial PRIMARY KEY,
    job_id         text NOT NULL REFERENCES lakeop.zuora_jobs(job_id) ON DELETE CASCADE,
    batch_id       text NOT NULL UNIQUE,
    name           text NOT NULL,                 -- the object name
    status         text NOT NULL,
    record_count   bigint,
    file_id        text,
    segments       jsonb,                         -- ["fileId", ...] instead of file_id
    full_load      boolean,
    message        text,
    query          text,
    copied_to      text,                          -- the CSV's URL
    metadata_key   text,                          -- the metadata file's URL
    copied_at      timestamptz,
    copied_bytes   bigint,
    copied_records bigint,
    copied_etag    text,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    last_json      jsonb
);
CREATE INDEX zuora_batches_job ON lakeop.zuora_batches (job_id, id);
CREATE INDEX zuora_batches_file ON lakeop.zuora_batches (file_id);

CREATE TABLE lakeop.increments (
    env              text NOT NULL,
    object_name      text NOT NULL,
    partner          text,
    project          text,
    query_hash       text,                        -- sha256 of query text + deleted column
    last_job_id      text,
    last_batch_id    text,
    incremental_time text,
    completed_at     timestamptz,                 -- when Zuora finished the job
    copied_at        timestamptz,                 -- when the CSV reached the raw bucket
    ingested         boolean NOT NULL DEFAULT false,
    ingested_at      timestamptz,
    PRIMARY KEY (env, object_name)
);

CREATE TABLE lakeop.audit (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    operator  text NOT NULL,
    env       text NOT NULL,
    action    text NOT NULL,
    target    text,
    params    jsonb,
    result    text NOT NULL CHECK (result IN ('ok', 'failed', 'refused')),
    message   text
);

-- The audit is appended, never updated: the database enforces it.
CREATE FUNCTION lakeop.audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'lakeop.audit is append-only';
END $$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON lakeop.audit
    FOR EACH ROW EXECUTE FUNCTION lakeop.audit_is_append_only();

-- Live updates: one NOTIFY per statement, payload = table name.
CREATE FUNCTION lakeop.notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('lakeop_changes', TG_TABLE_NAME);
    RETURN NULL;
END $$;
CREATE TRIGGER datasets_notify AFTER INSERT OR UPDATE OR DELETE ON lakeop.datasets
    FOR EACH STATEMENT EXECUTE FUNCTION lakeop.notify_change();
CREATE TRIGGER loads_notify AFTER INSERT OR UPDATE OR DELETE ON lakeop.loads
    FOR EACH STATEMENT EXECUTE FUNCTION lakeop.notify_change();
CREATE TRIGGER cohort_items_notify AFTER INSERT OR UPDATE OR DELETE ON lakeop.cohort_items
    FOR EACH STATEMENT EXECUTE FUNCTION lakeop.notify_change();
CREATE TRIGGER zuora_jobs_notify AFTER INSERT OR UPDATE OR DELETE ON lakeop.zuora_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION lakeop.notify_change();
CREATE TRIGGER zuora_batches_notify AFTER INSERT OR UPDATE OR DELETE ON lakeop.zuora_batches
    FOR EACH STATEMENT EXECUTE FUNCTION lakeop.notify_change();
CREATE TRIGGER audit_notify AFTER INSERT ON lakeop.audit
    FOR EACH STATEMENT EXECUTE FUNCTION lakeop.notify_change();
