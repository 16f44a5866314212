-- lakeop metadata schema, version 4: a load is an object landed under a key
-- at a modified time, not the key alone (issue 6).  A file re-landed under
-- a key that was already loaded (an ODS full reload restarting
-- LOAD00000001.csv, a source re-sending yesterday's file) is a new load in
-- its own file_land_timestamp= partition; it used to sit in incoming
-- forever as "already loaded".
ALTER TABLE lakeop.loads DROP CONSTRAINT loads_dataset_id_key_key;
ALTER TABLE lakeop.loads ADD CONSTRAINT loads_dataset_key_modified UNIQUE (dataset_id, key, modified_at);
-- While a load is being carried on (or was put back to ready by a retry,
-- which on S3 gives its object a new modified time) the object under its
-- key is that load's: one unfinished load per key.
CREATE UNIQUE INDEX loads_dataset_key_unfinished ON lakeop.loads (dataset_id, key)
    WHERE status NOT IN ('archived', 'errored');

-- A restart under the same LOAD… key starts a new snapshot: snapshots are
-- told apart by when they started, too.
ALTER TABLE lakeop.dataset_snapshots DROP CONSTRAINT dataset_snapshots_dataset_id_snapshot_key_key;
ALTER TABLE lakeop.dataset_snapshots ADD CONSTRAINT dataset_snapshots_key_started
    UNIQUE (dataset_id, snapshot_key, started_at);
