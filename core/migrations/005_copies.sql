-- lakeop metadata schema, version 5: every copy of a Zuora file, keyed by
-- (file, target).  A batch has one raw target, but its file may also be
-- copied by hand somewhere else (lakeop copy --file-id ID --to URL), and a
-- file no known batch has (--job, --record-count) has no batch row at all:
-- whether a copy is "already done" is a question about a file and a target.
-- The batch's own copied_* columns and the object's increment keep meaning
-- "copied to its configured raw target" (core/copy_batch.c).
CREATE TABLE lakeop.copies (
    file_ids       text NOT NULL,               -- the fileId, or the segments' ids joined by ","
    target         text NOT NULL,               -- the CSV's URL
    metadata_key   text NOT NULL,               -- the metadata file's URL
    job_id         text NOT NULL,
    batch_id       text,                        -- NULL when no known batch has the file
    name           text NOT NULL,
    copied_at      timestamptz NOT NULL DEFAULT now(),
    copied_bytes   bigint NOT NULL,
    copied_records bigint NOT NULL,
    copied_etag    text NOT NULL,
    PRIMARY KEY (file_ids, target)
);

-- The copies the batches recorded before.
INSERT INTO lakeop.copies (file_ids, target, metadata_key, job_id, batch_id, name, copied_at,
                           copied_bytes, copied_records, copied_etag)
SELECT coalesce(b.file_id,
                (SELECT string_agg(s.id, ',' ORDER BY s.n)
                   FROM jsonb_array_elements_text(b.segments) WITH ORDINALITY AS s(id, n))),
       b.copied_to, b.metadata_key, b.job_id, b.batch_id, b.name, coalesce(b.copied_at, now()),
       b.copied_bytes, coalesce(b.copied_records, b.record_count, 0), b.copied_etag
  FROM lakeop.zuora_batches b
 WHERE b.copied_to IS NOT NULL AND b.metadata_key IS NOT NULL AND b.copied_etag IS NOT NULL
   AND b.copied_bytes IS NOT NULL AND (b.file_id IS NOT NULL OR b.segments IS NOT NULL)
ON CONFLICT DO NOTHING;
