"""Shared machinery of lakeop's test doubles (Zuora AQuA, Airflow).

A threaded HTTP/1.1 server on 127.0.0.1, a virtual clock tests can move
forward, fault injection, per-path request counters, a log of the last
answers and the recorded request bodies.  Each double subclasses
DoubleHandler and implements route(req) -> Response; everything under
/_control/ that is common (fault, stats, requests, reset, advance) is
answered here, the rest goes to control(req).

Python 3.11 standard library only.
"""

import collections
import json
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG_KEEP = 500
REQUESTS_KEEP = 2000
CHUNK = 1 << 20


class Response:
    """One answer.  Either body (bytes) or stream (an iterable of
    bytes-like chunks whose total is length) is set."""

    def __init__(self, status, body=b"", ctype="application/json",
                 headers=None, stream=None, length=None):
        self.status = status
        self.body = body
        self.ctype = ctype
        self.headers = list(headers or [])
        self.stream = stream
        self.length = len(body) if stream is None else length


def json_response(status, obj, ctype="application/json", headers=None):
    data = json.dumps(obj, indent=1).encode()
    return Response(status, data, ctype, headers)


class Request:
    def __init__(self, method, raw_path, headers, body):
        self.method = method
        parts = urllib.parse.urlsplit(raw_path)
        self.raw_path = parts.path
        # Segments are percent-decoded one by one so that an encoded '/'
        # inside a run id stays inside its segment.
        self.segments = [urllib.parse.unquote(s) for s in parts.path.split("/")[1:]]
        self.path = urllib.parse.unquote(parts.path)
        self.query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        self.headers = headers
        self.body = body

    def arg(self, name, default=None):
        vals = self.query.get(name)
        return vals[-1] if vals else default

    def json(self):
        """The body as JSON; raises ValueError when it is not."""
        if not self.body:
            raise ValueError("empty body")
        return json.loads(self.body.decode("utf-8"))

    def form(self):
        text = self.body.decode("utf-8", "replace")
        return {k: v[-1] for k, v in urllib.parse.parse_qs(text, keep_blank_values=True).items()}


class Fault:
    def __init__(self, spec):
        match = str(spec.get("match", "")).strip()
        if " " in match:
            self.method, self.prefix = match.split(" ", 1)
        else:
            self.method, self.prefix = "*", match
        self.method = self.method.upper()
        self.prefix = self.prefix.strip()
        self.status = spec.get("status")
        self.body = spec.get("body")
        self.retry_after = spec.get("retry_after")
        self.delay_ms = int(spec.get("delay_ms", 0) or 0)
        self.truncate_after = spec.get("truncate_after")
        self.malformed_json = bool(spec.get("malformed_json", False))
        self.drop = bool(spec.get("drop", False))
        self.times = int(spec.get("times", 1))
        self.spec = spec

    def matches(self, req):
        if self.method not in ("*", req.method):
            return False
        return req.raw_path.startswith(self.prefix) or req.path.startswith(self.prefix)


class DoubleState:
    """Shared by every handler thread; guard with .lock."""

    def __init__(self):
        self.lock = threading.RLock()
        self.started = time.time()
        self.offset = 0.0
        self.reset_common()

    def reset_common(self):
        self.offset = 0.0
        self.faults = []
        self.counts = collections.Counter()
        self.log = collections.deque(maxlen=LOG_KEEP)
        self.recorded = collections.deque(maxlen=REQUESTS_KEEP)

    def now(self):
        """The virtual clock: wall time plus whatever tests advanced."""
        return time.time() + self.offset

    def take_fault(self, req):
        with self.lock:
            for f in self.faults:
                if f.times != 0 and f.matches(req):
                    if f.times > 0:
                        f.times -= 1
                    return f
        return None

    def stats_extra(self):
        return {}


def problem_default(status):
    return json.dumps({"error": "injected fault", "status": status}).encode()


class DoubleHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Answers go out in pieces (headers, then body); without TCP_NODELAY a
    # kept-alive connection waits ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True
    server_version = "lakeop-double/1"
    sys_version = ""
    state = None          # set by serve()
    fault_ctype = "application/json"

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if getattr(self.server, "verbose", False):
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_HEAD(self):
        self.dispatch("HEAD")

    # Overridden by each double.
    def route(self, req):
        return json_response(404, {"error": "no route"})

    def control(self, req):
        return None

    def fault_body(self, status):
        return problem_default(status)

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def dispatch(self, method):
        body = self.read_body()
        req = Request(method, self.path, self.headers, body)
        st = self.state
        if req.path.startswith("/_control/"):
            try:
                resp = self.common_control(req)
                if resp is None:
                    resp = self.control(req)
                if resp is None:
                    resp = json_response(404, {"error": "unknown control %s %s" % (method, req.path)})
            except ValueError as e:
                resp = json_response(400, {"error": "bad control request: %s" % e})
            self.send(resp, None)
            return

        with st.lock:
            st.counts["%s %s" % (method, req.path)] += 1
            rec = {"method": method, "path": req.path, "query": self.path.partition("?")[2],
                   "content_type": self.headers.get("Content-Type"),
                   "authorization": self.headers.get("Authorization"),
                   "accept": self.headers.get("Accept"), "t": st.now()}
            try:
                rec["body"] = json.loads(body.decode("utf-8")) if body else None
            except (ValueError, UnicodeDecodeError):
                rec["body"] = body.decode("utf-8", "replace")
            st.recorded.append(rec)

        fault = st.take_fault(req)
        if fault is not None:
            if fault.delay_ms:
                time.sleep(fault.delay_ms / 1000.0)
            if fault.drop:
                self.log_answer(req, 0)
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if fault.status is not None:
                hdrs = []
                if fault.retry_after is not None:
                    hdrs.append(("Retry-After", str(fault.retry_after)))
                if fault.body is not None:
                    data = fault.body.encode() if isinstance(fault.body, str) else json.dumps(fault.body).encode()
                else:
                    data = self.fault_body(int(fault.status))
                resp = Response(int(fault.status), data, self.fault_ctype, hdrs)
                if fault.truncate_after is None and not fault.malformed_json:
                    self.log_answer(req, resp.status)
                    self.send(resp, None)
                    return
            else:
                resp = None
        else:
            resp = None

        if resp is None:
            try:
                resp = self.route(req)
            except Exception as e:  # a bug in the double must still answer
                resp = json_response(500, {"error": "double crashed: %r" % (e,)})
        if fault is not None and fault.malformed_json:
            data = resp.body if resp.stream is None else b'{"x":1}'
            cut = data[: max(1, len(data) // 2)] + b'<<not json'
            resp = Response(resp.status, cut, resp.ctype, resp.headers)
        self.log_answer(req, resp.status)
        self.send(resp, fault.truncate_after if fault is not None else None)

    def log_answer(self, req, status):
        st = self.state
        with st.lock:
            st.log.append({"method": req.method, "path": req.path, "status": status,
                           "t": round(st.now(), 3)})

    def send(self, resp, truncate_after):
        self.send_response(resp.status)
        if resp.ctype:
            self.send_header("Content-Type", resp.ctype)
        for k, v in resp.headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(resp.length))
        if truncate_after is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        limit = None if truncate_after is None else int(truncate_after)
        try:
            if resp.stream is None:
                data = resp.body if limit is None else resp.body[:limit]
                self.wfile.write(data)
            else:
                sent = 0
                for chunk in resp.stream:
                    if limit is not None and sent + len(chunk) > limit:
                        self.wfile.write(chunk[: limit - sent])
                        break
                    self.wfile.write(chunk)
                    sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return
        if limit is not None:
            self.close_connection = True
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def common_control(self, req):
        st = self.state
        p = req.path
        if p == "/_control/fault" and req.method == "POST":
            spec = req.json()
            specs = spec if isinstance(spec, list) else [spec]
            with st.lock:
                for s in specs:
                    if not isinstance(s, dict) or "match" not in s:
                        raise ValueError("a fault needs \"match\": \"METHOD /path-prefix\"")
                    st.faults.append(Fault(s))
            return json_response(200, {"faults": len(st.faults)})
        if p == "/_control/fault" and req.method == "DELETE":
            with st.lock:
                st.faults = []
            return json_response(200, {"faults": 0})
        if p == "/_control/stats" and req.method == "GET":
            with st.lock:
                out = {"requests": dict(st.counts), "log": list(st.log),
                       "faults_pending": [dict(f.spec, times=f.times) for f in st.faults if f.times != 0],
                       "now": st.now()}
                out.update(self.state.stats_extra())
            return json_response(200, out)
        if p == "/_control/requests" and req.method == "GET":
            path = req.arg("path")
            prefix = req.arg("prefix")
            method = req.arg("method")
            with st.lock:
                rows = [r for r in st.recorded
                        if (path is None or r["path"] == path)
                        and (prefix is None or r["path"].startswith(prefix))
                        and (method is None or r["method"] == method.upper())]
            return json_response(200, {"requests": rows})
        if p == "/_control/advance" and req.method == "POST":
            secs = float(req.json().get("seconds", 0))
            if secs < 0:
                raise ValueError("seconds must not be negative")
            with st.lock:
                st.offset += secs
            return json_response(200, {"now": st.now(), "offset": st.offset})
        if p == "/_control/health":
            return json_response(200, {"ok": True})
        return None


def serve(handler_cls, state, port, verbose=False):
    """Runs until SIGTERM/SIGINT; returns after the socket is closed."""
    handler_cls.state = state
    ThreadingHTTPServer.allow_reuse_address = True
    httpd = ThreadingHTTPServer(("127.0.0.1", port), handler_cls)
    httpd.daemon_threads = True
    httpd.verbose = verbose

    def stop(signum, frame):
        # shutdown() waits for serve_forever, so call it from another thread.
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        httpd.serve_forever(poll_interval=0.1)
    finally:
        httpd.server_close()
