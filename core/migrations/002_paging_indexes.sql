-- lakeop metadata schema, version 2: indexes for the screens' keyset paging
-- and filters (lists are paged by key, never by OFFSET).

-- The audit screen filtered by action, and by time ("what happened last night").
CREATE INDEX audit_action_id ON lakeop.audit (action, id);
CREATE INDEX audit_at ON lakeop.audit (at);
CREATE INDEX audit_target_id ON lakeop.audit (target, id);

-- "Has this CSV already reached its raw bucket?" by destination URL.
CREATE INDEX zuora_batches_copied_to ON lakeop.zuora_batches (copied_to);
-- The batches of one object, newest first (which job produced yesterday's Account?).
CREATE INDEX zuora_batches_name_id ON lakeop.zuora_batches (name, id);

-- The jobs list of one environment, newest first.
CREATE INDEX zuora_jobs_env_id ON lakeop.zuora_jobs (env, id);

-- Key-prefix filter on loads (LIKE 'prefix%' whatever the collation).
CREATE INDEX loads_dataset_key_prefix ON lakeop.loads (dataset_id, key text_pattern_ops);
