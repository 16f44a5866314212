-- lakeop metadata schema, version 3: when a Zuora job ended.
-- updated_at moves with every save (each look at a job stores Zuora's
-- answer again), so a duration derived from it grew each time someone
-- looked.  ended_at is set once, the first time lakeop sees the job in a
-- terminal state (core/jobstore.c), and never moved afterwards.
ALTER TABLE lakeop.zuora_jobs ADD COLUMN ended_at timestamptz;

-- Jobs that had already ended: their last save is the best we know.
UPDATE lakeop.zuora_jobs SET ended_at = updated_at
 WHERE status IN ('completed', 'error', 'aborted', 'cancelled');
