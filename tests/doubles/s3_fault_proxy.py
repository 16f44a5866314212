#!/usr/bin/env python3
"""A fault-injecting proxy in front of an S3 server (moto), for the copy tests.

moto cannot answer 503 SlowDown or a 200 carrying <Error>, which real S3
does; this proxy forwards every request unchanged (the Host header too, so
SigV4 signatures made for the proxy's address still verify upstream) and
injects those answers:

  --fail-part N      the Nth UploadPart request (1-based) gets 503 SlowDown
  --fail-parts K     ... and so do the K-1 UploadPart requests after it (default 1)
  --complete-error K the first K CompleteMultipartUpload requests get HTTP 200
                     with an <Error> body (K = -1: every one); they are not
                     forwarded, so the upload stays incomplete, as on S3
  --fail "METHOD PATH CODE [TIMES]"   (repeatable) the first TIMES (default 1;
                     -1: every one) METHOD requests for exactly PATH (the
                     decoded path, query aside; UploadPart excluded) get,
                     after their whole body was read: CODE SlowDown (503),
                     InternalError (500) or AccessDenied (403) as S3 words
                     them, or CODE reset: the connection is closed unanswered.
                     Not forwarded, so nothing changes upstream.

GET /_proxy/stats answers {"upload_parts": n, "completes": n, "injected": n,
"requests": n, "failed": {"METHOD PATH": n injected}}.
"""

import argparse
import http.client
import http.server
import json
import socket
import socketserver
import sys
import threading
import urllib.parse

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.parts = 0
        self.completes = 0
        self.injected = 0
        self.requests = 0
        self.rules = []
        for spec in args.fail:
            f = spec.split()
            if len(f) not in (3, 4) or f[2] not in CODES:
                sys.exit("--fail wants 'METHOD PATH CODE [TIMES]' with CODE one of " + ", ".join(CODES))
            self.rules.append({"method": f[0], "path": f[1], "code": f[2],
                               "times": int(f[3]) if len(f) == 4 else 1, "hits": 0})


CODES = {
    "SlowDown": (503, "Please reduce your request rate."),
    "InternalError": (500, "We encountered an internal error. Please try again."),
    "AccessDenied": (403, "Access Denied"),
    "reset": (0, ""),
}


def s3_error(code, message):
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message>"
            "<RequestId>proxy-injected</RequestId></Error>" % (code, message)).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if self.server.state.args.verbose:
            sys.stderr.write("%s %s\n" % (self.command, self.path))

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        chunks = []
        while n > 0:
            c = self.rfile.read(min(n, 1 << 20))
            if not c:
                break
            chunks.append(c)
            n -= len(c)
        return b"".join(chunks)

    def answer(self, status, body, ctype="application/xml"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def injected(self, body):
        st = self.server.state
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query, keep_blank_values=True)
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        with st.lock:
            if "partNumber" not in q:
                for r in st.rules:
                    if r["method"] == self.command and r["path"] == path and (r["times"] == -1 or r["hits"] < r["times"]):
                        r["hits"] += 1
                        st.injected += 1
                        status, message = CODES[r["code"]]
                        return status, s3_error(r["code"], message) if status else b""
            if self.command == "PUT" and "partNumber" in q and "uploadId" in q:
                st.parts += 1
                first = st.args.fail_part
                if first and first <= st.parts < first + st.args.fail_parts:
                    st.injected += 1
                    return 503, s3_error("SlowDown", "Please reduce your request rate.")
            if self.command == "POST" and "uploadId" in q:
                st.completes += 1
                k = st.args.complete_error
                if k == -1 or st.completes <= k:
                    st.injected += 1
                    return 200, s3_error("InternalError", "We encountered an internal error. Please try again.")
        return None

    def handle_any(self):
        body = self.read_body()
        if self.path.startswith("/_proxy/stats"):
            st = self.server.state
            with st.lock:
                d = {"requests": st.requests, "upload_parts": st.parts, "completes": st.completes, "injected": st.injected,
                     "failed": {r["method"] + " " + r["path"]: r["hits"] for r in st.rules}}
            return self.answer(200, json.dumps(d).encode(), "application/json")
        with self.server.state.lock:
            self.server.state.requests += 1
        fault = self.injected(body)
        if fault and fault[0] == 0:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault:
            return self.answer(fault[0], fault[1])
        up = self.server.upstream
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        if "Content-Length" not in self.headers and body:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body if body else None)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() in HOP or (k.lower() == "content-length" and self.command != "HEAD"):
                continue
            self.send_header(k, v)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True, help="http://127.0.0.1:PORT of the real server")
    ap.add_argument("--fail-part", type=int, default=0)
    ap.add_argument("--fail-parts", type=int, default=1)
    ap.add_argument("--complete-error", type=int, default=0)
    ap.add_argument("--fail", action="append", default=[], metavar="'METHOD PATH CODE [TIMES]'")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.upstream = urllib.parse.urlsplit(args.upstream)
    srv.state = State(args)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
