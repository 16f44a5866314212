#!/usr/bin/env python3
"""A proxy in front of an S3 server that cuts the connection in the middle
of the first GET of every object (after the headers and half the body), so
that tests can see a read pick up where it stopped.  Used by store_s3.sh.

  store_s3_cut.py --port P --upstream http://127.0.0.1:PORT --log FILE

Every forwarded request is logged to FILE as "METHOD PATH|Range|If-Match".
"""

import argparse
import http.client
import http.server
import socketserver
import threading
import urllib.parse

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        srv = self.server
        with srv.lock:
            with open(srv.args.log, "a") as f:
                f.write("%s %s|%s|%s\n" % (self.command, self.path, self.headers.get("Range", ""),
                                            self.headers.get("If-Match", "")))
            path = urllib.parse.urlsplit(self.path).path
            cut = self.command == "GET" and "Range" not in self.headers and path not in srv.cut_done
            if cut:
                srv.cut_done.add(path)
        up = urllib.parse.urlsplit(srv.args.upstream)
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=120)
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in self.headers.items():
            if k.lower() not in HOP:
                conn.putheader(k, v)
        conn.endheaders(body if body else None)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        cut = cut and resp.status == 200 and len(data) > 1
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() in HOP or k.lower() == "content-length":
                continue
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if cut:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.args = args
    srv.lock = threading.Lock()
    srv.cut_done = set()
    srv.serve_forever()


if __name__ == "__main__":
    main()
