-- Seed data for the sandbox (make demo) and the tests that want a realistic
-- database: a dozen datasets with tens of thousands of loads in every status,
-- ODS snapshots, three price-rise cohorts, and a week of Zuora export jobs for
-- 13 objects (one with an aborted batch, one still running, one full load).
-- Run after lakeop has migrated the schema.  Deterministic (setseed).
\set ON_ERROR_STOP on
BEGIN;
SELECT setseed(0.42);

INSERT INTO lakeop.datasets (name, source, incoming, raw_hist, schema_file, columns, dialect, freshness_seconds, min_records, is_ods)
SELECT d.name, d.source,
       's3://lake-incoming/' || d.path || '/',
       's3://lake-raw-hist/' || d.path || '/',
       'schemas/' || d.name || '.json',
       '[{"name":"id","type":"bigint","nullable":false},{"name":"name","type":"string","nullable":true},{"name":"updated_at","type":"timestamp","nullable":true}]'::jsonb,
       d.dialect, d.fresh, 1, d.ods
FROM (VALUES
    ('cubic__ods_qlik__edw_sample',        'ods_qlik', 'cubic/ods_qlik/EDW.SAMPLE',          'csv', 26*3600, true),
    ('cubic__ods_qlik__edw_sample__ct',    'ods_qlik', 'cubic/ods_qlik/EDW.SAMPLE__ct',      'csv', 26*3600, true),
    ('cubic__ods_qlik__edw_card',          'ods_qlik', 'cubic/ods_qlik/EDW.CARD',            'csv', 26*3600, true),
    ('cubic__ods_qlik__edw_card__ct',      'ods_qlik', 'cubic/ods_qlik/EDW.CARD__ct',        'csv', 26*3600, true),
    ('cubic__ods_qlik__edw_farerev',       'ods_qlik', 'cubic/ods_qlik/EDW.FARE_REVENUE',    'csv', 26*3600, true),
    ('cubic__ods_qlik__edw_patron',        'ods_qlik', 'cubic/ods_qlik/EDW.PATRON',          'csv', 26*3600, true),
    ('cubic__dmap__agg_sample',            'dmap',     'cubic/dmap/agg_sample',              'csv', 48*3600, false),
    ('cubic__dmap__agg_average_boardings', 'dmap',     'cubic/dmap/agg_average_boardings',   'csv', 48*3600, false),
    ('cubic__dmap__agg_total_trips',       'dmap',     'cubic/dmap/agg_total_trips',         'csv', 48*3600, false),
    ('cubic__dmap__device_event',          'dmap',     'cubic/dmap/device_event',            'redshift-unload', 48*3600, false),
    ('cubic__dmap__sale_transaction',      'dmap',     'cubic/dmap/sale_transaction',        'redshift-unload', 48*3600, false),
    ('cubic__dmap__use_transaction',       'dmap',     'cubic/dmap/use_transaction',         'csv', 7*24*3600, false)
) AS d(name, source, path, dialect, fresh, ods)
ON CONFLICT (name) DO NOTHING;

-- Loads: ~3,000 per dataset over 60 days, most archived; the newest few in
-- every other status.  Two datasets are left stale on purpose.
-- One load per key (the first, in landing order): keys repeat within a day.
INSERT INTO lakeop.loads (dataset_id, key, size, modified_at, file_land_timestamp, status, record_count, error,
                          raw_hist_key, created_at, updated_at)
SELECT dataset_id, key, size, modified_at, file_land_timestamp, status, record_count, error, raw_hist_key,
       created_at, updated_at
FROM (
SELECT DISTINCT ON (1, 2) d.id AS dataset_id,
       CASE WHEN d.is_ods AND g % 500 = 1 THEN 'LOAD' || lpad(g::text, 8, '0') || '.csv.gz'
            WHEN d.is_ods THEN to_char(t, 'YYYYMMDD-HH24MISSMS') || '.csv.gz'
            ELSE to_char(t, 'YYYYMMDD') || lpad((g % 24)::text, 2, '0') || '.csv' END AS key,
       (1000 + (random() * 5000000))::bigint AS size,
       t AS modified_at, extract(epoch FROM t)::bigint AS file_land_timestamp,
       st.status,
       CASE WHEN st.status = 'archived' THEN (random() * 100000)::bigint END AS record_count,
       CASE WHEN st.status IN ('errored', 'erroring', 'ready_for_erroring')
            THEN (ARRAY['header mismatch: missing column "updated_at"',
                        'record 1832 has 7 fields, the schema has 9',
                        'gzip stream truncated after 1048576 bytes',
                        'file is empty',
                        'unterminated quoted field starting in record 5521'])[1 + (g % 5)] END AS error,
       CASE WHEN st.status = 'archived'
            THEN d.raw_hist || 'file_land_timestamp=' || extract(epoch FROM t)::bigint || '/' || g || '.csv' END
            AS raw_hist_key,
       t AS created_at, t + interval '3 minutes' AS updated_at, g
FROM lakeop.datasets d
CROSS JOIN LATERAL generate_series(1, 3000) AS g
CROSS JOIN LATERAL (SELECT now() - interval '60 days' + (g * interval '60 days' / 3000)
                           - CASE WHEN d.name IN ('cubic__ods_qlik__edw_patron', 'cubic__dmap__agg_total_trips')
                                  THEN interval '4 days' ELSE interval '0' END AS t) AS tt
CROSS JOIN LATERAL (SELECT CASE
        WHEN g > 2960 THEN (ARRAY['ready', 'ingesting', 'ready_for_archiving', 'archiving',
                                  'ready_for_erroring', 'erroring', 'errored', 'ready', 'ready', 'errored'])[1 + g % 10]
        WHEN g % 97 = 0 THEN 'errored'
        ELSE 'archived' END AS status) AS st
ORDER BY 1, 2, g
) first_per_key
ORDER BY dataset_id, g;
-- How many keys repeat depends on the time of day the seed runs (now()), so
-- the ids after the seed start from a fixed number: what a test adds later
-- (and its screen dumps) is the same at any hour.
SELECT setval(pg_get_serial_sequence('lakeop.loads', 'id'), 12 * 3000);

INSERT INTO lakeop.load_events (load_id, at, from_status, to_status, operator, message)
SELECT l.id, l.created_at, NULL, 'ready', 'ingest', 'registered'
FROM lakeop.loads l;
INSERT INTO lakeop.load_events (load_id, at, from_status, to_status, operator, message)
SELECT l.id, l.updated_at, 'ready', l.status, 'ingest', l.error
FROM lakeop.loads l WHERE l.status <> 'ready';

INSERT INTO lakeop.dataset_snapshots (dataset_id, snapshot_key, started_at)
SELECT l.dataset_id, l.key, l.modified_at
FROM lakeop.loads l JOIN lakeop.datasets d ON d.id = l.dataset_id
WHERE d.is_ods AND l.key LIKE 'LOAD%';
INSERT INTO lakeop.load_snapshots (load_id, snapshot_id)
SELECT l.id, (SELECT s.id FROM lakeop.dataset_snapshots s
              WHERE s.dataset_id = l.dataset_id AND s.started_at <= l.modified_at
              ORDER BY s.started_at DESC LIMIT 1)
FROM lakeop.loads l JOIN lakeop.datasets d ON d.id = l.dataset_id
WHERE d.is_ods AND EXISTS (SELECT 1 FROM lakeop.dataset_snapshots s
                           WHERE s.dataset_id = l.dataset_id AND s.started_at <= l.modified_at);

-- Cohorts: three price rises with thousands of items across the stages.
INSERT INTO lakeop.cohorts (name, table_name, synced_at)
VALUES ('Vouchers2022', 'PriceMigration-CODE-Vouchers2022', now() - interval '2 hours'),
       ('Membership2023_Batch1', 'PriceMigration-CODE-Membership2023_Batch1', now() - interval '1 day'),
       ('SupporterPlus2024', 'PriceMigration-CODE-SupporterPlus2024', now() - interval '30 minutes')
ON CONFLICT (name) DO NOTHING;

INSERT INTO lakeop.cohort_items (cohort_id, subscription_name, processing_stage, start_date, currency,
    old_price, estimated_new_price, billing_period, when_estimation_done, salesforce_price_rise_id,
    when_sf_show_estimate, new_price, new_subscription_id, when_amendment_done, when_notification_sent,
    when_notification_sent_written_to_salesforce, when_amendment_written_to_salesforce, cancellation_reason)
SELECT c.id,
       'A-S' || lpad((c.id * 1000000 + g)::text, 8, '0'),
       st.stage,
       (now() + ((g % 120) || ' days')::interval)::date,
       (ARRAY['GBP', 'USD', 'EUR', 'AUD', 'CAD'])[1 + g % 5],
       p.old, CASE WHEN st.n >= 1 THEN round(p.old * 1.2, 2) END,
       (ARRAY['Month', 'Quarter', 'Annual'])[1 + g % 3],
       CASE WHEN st.n >= 1 THEN now() - interval '20 days' END,
       CASE WHEN st.n >= 2 THEN 'a1B' || lpad(g::text, 15, '0') END,
       CASE WHEN st.n >= 2 THEN now() - interval '18 days' END,
       CASE WHEN st.n >= 5 THEN round(p.old * 1.2, 2) END,
       CASE WHEN st.n >= 5 THEN md5(g::text) END,
       CASE WHEN st.n >= 5 THEN now() - interval '5 days' END,
       CASE WHEN st.n >= 3 THEN now() - interval '10 days' END,
       CASE WHEN st.n >= 4 THEN now() - interval '9 days' END,
       CASE WHEN st.n >= 6 THEN now() - interval '4 days' END,
       CASE WHEN st.stage IN ('Cancelled', 'ZuoraCancellation') THEN 'Customer cancelled before the price rise' END
FROM lakeop.cohorts c
CROSS JOIN LATERAL generate_series(1, CASE c.name WHEN 'Vouchers2022' THEN 4000
                                                  WHEN 'Membership2023_Batch1' THEN 2500 ELSE 6000 END) AS g
CROSS JOIN LATERAL (SELECT round((5 + (g % 40) * 0.75)::numeric, 2) AS old) AS p
CROSS JOIN LATERAL (SELECT (ARRAY['ReadyForEstimation', 'EstimationComplete', 'SalesforcePriceRiseCreationComplete',
                                  'NotificationSendComplete', 'NotificationSendDateWrittenToSalesforce',
                                  'AmendmentComplete', 'AmendmentWrittenToSalesforce', 'NoPriceIncrease',
                                  'Cancelled', 'EstimationNotPossible', 'UserOptOut'])[1 + s] AS stage,
                           LEAST(s, 6) AS n
                    FROM (SELECT CASE WHEN g % 53 = 0 THEN 7 + (g % 4)
                                      ELSE LEAST(6, floor(random() * (3 + c.id * 1.5))::int) END AS s) AS ss) AS st
ON CONFLICT DO NOTHING;

INSERT INTO lakeop.audit (at, operator, env, action, target, params, result, message)
VALUES (now() - interval '3 days', 'mario', 'CODE', 'export.submit', '2c92c0f8aa0000000000000000000003',
        '{"from":"2026-11-18","incrementalTime":"2026-11-17 00:00:00"}', 'ok', 'submitted 13 queries'),
       (now() - interval '3 days' + interval '40 minutes', 'mario', 'CODE', 'copy', 'InvoiceItem',
        '{"job":"2c92c0f8aa0000000000000000000003"}', 'ok', 'copied 48650 records'),
       (now() - interval '2 days', 'dana', 'CODE', 'stage.clear', 'zuora_account',
        '{"downstream":true}', 'ok', 'cleared 14 task instances'),
       (now() - interval '1 day', 'dana', 'CODE', 'load.retry', '1832', NULL, 'refused', 'not confirmed');
COMMIT;
