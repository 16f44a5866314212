/* A copy lakeop did not make, found in the lake itself.
 *
 * The scheduled exporter (or any other tool) copies a batch the way
 * ZUORA.md's "The lake's side of a copy" says: the CSV, then
 * metadata/<Name>.json beside it with jobId, fileId, batchId, status,
 * name and recordCount.  lakeop has no record of such a copy, but the
 * metadata is the lake's own: when it names the batch (its jobId, and its
 * batchId or fileId) and the CSV is there, the batch was copied when the
 * metadata was last written (it is written after the CSV is complete).
 * Anything else is a verdict with exactly what was found, never an error:
 * the caller decides what an unconfirmed copy means. */
#ifndef LAKEOP_LAKE_COPY_H
#define LAKEOP_LAKE_COPY_H

#include <stddef.h>

#include "store.h"

/* The batch whose copy is looked for. */
struct lakecopy_want {
    const char *job_id;
    const char *batch_id;   /* may be NULL */
    const char *file_ids;   /* the fileId, or the segments' ids joined by ","; may be NULL */
};

enum lakecopy_verdict {
    LAKECOPY_FOUND,         /* the metadata names this batch and the CSV is there */
    LAKECOPY_MISSING,       /* no metadata (or no CSV beside it) */
    LAKECOPY_MALFORMED,     /* not JSON, not an object, a field of the wrong type */
    LAKECOPY_OTHER,         /* metadata of another job or batch, or not completed */
    LAKECOPY_UNREADABLE,    /* the store could not be asked (the reason is in what) */
};

struct lakecopy_found {
    enum lakecopy_verdict verdict;
    char metadata_url[512];
    long long copied_unix;  /* LAKECOPY_FOUND: the metadata's last-modified time */
    char what[640];         /* what was found, for a plan ("... does not exist", ...) */
};

/* Judges a metadata file's text against the batch (no I/O).  what gets
 * the reason when the verdict is not LAKECOPY_FOUND. */
enum lakecopy_verdict lakecopy_judge(const char *text, size_t len, const struct lakecopy_want *want,
                                     char *what, size_t what_size);

/* Reads metadata/<name>.json beside the raw target (s3:// or file://,
 * copy_metadata_url) through st, HEADs it and the CSV, and judges it. */
void lakecopy_find(struct store *st, const char *raw_target, const char *name,
                   const struct lakecopy_want *want, struct lakecopy_found *out);

#endif
