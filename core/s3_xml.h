/* Reading what S3 servers answer: the few XML documents the object store
 * needs (error, ListObjectsV2 page, multipart upload id, completion), and
 * the two date formats S3 uses.
 *
 * The parser is deliberately small: elements, attributes (ignored), text,
 * the five named entities and numeric character references, comments,
 * processing instructions and CDATA.  Anything else, and any document cut
 * short, is an error with a clear message rather than a guess. */
#ifndef LAKEOP_S3_XML_H
#define LAKEOP_S3_XML_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct s3_xml_error {
    char *code;         /* <Code>; NULL when absent */
    char *message;      /* <Message> */
    char *request_id;   /* <RequestId> */
};

struct s3_xml_object {
    char *key;
    long long size;
    long long mtime;    /* unix seconds; -1 when LastModified is missing or malformed */
    char *etag;         /* quotes kept, as S3 sends them */
};

struct s3_xml_list {
    struct s3_xml_object *objects;
    size_t n_objects;
    bool truncated;
    char *next_token;   /* NextContinuationToken; NULL when absent */
};

/* True when xml is a complete document whose root is <Error>; out is then
 * filled (caller frees with s3_xml_error_free). */
bool s3_xml_error_parse(const char *xml, size_t len, struct s3_xml_error *out);
void s3_xml_error_free(struct s3_xml_error *e);

/* A <ListBucketResult> page. */
enum lk_status s3_xml_list_parse(const char *xml, size_t len, struct s3_xml_list *out,
                                 struct lk_error *err);
void s3_xml_list_free(struct s3_xml_list *l);

/* <InitiateMultipartUploadResult><UploadId>; caller frees *out. */
enum lk_status s3_xml_upload_id(const char *xml, size_t len, char **out, struct lk_error *err);

/* <CompleteMultipartUploadResult><ETag> (quotes kept); caller frees *out.
 * A document whose root is <Error> is reported as LK_FAIL with the remote's
 * words in err. */
enum lk_status s3_xml_complete_etag(const char *xml, size_t len, char **out, struct lk_error *err);

/* <CopyObjectResult><ETag>, same rules as s3_xml_complete_etag. */
enum lk_status s3_xml_copy_etag(const char *xml, size_t len, char **out, struct lk_error *err);

/* Decodes entities and character references; NULL when one is malformed
 * or encodes a code point that cannot appear in XML. */
char *s3_xml_decode(const char *text, size_t len);

/* Escapes & < > " ' for element text; caller frees. */
char *s3_xml_escape(const char *text);

/* "2024-03-04T13:45:56.444Z" (ISO 8601, UTC) → unix seconds; -1 when malformed. */
long long s3_time_iso8601(const char *text);
/* "Mon, 04 Mar 2024 13:45:56 GMT" (RFC 7231) → unix seconds; -1 when malformed. */
long long s3_time_http(const char *text);

#endif
