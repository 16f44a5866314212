/* One streamed upload of a known length, fed by pushes.
 *
 * libcurl pulls a request body through a read callback; a store writer is
 * pushed to.  An upload pipe joins the two: the request runs on a thread of
 * its own (the run function, which performs it with upload_pipe_read as its
 * http_source_fn), and upload_pipe_write() hands the caller's bytes to it
 * and waits until libcurl has taken them, so nothing is buffered beyond
 * libcurl's own upload buffer.
 *
 * The last byte of the declared length is held back until
 * upload_pipe_finish(): until then the server has not received a complete
 * body and cannot make anything visible, so upload_pipe_abort() (the read
 * callback answers CURL_READFUNC_ABORT and the connection is dropped)
 * leaves the previous object in place.  A request may be retried only
 * while none of the body was taken (upload_pipe_rewind). */
#ifndef LAKEOP_UPLOAD_PIPE_H
#define LAKEOP_UPLOAD_PIPE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct upload_pipe;

/* Runs on the pipe's thread: performs the request, reading the body with
 * upload_pipe_read(dst, max, pipe).  Its status (and err) is what
 * upload_pipe_write() reports once it has ended, and upload_pipe_finish()
 * returns. */
typedef enum lk_status (*upload_pipe_fn)(struct upload_pipe *pipe, void *ud, struct lk_error *err);

/* Starts run(pipe, ud) on a new thread for a body of total bytes (> 0). */
enum lk_status upload_pipe_start(long long total, upload_pipe_fn run, void *ud,
                                 struct upload_pipe **out, struct lk_error *err);

/* An http_source_fn (ud is the pipe): waits for pushed bytes. */
size_t upload_pipe_read(char *dst, size_t max, void *ud);
/* An http_rewind_fn (ud is the pipe): true only while no byte was taken. */
bool upload_pipe_rewind(void *ud);

/* Hands bytes to the request; returns once they are taken, or with the
 * request's failure when it ended early, or LK_FAIL when the bytes would go
 * past the declared length. */
enum lk_status upload_pipe_write(struct upload_pipe *p, const void *data, size_t len,
                                 struct lk_error *err);
/* Sends the held-back last byte when exactly the declared length was
 * written, waits for the request to end and returns its status; otherwise
 * aborts.  Frees p. */
enum lk_status upload_pipe_finish(struct upload_pipe *p, struct lk_error *err);
/* Drops the request before its body is complete and waits for it.  Frees p. */
void upload_pipe_abort(struct upload_pipe *p);

#endif
