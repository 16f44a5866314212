/* The metadata file the lake's pre-condition check reads (ZUORA.md, "The
 * lake's side of a copy"): where it goes and its exact text. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "copy.h"
#include "json.h"
#include "mem.h"

char *copy_metadata_url(const char *target, const char *name)
{
    if (!target || !name)
        return NULL;
    const char *rest;
    if (strncmp(target, "s3://", 5) == 0)
        rest = target + 5;
    else if (strncmp(target, "file://", 7) == 0)
        rest = target + 7;
    else
        return NULL;
    const char *slash = strchr(rest, '/');
    const char *last = strrchr(rest, '/');
    /* A bucket alone, or a folder (ending in '/'), has no CSV to sit beside. */
    if (!slash || !last || last[1] == '\0' || (rest == target + 5 && slash == rest))
        return NULL;
    return xasprintf("%.*smetadata/%s.json", (int)(last + 1 - target), target, name);
}

char *copy_file_ids(const struct copy_spec *spec)
{
    if (spec->file_id)
        return xstrdup(spec->file_id);
    struct buf ids = BUF_INIT;
    for (size_t i = 0; i < spec->n_segments; i++) {
        if (i)
            buf_putc(&ids, ',');
        buf_puts(&ids, spec->segments[i]);
    }
    return ids.data ? buf_detach(&ids) : xstrdup("");
}

char *copy_metadata_json(const struct copy_spec *spec)
{
    struct buf b = BUF_INIT;
    buf_puts(&b, "{\n  \"jobId\" : ");
    jx_buf_string(&b, spec->job_id ? spec->job_id : "");
    buf_puts(&b, ",\n  \"fileId\" : ");
    char *ids = copy_file_ids(spec);
    jx_buf_string(&b, ids);
    free(ids);
    buf_puts(&b, ",\n  \"batchId\" : ");
    jx_buf_string(&b, spec->batch_id ? spec->batch_id : "");
    buf_puts(&b, ",\n  \"status\" : \"completed\",\n  \"name\" : ");
    jx_buf_string(&b, spec->name ? spec->name : "");
    buf_printf(&b, ",\n  \"recordCount\" : %lld\n}", spec->record_count);
    return buf_detach(&b);
}
