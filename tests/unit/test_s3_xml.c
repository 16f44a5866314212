/* Reading S3's XML answers and dates (core/s3_xml.h), and writing S3
 * addresses exactly as SigV4 signs them (core/store_internal.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "mem.h"
#include "s3_xml.h"
#include "store_internal.h"

#define XML(s) (s), strlen(s)

static void test_error_document(void **state)
{
    (void)state;
    const char *doc =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message>"
        "<BucketName>b</BucketName><RequestId>4442587FB7D0A2F9</RequestId></Error>";
    struct s3_xml_error e;
    assert_true(s3_xml_error_parse(XML(doc), &e));
    assert_string_equal(e.code, "NoSuchBucket");
    assert_string_equal(e.message, "The specified bucket does not exist");
    assert_string_equal(e.request_id, "4442587FB7D0A2F9");
    s3_xml_error_free(&e);

    /* Not an error document, or not a document at all. */
    assert_false(s3_xml_error_parse(XML("<ListBucketResult></ListBucketResult>"), &e));
    assert_false(s3_xml_error_parse(XML("<Error><Code>SlowDown</Code>"), &e));
    assert_false(s3_xml_error_parse(XML("Service Unavailable"), &e));
    assert_false(s3_xml_error_parse(NULL, 0, &e));
    s3_xml_error_free(&e);

    /* Entities in the message are decoded. */
    assert_true(s3_xml_error_parse(XML("<Error><Code>X</Code><Message>a &lt;b&gt; &amp; &quot;c&quot;"
                                       "</Message></Error>"), &e));
    assert_string_equal(e.message, "a <b> & \"c\"");
    assert_null(e.request_id);
    s3_xml_error_free(&e);
}

static const char page1[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>bucket</Name><Prefix>in/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
    "<IsTruncated>true</IsTruncated>"
    "<Contents><Key>in/a b.csv</Key><LastModified>2024-03-04T13:45:56.444Z</LastModified>"
    "<ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>1024</Size>"
    "<StorageClass>STANDARD</StorageClass></Contents>\n"
    "  <Contents>\n    <Key>in/na&#xEF;ve &amp; &#28450;.csv</Key>\n    <Size>0</Size>\n"
    "    <ETag>\"d41d8cd98f00b204e9800998ecf8427e\"</ETag>\n"
    "    <LastModified>2024-03-04T13:45:57Z</LastModified>\n  </Contents>\n"
    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
    "</ListBucketResult>";

static void test_list_page(void **state)
{
    (void)state;
    struct s3_xml_list l;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(s3_xml_list_parse(XML(page1), &l, &err), LK_OK);
    assert_int_equal(l.n_objects, 2);
    assert_true(l.truncated);
    assert_string_equal(l.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    assert_string_equal(l.objects[0].key, "in/a b.csv");
    assert_int_equal(l.objects[0].size, 1024);
    assert_int_equal(l.objects[0].mtime, 1709559956);
    assert_string_equal(l.objects[0].etag, "\"9b2cf535f27731c974343645a3985328\"");
    assert_string_equal(l.objects[1].key, "in/na\xc3\xafve & \xe6\xbc\xa2.csv");
    assert_int_equal(l.objects[1].size, 0);
    assert_int_equal(l.objects[1].mtime, 1709559957);
    s3_xml_list_free(&l);
}

static void test_list_last_and_empty_pages(void **state)
{
    (void)state;
    struct s3_xml_list l;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(s3_xml_list_parse(XML("<ListBucketResult><Name>b</Name><Prefix/>"
                                           "<KeyCount>0</KeyCount><IsTruncated>false</IsTruncated>"
                                           "</ListBucketResult>"), &l, &err), LK_OK);
    assert_int_equal(l.n_objects, 0);
    assert_false(l.truncated);
    assert_null(l.next_token);
    s3_xml_list_free(&l);

    /* A key of spaces only is kept as it is (keys are never trimmed). */
    assert_int_equal(s3_xml_list_parse(XML("<ListBucketResult><Contents><Key>  </Key><Size>1</Size>"
                                           "</Contents></ListBucketResult>"), &l, &err), LK_OK);
    assert_string_equal(l.objects[0].key, "  ");
    assert_int_equal(l.objects[0].mtime, -1);
    assert_null(l.objects[0].etag);
    s3_xml_list_free(&l);
}

static void expect_list_error(const char *doc, const char *words)
{
    struct s3_xml_list l;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(s3_xml_list_parse(XML(doc), &l, &err), LK_FAIL);
    if (!strstr(err.message, words))
        fail_msg("message '%s' does not say '%s'", err.message, words);
    assert_int_equal(l.n_objects, 0);
    assert_null(l.objects);
}

static void test_list_malformed(void **state)
{
    (void)state;
    /* Cut short anywhere: a clear error, never a partial page. */
    size_t n = strlen(page1);
    for (size_t cut = 0; cut < n - 1; cut += 7) {
        char *part = xstrndup(page1, cut);
        struct s3_xml_list l;
        struct lk_error err;
        err_clear(&err);
        assert_int_equal(s3_xml_list_parse(part, cut, &l, &err), LK_FAIL);
        assert_non_null(strstr(err.message, "malformed listing"));
        free(part);
    }
    expect_list_error("<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult>",
                      "valid <Size>");
    expect_list_error("<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>", "<Key>");
    expect_list_error("<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>",
                      "<Size>");
    expect_list_error("<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>", "IsTruncated");
    expect_list_error("<ListAllMyBucketsResult></ListAllMyBucketsResult>", "ListAllMyBucketsResult");
    expect_list_error("<ListBucketResult><Key>a</Wrong></ListBucketResult>", "closed by");
    expect_list_error("<ListBucketResult></ListBucketResult><Extra/>", "second element");
    expect_list_error("<ListBucketResult><Contents><Key>a&bogus;</Key></Contents></ListBucketResult>",
                      "character reference");
    expect_list_error("<ListBucketResult><Contents><Key>&#0;</Key></Contents></ListBucketResult>",
                      "character reference");
    expect_list_error("<ListBucketResult><Contents><Key>&#xD800;</Key></Contents></ListBucketResult>",
                      "character reference");
    expect_list_error("", "no element");
    expect_list_error("hello", "outside");

    /* An <Error> in place of the page carries the remote's words. */
    struct s3_xml_list l;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(s3_xml_list_parse(XML("<Error><Code>InternalError</Code><Message>boom</Message>"
                                           "<RequestId>R1</RequestId></Error>"), &l, &err), LK_FAIL);
    assert_string_equal(err.remote_code, "InternalError");
    assert_string_equal(err.remote_message, "boom");
    assert_string_equal(err.request_id, "R1");
    assert_true(err.retryable);
}

static void test_deep_nesting_refused(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    for (int i = 0; i < 200; i++)
        buf_puts(&b, "<a>");
    for (int i = 0; i < 200; i++)
        buf_puts(&b, "</a>");
    struct s3_xml_error e;
    assert_false(s3_xml_error_parse(b.data, b.len, &e));
    s3_xml_error_free(&e);
    buf_free(&b);
}

static void test_upload_id_and_completion(void **state)
{
    (void)state;
    char *out = NULL;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(s3_xml_upload_id(XML("<?xml version=\"1.0\"?><InitiateMultipartUploadResult "
                                          "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>b</Bucket>"
                                          "<Key>k</Key><UploadId>VXBsb2FkIElE+/=</UploadId>"
                                          "</InitiateMultipartUploadResult>"), &out, &err), LK_OK);
    assert_string_equal(out, "VXBsb2FkIElE+/=");
    free(out);

    assert_int_equal(s3_xml_upload_id(XML("<InitiateMultipartUploadResult><UploadId/>"
                                          "</InitiateMultipartUploadResult>"), &out, &err), LK_FAIL);
    assert_null(out);
    assert_non_null(strstr(err.message, "without <UploadId>"));

    assert_int_equal(s3_xml_complete_etag(XML("<CompleteMultipartUploadResult><Location>x</Location>"
                                              "<ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag>"
                                              "</CompleteMultipartUploadResult>"), &out, &err), LK_OK);
    assert_string_equal(out, "\"3858f62230ac3c915f300c664312c11f-9\"");
    free(out);
    /* moto's spelling of the root. */
    assert_int_equal(s3_xml_complete_etag(XML("<CompleteMultipartUploadResponse><ETag>\"e-2\"</ETag>"
                                              "</CompleteMultipartUploadResponse>"), &out, &err), LK_OK);
    assert_string_equal(out, "\"e-2\"");
    free(out);

    /* A 200 whose body is an <Error>: a failure with S3's words. */
    err_clear(&err);
    assert_int_equal(s3_xml_complete_etag(XML("<?xml version=\"1.0\"?>\n<Error><Code>InternalError</Code>"
                                              "<Message>We encountered an internal error.</Message>"
                                              "<RequestId>656c76696e67</RequestId></Error>"), &out, &err),
                     LK_FAIL);
    assert_null(out);
    assert_string_equal(err.remote_code, "InternalError");
    assert_string_equal(err.request_id, "656c76696e67");

    err_clear(&err);
    assert_int_equal(s3_xml_copy_etag(XML("<CopyObjectResult><LastModified>2024-01-01T00:00:00.000Z"
                                          "</LastModified><ETag>\"abc\"</ETag></CopyObjectResult>"), &out, &err),
                     LK_OK);
    assert_string_equal(out, "\"abc\"");
    free(out);
    assert_int_equal(s3_xml_copy_etag(XML("<CopyObjectResult><ETag>\"abc\"</ETag>"), &out, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "never closed"));
}

static void test_entities_and_cdata(void **state)
{
    (void)state;
    char *s = s3_xml_decode(XML("a&amp;b&lt;&gt;&quot;&apos;&#65;&#x42;&#x1F600;"));
    assert_string_equal(s, "a&b<>\"'AB\xf0\x9f\x98\x80");
    free(s);
    assert_null(s3_xml_decode(XML("a & b")));
    assert_null(s3_xml_decode(XML("&#x110000;")));
    assert_null(s3_xml_decode(XML("&#;")));
    assert_null(s3_xml_decode(XML("&#x;")));
    assert_null(s3_xml_decode(XML("&#12a;")));
    s = s3_xml_decode(XML(""));
    assert_string_equal(s, "");
    free(s);

    s = s3_xml_escape("<a href=\"x\">&'");
    assert_string_equal(s, "&lt;a href=&quot;x&quot;&gt;&amp;&apos;");
    free(s);

    struct s3_xml_error e;
    assert_true(s3_xml_error_parse(XML("<!-- c --><Error><Code><![CDATA[A<B>&]]></Code></Error>"), &e));
    assert_string_equal(e.code, "A<B>&");
    s3_xml_error_free(&e);
}

static void test_dates(void **state)
{
    (void)state;
    assert_int_equal(s3_time_iso8601("2024-03-04T13:45:56.444Z"), 1709559956);
    assert_int_equal(s3_time_iso8601("2024-03-04T13:45:56Z"), 1709559956);
    assert_int_equal(s3_time_iso8601("1970-01-01T00:00:00+00:00"), 0);
    assert_int_equal(s3_time_iso8601("2024-03-04 13:45:56Z"), -1);
    assert_int_equal(s3_time_iso8601("2024-13-04T13:45:56Z"), -1);
    assert_int_equal(s3_time_iso8601("2024-03-04T13:45:56.Z"), -1);
    assert_int_equal(s3_time_iso8601("2024-03-04T13:45:56"), -1);
    assert_int_equal(s3_time_iso8601(NULL), -1);
    assert_int_equal(s3_time_http("Mon, 04 Mar 2024 13:45:56 GMT"), 1709559956);
    assert_int_equal(s3_time_http("yesterday-ish"), -1);
    assert_int_equal(s3_time_http(""), -1);
}

static char *enc(const char *text, bool keep_slash)
{
    struct buf b = BUF_INIT;
    stores3_encode(&b, text, keep_slash);
    return b.data ? buf_detach(&b) : xstrdup("");
}

static void encodes_as(const char *text, bool keep_slash, const char *want)
{
    char *got = enc(text, keep_slash);
    assert_string_equal(got, want);
    free(got);
}

static void test_sigv4_encoding(void **state)
{
    (void)state;
    encodes_as("a/b c.csv", true, "a/b%20c.csv");
    encodes_as("a/b c.csv", false, "a%2Fb%20c.csv");
    encodes_as("x+y=z&w", true, "x%2By%3Dz%26w");
    encodes_as("AZaz09-._~", false, "AZaz09-._~");
    encodes_as("na\xc3\xafve", true, "na%C3%AFve");
    encodes_as("100%", true, "100%25");
    encodes_as("", true, "");
    encodes_as("tok/en+==", false, "tok%2Fen%2B%3D%3D");
}

static struct stores3 *s3_for(const char *endpoint)
{
    struct http_client *http = http_client_new(NULL, "t");
    struct stores3_config c = { .endpoint = endpoint, .region = "eu-west-1" };
    struct stores3 *s = NULL;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(stores3_new(&c, http, &s, &err), LK_OK);
    http_client_free(http);      /* not used by URL building */
    return s;
}

static void url_is(struct stores3 *s, const char *bucket, const char *key, const char *want)
{
    char *got = stores3_object_url(s, bucket, key);
    assert_string_equal(got, want);
    free(got);
}

static void test_addressing_styles(void **state)
{
    (void)state;
    struct stores3 *s = s3_for("http://127.0.0.1:4568/");
    url_is(s, "b", "dir/a b+c.csv", "http://127.0.0.1:4568/b/dir/a%20b%2Bc.csv");
    url_is(s, "b", "", "http://127.0.0.1:4568/b");
    stores3_free(s);

    s = s3_for("https://s3.eu-west-1.amazonaws.com");
    url_is(s, "raw", "Account.csv", "https://raw.s3.eu-west-1.amazonaws.com/Account.csv");
    url_is(s, "raw", "", "https://raw.s3.eu-west-1.amazonaws.com/");
    /* Dotted bucket names stay path-style (the TLS wildcard does not cover them). */
    url_is(s, "my.bucket", "k", "https://s3.eu-west-1.amazonaws.com/my.bucket/k");
    stores3_free(s);

    /* No endpoint: AWS in the configured region. */
    s = s3_for(NULL);
    url_is(s, "raw", "k", "https://raw.s3.eu-west-1.amazonaws.com/k");
    stores3_free(s);

    struct http_client *http = http_client_new(NULL, "t");
    struct stores3 *bad = NULL;
    struct lk_error err;
    err_clear(&err);
    struct stores3_config c = { .endpoint = "ftp://host" };
    assert_int_equal(stores3_new(&c, http, &bad, &err), LK_USAGE);
    assert_null(bad);
    assert_non_null(strstr(err.message, "s3.endpoint"));
    c.endpoint = "http://user:pw@host";
    assert_int_equal(stores3_new(&c, http, &bad, &err), LK_USAGE);
    http_client_free(http);
}

static bool retried(long status, const char *body)
{
    struct http_response r;
    http_response_init(&r);
    r.status = status;
    if (body)
        buf_puts(&r.body, body);
    bool yes = stores3_retry(&r, NULL);
    http_response_free(&r);
    return yes;
}

#define ERR(code) "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" code "</Code>" \
                  "<Message>m</Message><RequestId>r</RequestId></Error>"

static void test_retry_rules(void **state)
{
    (void)state;
    assert_true(retried(500, ERR("InternalError")));
    assert_true(retried(503, ERR("SlowDown")));
    assert_true(retried(503, ERR("ServiceUnavailable")));
    assert_true(retried(502, "<html>bad gateway</html>"));
    assert_true(retried(504, NULL));
    assert_true(retried(400, ERR("RequestTimeout")));
    /* A 200 carrying <Error> (CopyObject, CompleteMultipartUpload). */
    assert_true(retried(200, ERR("InternalError")));
    assert_true(retried(200, ERR("SlowDown")));

    assert_false(retried(200, "<CompleteMultipartUploadResult><ETag>\"e\"</ETag></CompleteMultipartUploadResult>"));
    assert_false(retried(200, NULL));
    assert_false(retried(400, ERR("EntityTooSmall")));
    assert_false(retried(400, ERR("InvalidPart")));
    assert_false(retried(400, ERR("RequestTimeTooSkewed")));
    assert_false(retried(400, ERR("ExpiredToken")));
    assert_false(retried(400, NULL));
    assert_false(retried(403, ERR("SignatureDoesNotMatch")));
    assert_false(retried(403, ERR("AccessDenied")));
    assert_false(retried(403, ERR("InvalidAccessKeyId")));
    assert_false(retried(404, ERR("NoSuchBucket")));
    assert_false(retried(404, ERR("NoSuchUpload")));
    assert_false(retried(200, ERR("AccessDenied")));
    assert_false(retried(400, "<Error><Code>RequestTimeout</Code>"));   /* cut short: unknown */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_document),
        cmocka_unit_test(test_list_page),
        cmocka_unit_test(test_list_last_and_empty_pages),
        cmocka_unit_test(test_list_malformed),
        cmocka_unit_test(test_deep_nesting_refused),
        cmocka_unit_test(test_upload_id_and_completion),
        cmocka_unit_test(test_entities_and_cdata),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_sigv4_encoding),
        cmocka_unit_test(test_addressing_styles),
        cmocka_unit_test(test_retry_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
