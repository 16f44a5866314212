#!/usr/bin/env python3
"""A slow, pausable proxy in front of an S3 server (s3rver), for the
console's progress dialog tests (a long operation whose pace the test sets)
and the ingest crash test (a copy whose answer never comes).

Every request is forwarded unchanged (the Host header too, so signatures
made for the proxy's address still verify upstream).  Response bodies of
GET requests are sent at --rate bytes per second, and not at all while
paused, so an ingest's progress moves, stalls and moves again on cue.
With --put-rate, PUT request bodies are passed on to the server as they
arrive, at that many bytes per second (a streaming upload the test can
interrupt halfway: put_bytes says how far it got; a body the client never
finished is never completed upstream, so the server stores nothing).

  POST /_proxy/pause               stop sending GET bodies (connections stay open)
  POST /_proxy/resume              carry on
  POST /_proxy/rate {"bytes_per_second": N}
  POST /_proxy/hold_copies         forward CopyObject requests (PUT with
                                   x-amz-copy-source) but hold their answers:
                                   the server has made the copy, the client
                                   does not know yet (a crash test kills it
                                   there)
  POST /_proxy/release_copies      send the held answers, stop holding
  GET  /_proxy/stats               {"paused", "rate", "get_bytes", "put_bytes",
                                    "copies", "held_copies"}

Listens on 127.0.0.1 only; stops on SIGTERM.
"""

import argparse
import http.client
import http.server
import json
import signal
import socketserver
import sys
import threading
import time

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
CHUNK = 16 * 1024


class State:
    def __init__(self, args):
        self.upstream_host = args.upstream_host
        self.upstream_port = args.upstream_port
        self.rate = args.rate
        self.running = threading.Event()
        self.running.set()
        self.lock = threading.Lock()
        self.get_bytes = 0
        self.copies = 0
        self.held_copies = 0
        self.hold_copies = False
        self.copies_released = threading.Event()
        self.copies_released.set()
        self.put_rate = args.put_rate
        self.put_bytes = 0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(parts)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def control(self, body):
        st = self.server.state
        if self.path == "/_proxy/pause":
            st.running.clear()
        elif self.path == "/_proxy/resume":
            st.running.set()
        elif self.path == "/_proxy/rate":
            st.rate = int(json.loads(body or b"{}").get("bytes_per_second", st.rate))
        elif self.path == "/_proxy/hold_copies":
            st.hold_copies = True
            st.copies_released.clear()
        elif self.path == "/_proxy/release_copies":
            st.hold_copies = False
            st.copies_released.set()
        out = json.dumps({"paused": not st.running.is_set(), "rate": st.rate,
                          "get_bytes": st.get_bytes, "put_bytes": st.put_bytes,
                          "copies": st.copies, "held_copies": st.held_copies}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def answer_whole(self, resp, data):
        """Sends the upstream answer resp, whose body data was read whole."""
        self.send_response_only(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def forward_put(self):
        """Passes the body on as it comes, paced; stops (and drops the
        upstream request unfinished) when the client goes away."""
        st = self.server.state
        n = int(self.headers.get("Content-Length") or 0)
        conn = http.client.HTTPConnection(st.upstream_host, st.upstream_port, timeout=120)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                if k.lower() not in HOP:
                    conn.putheader(k, v)
            conn.endheaders()
            while n > 0:
                data = self.rfile.read(min(n, CHUNK))
                if not data:
                    self.close_connection = True
                    return
                time.sleep(len(data) / max(st.put_rate, 1))
                conn.send(data)
                n -= len(data)
                with st.lock:
                    st.put_bytes += len(data)
            resp = conn.getresponse()
            data = resp.read()
            self.answer_whole(resp, data)
        finally:
            conn.close()

    def forward(self):
        if self.command == "PUT" and self.server.state.put_rate and not self.path.startswith("/_proxy/") \
                and int(self.headers.get("Content-Length") or 0) > 0:
            return self.forward_put()
        body = self.read_body()
        if self.path.startswith("/_proxy/"):
            self.control(body)
            return
        st = self.server.state
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        if body or self.command in ("PUT", "POST"):
            headers["Content-Length"] = str(len(body))
        conn = http.client.HTTPConnection(st.upstream_host, st.upstream_port, timeout=120)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in headers.items():
                conn.putheader(k, v)
            conn.endheaders(body if body else None)
            resp = conn.getresponse()
            if self.command == "PUT" and any(k.lower() == "x-amz-copy-source" for k in headers):
                with st.lock:
                    st.copies += 1
                if st.hold_copies:
                    self.answer_held_copy(resp)
                    return
            self.send_response_only(resp.status, resp.reason)
            length = resp.getheader("Content-Length")
            for k, v in resp.getheaders():
                if k.lower() not in HOP:
                    self.send_header(k, v)
            if self.command == "HEAD" or resp.status in (204, 304):
                self.end_headers()
                return
            if length is None:
                data = resp.read()
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            self.end_headers()
            slow = self.command == "GET"
            while True:
                data = resp.read(CHUNK)
                if not data:
                    break
                if slow:
                    st.running.wait()
                    time.sleep(len(data) / max(st.rate, 1))
                    with st.lock:
                        st.get_bytes += len(data)
                self.wfile.write(data)
                self.wfile.flush()
        finally:
            conn.close()

    def answer_held_copy(self, resp):
        data = resp.read()   # the copy is made upstream
        with self.server.state.lock:
            self.server.state.held_copies += 1
        self.server.state.copies_released.wait()
        try:
            self.answer_whole(resp, data)
        except OSError:
            pass   # the client was killed while it waited: that was the point

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True, help="http://127.0.0.1:PORT")
    ap.add_argument("--rate", type=int, default=1 << 20, help="GET body bytes per second")
    ap.add_argument("--put-rate", type=int, default=0, help="PUT body bytes per second (0: read whole, then sent)")
    args = ap.parse_args()
    hostport = args.upstream.split("://", 1)[-1].rstrip("/")
    args.upstream_host, port = hostport.rsplit(":", 1)
    args.upstream_port = int(port)
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.state = State(args)
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=srv.shutdown).start())
    srv.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
