#!/usr/bin/env python3
"""A double of Zuora's OAuth + AQuA batch-query API for lakeop's tests.

Follows /work/shared/design/ZUORA.md; the control API and every choice the
reference leaves open are in tests/doubles/README.md.  Jobs move through
their lifecycle by the (virtual) clock read on each request: no threads.
"""

import argparse
import base64
import collections
import copy
import datetime
import hashlib
import json
import math
import os
import re
import sys
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (CHUNK, DoubleHandler, DoubleState, Response,  # noqa: E402
                    json_response, serve)

AUTH_ERROR = {"reasons": [{"code": "90000011", "message": "Authentication error"}]}
CSV_TYPE = "text/csv;charset=UTF-8"
HEX32 = re.compile(r"^[0-9a-f]{32}$")
INCR_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
SELECT = re.compile(r"^\s*select\s+(.*?)\s+from\s+([A-Za-z_]\w*)", re.I | re.S)
FINAL = ("completed", "error", "aborted", "cancelled")
FATES = ("error", "aborted_batch", "stuck_executing", "cancelled", "completed")


def hex32(*parts):
    return hashlib.sha1("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:32]


def num(*parts):
    return int(hashlib.sha1("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:12], 16)


def fmt_time(t, tz=datetime.timezone.utc):
    """A plain Zuora time: wall-clock time in the tenant's zone tz.  ZUORA.md's
    own example says so: job 402881824835bb2a01483c19f7d70256 carries its
    creation instant in its id (0x01483c19f7d7 ms = 2014-09-03 15:20:07 UTC)
    and its startTime is "2014-09-03 08:20:07", Pacific daylight time."""
    return datetime.datetime.fromtimestamp(t, tz).strftime("%Y-%m-%d %H:%M:%S")


def parse_time(text, tz=datetime.timezone.utc):
    """Seeded startTime in either of Zuora's two forms (the plain one in the
    tenant's zone tz); None when neither."""
    for f in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            d = datetime.datetime.strptime(text, f)
        except (TypeError, ValueError):
            continue
        if d.tzinfo is None:
            d = d.replace(tzinfo=tz)
        return d.timestamp()
    return None


def aqua_error(code, message):
    """AQuA reports its own errors with HTTP 200 (see ZUORA.md)."""
    return json_response(200, {"status": "error", "errorCode": code, "message": message})


def reasons(status, code, message):
    return json_response(status, {"success": False, "reasons": [{"code": code, "message": message}]})


# ---- CSV generation -------------------------------------------------------

def csv_field(v):
    if any(c in v for c in ',"\n\r'):
        return '"' + v.replace('"', '""') + '"'
    return v


def columns_of(query, obj_hint, use_labels):
    """(object, [(header, field)]) from a ZOQL SELECT; falls back to Id, Name."""
    m = SELECT.match(query or "")
    obj = m.group(2) if m else (obj_hint or "Object")
    cols = []
    if m:
        for item in m.group(1).split(","):
            item = item.strip()
            if not item or item == "*":
                continue
            parts = re.split(r"\s+as\s+", item, flags=re.I)
            field = parts[0].strip()
            label = parts[1].strip().strip("'\"") if len(parts) > 1 else None
            if use_labels and label:
                header = label
            elif "." in field:
                header = field
            else:
                header = "%s.%s" % (obj, field)
            cols.append((header, field))
    if not cols:
        cols = [("%s.Id" % obj, "Id"), ("%s.Name" % obj, "Name")]
    return obj, cols


QUOTED_NOTE = 'Note line one\nline two with "quoted" text'


def value_for(obj, field, i, seed):
    f = field.split(".")[-1].lower()
    h = num(obj, field, i, seed)
    if f == "id":
        return hex32(obj, field.split(".")[0] if "." in field else obj, i)
    if f.endswith("id"):
        return hex32(obj, field, i % 97)
    if f in ("createddate", "updateddate") or f.endswith("time") or f.endswith("on"):
        return "2024-%02d-%02dT%02d:%02d:%02d+00:00" % (1 + h % 12, 1 + h % 28, h % 24, h % 60, (h >> 8) % 60)
    if "date" in f:
        return "2024-%02d-%02d" % (1 + h % 12, 1 + h % 28)
    if any(k in f for k in ("amount", "balance", "price", "total", "tax", "quantity")):
        return "%d.%02d" % (h % 10000, h % 100)
    if "currency" in f:
        return ("GBP", "USD", "EUR", "AUD")[h % 4]
    if "status" in f:
        return ("Active", "Cancelled", "Draft", "Expired")[h % 4]
    if f.startswith("is") or f.startswith("auto"):
        return ("true", "false")[h % 2]
    if "number" in f:
        return "A-S%08d" % i
    if "name" in f:
        return "%s %d" % (obj, i)
    return "v%d-%d" % (i, h % 1000)


class QueryFile:
    """A batch's CSV generated on demand from the query, so a file never
    sits in memory longer than its own request."""

    def __init__(self, query, obj_hint, use_labels, deleted, start, count,
                 incremental, seed, quoted_every=50):
        self.obj, self.cols = columns_of(query, obj_hint, use_labels)
        self.deleted = deleted
        self.start, self.count = start, count
        self.incremental = incremental
        self.seed = seed
        self.quoted_every = quoted_every

    def text_column(self):
        for n, (_, field) in enumerate(self.cols):
            if "name" in field.lower():
                return n
        return len(self.cols) - 1

    def rows(self):
        header = []
        if self.deleted:
            header.append("%s.%s" % (self.obj, self.deleted.get("column", "IsDeleted")))
        header += [h for h, _ in self.cols]
        yield ",".join(csv_field(h) for h in header) + "\n"
        tcol = self.text_column()
        numeric = self.deleted and str(self.deleted.get("format", "")).lower() == "numeric"
        for i in range(self.start, self.start + self.count):
            vals = []
            if self.deleted:
                gone = self.incremental and i % 10 == 3
                vals.append(("1" if gone else "0") if numeric else ("true" if gone else "false"))
            for n, (_, field) in enumerate(self.cols):
                if n == tcol and self.quoted_every and i % self.quoted_every == self.quoted_every - 1:
                    vals.append(QUOTED_NOTE)
                else:
                    vals.append(value_for(self.obj, field, i, self.seed))
            yield ",".join(csv_field(v) for v in vals) + "\n"

    def response(self):
        data = "".join(self.rows()).encode()
        return Response(200, data, CSV_TYPE)


class LiteralFile:
    def __init__(self, data):
        self.data = data

    def response(self):
        return Response(200, self.data, CSV_TYPE)


class BlockFile:
    """A big deterministic CSV: a header, then `records` records of exactly
    `record_bytes` bytes each, served by repeating one prebuilt buffer, so
    its length is arithmetic and serving it costs no Python per record.
    Ids repeat every `quoted_every` records."""

    MIN_RECORD = 80

    def __init__(self, file_id, records, quoted_every=50, record_bytes=100, obj="Account"):
        if records < 0:
            raise ValueError("records must be >= 0")
        if record_bytes < self.MIN_RECORD:
            raise ValueError("record_bytes must be >= %d" % self.MIN_RECORD)
        self.records, self.rb = records, record_bytes
        self.header = ("%s.IsDeleted,%s.Id,%s.Name\n" % (obj, obj, obj)).encode()
        period = quoted_every if quoted_every and quoted_every > 0 else 50
        block = bytearray()
        for j in range(period):
            prefix = "false,%s," % hex32(file_id, j)
            if quoted_every and j == period - 1:
                core = '"Line one\nline ""two"" '
                pad = record_bytes - len(prefix) - len(core) - 2
                rec = prefix + core + "x" * pad + '"\n'
            else:
                core = "Name %d " % j
                pad = record_bytes - len(prefix) - len(core) - 1
                rec = prefix + core + "y" * pad + "\n"
            enc = rec.encode()
            assert len(enc) == record_bytes
            block += enc
        reps = max(1, CHUNK // len(block))
        self.buf = bytes(block) * reps

    def length(self):
        return len(self.header) + self.records * self.rb

    def chunks(self):
        yield self.header
        body = self.records * self.rb
        view = memoryview(self.buf)
        full, rem = divmod(body, len(self.buf))
        for _ in range(full):
            yield view
        if rem:
            yield view[:rem]

    def response(self):
        return Response(200, b"", CSV_TYPE, stream=self.chunks(), length=self.length())


# ---- state ------------------------------------------------------------------

class Job:
    """A job the double made from a submit; its status follows the clock."""

    def __init__(self, seq, jid, req, submitted, batches, fate):
        self.seq = seq
        self.id = jid
        self.req = req
        self.submitted = submitted
        self.batches = batches
        self.fate = fate or {}
        self.cancelled_at = None
        self.settled = False
        self.seeded = False

    @property
    def partner(self):
        return self.req.get("partner")

    @property
    def project(self):
        return self.req.get("project")


class SeededJob:
    def __init__(self, seq, data):
        self.seq = seq
        self.id = data["id"]
        self.data = data
        self.seeded = True
        self.settled = False

    @property
    def partner(self):
        return self.data.get("partner")

    @property
    def project(self):
        return self.data.get("project")


class ZuoraState(DoubleState):
    def __init__(self, args):
        super().__init__()
        self.args = args
        # The tenant's zone: plain startTimes are written in it (ZUORA.md).
        self.tz = zoneinfo.ZoneInfo(args.timezone)
        self.id_counter = 0
        self.tokens = {}
        self.reset()

    def reset(self):
        with self.lock:
            self.reset_common()
            self.jobs = collections.OrderedDict()
            self.sessions = {}
            self.files = {}
            self.fates_next = collections.deque()
            self.bad_partners = set(self.args.bad_partner or [])
            self.tokens_issued = 0
            self.seq = 0
            if self.args.seed:
                with open(self.args.seed, encoding="utf-8") as fh:
                    self.load_seed(json.load(fh))

    def stats_extra(self):
        return {"tokens_issued": self.tokens_issued, "jobs": len(self.jobs)}

    def next_id(self, kind):
        self.id_counter += 1
        return hex32("lakeop-double", kind, self.id_counter)

    def load_seed(self, seed):
        if isinstance(seed, dict):
            for p in seed.get("bad_partners", []):
                self.bad_partners.add(p)
            for f in seed.get("files", []):
                self.add_file(f)
            seed = seed.get("jobs", [])
        for j in seed:
            self.add_seeded(j)

    # -- sessions
    def session(self, partner, project):
        return self.sessions.setdefault((partner, project), {"queries": {}, "last_end": None})

    def settle(self, now):
        """Completed jobs move their session forward, in submit order."""
        for job in self.jobs.values():
            if job.settled:
                continue
            view = self.view(job, now)
            if view["status"] not in FINAL:
                continue
            job.settled = True
            if view["status"] != "completed" or not job.partner or not job.project:
                continue
            if job.seeded:
                req_version, incr = job.data.get("version", "1.1"), None
                start = parse_time(job.data.get("startTime"), self.tz)
            else:
                req_version, incr = job.req.get("version"), job.req.get("incrementalTime")
                start = job.submitted
            if str(req_version) not in ("1.1", "1.2") or incr:
                continue  # stateless, or incrementalTime: the session stays put
            sess = self.session(job.partner, job.project)
            for b in view["batches"]:
                if b.get("status") == "completed" and b.get("query") is not None:
                    deleted = (b.get("deleted") or {}).get("column")
                    sess["queries"][b["name"]] = {"query": b["query"], "deleted": deleted}
            if start is not None:
                sess["last_end"] = start

    # -- seeding
    def add_seeded(self, data):
        if not isinstance(data, dict):
            raise ValueError("a seeded job is a JSON object")
        data = copy.deepcopy(data)
        data.setdefault("id", self.next_id("job"))
        data.setdefault("batches", [])
        data.setdefault("status", "completed")
        if not isinstance(data["batches"], list):
            raise ValueError("batches must be a list")
        self.seq += 1
        job = SeededJob(self.seq, data)
        self.jobs[job.id] = job
        for b in data["batches"]:
            if isinstance(b, dict):
                self.files_for_seeded_batch(job, b)
        return job

    def files_for_seeded_batch(self, job, b):
        """A seeded completed batch's files exist unless a test registered
        them: generated from its query (or Id, Name) with recordCount records."""
        count = int(b.get("recordCount") or 0)
        ids = list(b.get("segments") or []) or ([b["fileId"]] if b.get("fileId") else [])
        per = math.ceil(count / len(ids)) if ids else 0
        for n, fid in enumerate(ids):
            if fid in self.files:
                continue
            start = n * per
            self.files[fid] = QueryFile(b.get("query"), b.get("name"), True, None,
                                        start, max(0, min(per, count - start)),
                                        not b.get("full", True), fid)

    def add_file(self, spec):
        fid = spec.get("fileId")
        if not isinstance(fid, str) or not fid:
            raise ValueError("fileId is required")
        if "content" in spec:
            self.files[fid] = LiteralFile(str(spec["content"]).encode())
        elif "content_b64" in spec:
            self.files[fid] = LiteralFile(base64.b64decode(spec["content_b64"]))
        elif "records" in spec:
            self.files[fid] = BlockFile(fid, int(spec["records"]),
                                        int(spec.get("quoted_newline_every", 50)),
                                        int(spec.get("record_bytes", 100)),
                                        str(spec.get("object", "Account")))
        else:
            raise ValueError("give content, content_b64 or records")
        return fid

    # -- job views
    def view(self, job, now):
        if job.seeded:
            return copy.deepcopy(job.data)
        return self.generated_view(job, now)

    def generated_view(self, job, now):
        req = job.req
        js = self.args.job_seconds
        e = now - job.submitted
        fate = job.fate.get("fate", "completed")
        n = len(job.batches)
        done_at = [job.submitted + js / 3.0 + (2.0 * js / 3.0) * (i + 1) / n for i in range(n)]
        victim = self.victim_index(job)
        end = job.submitted + js

        cancelled = job.cancelled_at is not None and now >= job.cancelled_at
        held_end = {"error": "executing", "aborted_batch": "aborted", "cancelled": "cancelled"}
        batches = []
        first_open = True
        for i, b in enumerate(job.batches):
            holds = fate in held_end and i == victim
            done = (now >= done_at[i] and not holds and fate != "stuck_executing"
                    and (job.cancelled_at is None or done_at[i] <= job.cancelled_at))
            if done:
                status = "completed"
            elif cancelled:
                status = "cancelled"
            elif e < js / 3.0:
                status = "pending"
            elif holds and now >= end:
                status = held_end[fate]
            elif first_open or fate == "stuck_executing":
                status = "executing"
                first_open = False
            else:
                status = "pending"
            out = {"batchId": b["batchId"], "name": b["name"], "query": b["query"],
                   "batchType": b["type"], "apiVersion": b["apiVersion"], "full": b["full"],
                   "recordCount": 0, "status": status, "localizedStatus": status, "message": ""}
            if b.get("deleted") is not None:
                out["deleted"] = b["deleted"]
            if status == "completed":
                out["recordCount"] = b["records"]
                if b["segments"]:
                    out["segments"] = list(b["segments"])
                else:
                    out["fileId"] = b["fileId"]
            if status == "aborted":
                out["message"] = job.fate.get("message") or \
                    "Query execution exceeded its time limit (errorCode 90027)"
            batches.append(out)

        if cancelled:
            jstatus = "cancelled"
        elif e < js / 3.0 and js > 0:
            jstatus = "submitted"
        elif now < end or fate == "stuck_executing":
            jstatus = "executing"
        elif fate == "error":
            jstatus = "error"
        elif fate == "cancelled":
            jstatus = "cancelled"
        elif fate == "aborted_batch":
            jstatus = job.fate.get("job_status", "aborted")
        else:
            jstatus = "completed"
        view = {"id": job.id, "name": req.get("name", ""), "status": jstatus,
                "version": str(req.get("version")), "format": str(req.get("format")).upper(),
                "encrypted": req.get("encrypted", "none"),
                "startTime": fmt_time(job.submitted, self.tz), "batches": batches}
        if req.get("partner") is not None:
            view["partner"] = req["partner"]
        if req.get("project") is not None:
            view["project"] = req["project"]
        return view

    def victim_index(self, job):
        name = job.fate.get("batch")
        for i, b in enumerate(job.batches):
            if b["name"] == name:
                return i
        return len(job.batches) - 1

    def file_available(self, fid, now):
        """A job's file exists once its batch completed (not before)."""
        owner = getattr(self.files.get(fid), "owner", None)
        if owner is None:
            return fid in self.files
        job_id, name = owner
        job = self.jobs.get(job_id)
        if job is None:
            return False
        for b in self.view(job, now)["batches"]:
            if b["name"] == name:
                return b["status"] == "completed"
        return False


# ---- submit -------------------------------------------------------------------

def validate_submit(st, body):
    """Returns (error Response or None, stateful)."""
    if not isinstance(body, dict):
        return aqua_error("90010", "The request body must be a JSON object"), False
    fmt = body.get("format")
    if not isinstance(fmt, str) or fmt.lower() not in ("csv", "gzip", "zip"):
        return aqua_error("90010", "Invalid format %r: expected csv, gzip or zip" % (fmt,)), False
    version = body.get("version")
    if str(version) not in ("1.0", "1.1", "1.2"):
        return aqua_error("90010", "Invalid version %r: expected 1.0, 1.1 or 1.2" % (version,)), False
    partner, project = body.get("partner"), body.get("project")
    stateful = str(version) in ("1.1", "1.2") and bool(partner) and bool(project)
    queries = body.get("queries")
    if not isinstance(queries, list) or not queries:
        return aqua_error("90016", "There are no queries in the request"), stateful
    if len(queries) > 50:
        return aqua_error("90004", "The number of queries exceeds the limit of 50"), stateful
    names = set()
    for q in queries:
        if not isinstance(q, dict):
            return aqua_error("90010", "Each query must be a JSON object"), stateful
        name, text, typ = q.get("name"), q.get("query"), q.get("type")
        if not isinstance(name, str) or not name:
            return aqua_error("90010", "A query has no name"), stateful
        if name in names:
            return aqua_error("90010", "Duplicate query name %r" % name), stateful
        names.add(name)
        if not isinstance(text, str) or not text.strip():
            return aqua_error("90010", "Query %r has no query text" % name), stateful
        if typ != "zoqlexport":
            return aqua_error("90010", "Query %r: type must be zoqlexport, not %r" % (name, typ)), stateful
        deleted = q.get("deleted")
        if deleted is not None:
            if not stateful:
                return aqua_error("90012", "Stateless mode does not support deleted columns (query %r)" % name), stateful
            if not isinstance(deleted, dict) or not deleted.get("column"):
                return aqua_error("90010", "Query %r: deleted needs a column" % name), stateful
        if "SYNTAXERROR" in text or not SELECT.match(text):
            return aqua_error("90005", "There is a syntax error in one of the queries: %s" % name), stateful
    incr = body.get("incrementalTime")
    if incr is not None and (not isinstance(incr, str) or not INCR_TIME.match(incr) or parse_time(incr) is None):
        return aqua_error("90015", "Invalid incremental time %r: expected yyyy-MM-dd HH:mm:ss" % (incr,)), stateful
    if partner and partner in st.bad_partners:
        return aqua_error("90019", "The partner %r is not recognized" % partner), stateful
    return None, stateful


def submit(st, body, now):
    err, stateful = validate_submit(st, body)
    if err is not None:
        return err
    fate = st.fates_next.popleft() if st.fates_next else {}
    jid = st.next_id("job")
    sess = st.session(body["partner"], body["project"]) if stateful else None
    use_labels = str(body.get("useQueryLabels", "false")).lower() == "true"
    batches = []
    rec_over = fate.get("records") or {}
    for q in body["queries"]:
        bid = st.next_id("batch")
        deleted = q.get("deleted") if stateful else None
        if sess is None:
            full = True
        else:
            known = sess["queries"].get(q["name"])
            full = not (known and known["query"] == q["query"]
                        and known["deleted"] == (deleted or {}).get("column"))
        h = num(bid)
        if q["name"] in rec_over:
            records = int(rec_over[q["name"]])
        elif full:
            records = st.args.full_records + h % 50
        else:
            records = h % (st.args.incremental_records + 1)
        seg_limit = int(fate.get("segment_records") or st.args.segment_records)
        if fate.get("segments") and not fate.get("segment_records"):
            seg_limit = max(1, math.ceil(records / 3))
        b = {"batchId": bid, "name": q["name"], "query": q["query"], "type": q["type"],
             "apiVersion": str(q.get("apiVersion", "91.0")), "full": full,
             "deleted": q.get("deleted"), "records": records, "segments": [], "fileId": None}
        # Only full loads are segmented (ZUORA.md).
        if full and (records > seg_limit or fate.get("segments")):
            nseg = max(1, math.ceil(records / seg_limit))
            for s in range(nseg):
                fid = hex32(bid, "segment", s)
                start = s * seg_limit
                f = QueryFile(q["query"], q["name"], use_labels, deleted, start,
                              min(seg_limit, records - start), False, bid)
                f.owner = (jid, q["name"])
                st.files[fid] = f
                b["segments"].append(fid)
        else:
            fid = hex32(bid, "file")
            start = 0 if full else num(bid) % 100  # updates of full-load ids
            f = QueryFile(q["query"], q["name"], use_labels, deleted, start, records, not full, bid)
            f.owner = (jid, q["name"])
            st.files[fid] = f
            b["fileId"] = fid
        batches.append(b)
    st.seq += 1
    job = Job(st.seq, jid, body, now, batches, fate)
    job.window_start = body.get("incrementalTime") or (sess or {}).get("last_end")
    st.jobs[jid] = job
    view = st.view(job, now)
    view.pop("startTime", None)
    view["status"] = "submitted"
    for b in view["batches"]:
        b.update(status="pending", localizedStatus="pending", recordCount=0, message="")
        b.pop("fileId", None)
        b.pop("segments", None)
    return json_response(200, view)


# ---- handler -----------------------------------------------------------------

class ZuoraHandler(DoubleHandler):
    def fault_body(self, status):
        if status == 429:
            return json.dumps({"message": "You have exceeded the limit of allowed requests"}).encode()
        return json.dumps({"success": False, "reasons": [
            {"code": "5%07d" % status, "message": "Injected HTTP %d" % status}]}).encode()

    def authorised(self, req, now):
        auth = req.headers.get("Authorization") or ""
        if not auth.startswith("Bearer "):
            return False
        exp = self.state.tokens.get(auth[7:].strip())
        return exp is not None and now < exp

    def route(self, req):
        st = self.state
        seg = req.segments
        with st.lock:
            now = st.now()
            if req.path == "/oauth/token":
                if req.method != "POST":
                    return reasons(405, "50000005", "Method not allowed")
                return self.token(req, now)
            if len(seg) > 1 and seg[-1] == "":
                seg = seg[:-1]
            if seg[:1] == ["apps"] and seg[1:3] == ["api", "file"] and len(seg) == 4:
                seg = ["v1", "file", seg[3]]
            if seg[:1] != ["v1"]:
                return reasons(404, "50000040", "No such resource: %s" % req.path)
            if not self.authorised(req, now):
                return json_response(401, AUTH_ERROR)
            st.settle(now)
            if seg == ["v1", "batch-query"] and req.method == "POST":
                try:
                    body = req.json()
                except (ValueError, UnicodeDecodeError):
                    return reasons(400, "50000020", "The request body is not valid JSON")
                resp = submit(st, body, now)
                return resp
            if seg[:3] == ["v1", "batch-query", "jobs"] and len(seg) == 7 \
                    and seg[3] == "partner" and seg[5] == "project" and req.method == "GET":
                return self.last_completed(seg[4], seg[6], now)
            if seg[:3] == ["v1", "batch-query", "jobs"] and len(seg) == 4:
                jid = seg[3]
                job = st.jobs.get(jid)
                if req.method == "GET":
                    if job is None:
                        return aqua_error("90002", "Invalid job id: %s" % jid)
                    return json_response(200, st.view(job, now))
                if req.method == "DELETE":
                    if job is None:
                        return aqua_error("90003", "Invalid job id for cancellation: %s" % jid)
                    return self.cancel(job, now)
            if (seg[:2] == ["v1", "file"] or seg[:3] == ["v1", "batch-query", "file"]) \
                    and req.method in ("GET", "HEAD"):
                fid = seg[-1]
                if seg[:2] == ["v1", "file"] and len(seg) != 3 or \
                        seg[:2] == ["v1", "batch-query"] and len(seg) != 4:
                    return reasons(404, "50000040", "No such resource: %s" % req.path)
                f = st.files.get(fid)
                if f is None or not st.file_available(fid, now):
                    return reasons(404, "50000040", "File not found: %s" % fid)
                # Generating outside the lock would be nicer for big files;
                # job files are small and BlockFile streams lazily.
                return f.response()
            return reasons(404, "50000040", "No such resource: %s %s" % (req.method, req.path))

    def token(self, req, now):
        st = self.state
        form = req.form()
        if form.get("grant_type") != "client_credentials":
            return json_response(400, {"error": "unsupported_grant_type",
                                       "error_description": "grant_type must be client_credentials"})
        if form.get("client_id") != st.args.client_id or form.get("client_secret") != st.args.client_secret:
            return json_response(401, {"reasons": [{"code": "90000011",
                                                    "message": "Invalid client credentials"}]})
        st.tokens_issued += 1
        tok = hex32("token", st.id_counter, st.tokens_issued, now)
        st.id_counter += 1
        st.tokens[tok] = now + st.args.token_ttl
        return json_response(200, {"access_token": tok, "token_type": "bearer",
                                   "expires_in": st.args.token_ttl,
                                   "scope": "entity.1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc platform.write service.aqua.read",
                                   "jti": hex32("jti", tok)})

    def last_completed(self, partner, project, now):
        st = self.state
        best = None
        for job in st.jobs.values():
            if job.partner == partner and job.project == project:
                if st.view(job, now)["status"] == "completed":
                    best = job
        if best is None:
            return aqua_error("90002", "No completed job for partner %s and project %s" % (partner, project))
        return json_response(200, st.view(best, now))

    def cancel(self, job, now):
        st = self.state
        status = st.view(job, now)["status"]
        if status in FINAL:
            return aqua_error("90003", "Invalid job id for cancellation: job %s is %s" % (job.id, status))
        if job.seeded:
            job.data["status"] = "cancelled"
            for b in job.data["batches"]:
                if b.get("status") not in ("completed", "aborted"):
                    b["status"] = "cancelled"
        else:
            job.cancelled_at = now
        return json_response(200, st.view(job, now))

    # ---- control
    def control(self, req):
        st = self.state
        p, m = req.path, req.method
        with st.lock:
            if p == "/_control/reset" and m == "POST":
                st.reset()
                return json_response(200, {"reset": True})
            if p == "/_control/job" and m == "POST":
                body = req.json()
                items = body if isinstance(body, list) else [body]
                ids = [st.add_seeded(j).id for j in items]
                return json_response(200, {"ids": ids})
            if p == "/_control/file" and m == "POST":
                fid = st.add_file(req.json())
                f = st.files[fid]
                size = f.length() if isinstance(f, BlockFile) else None
                return json_response(200, {"fileId": fid, "length": size})
            if p == "/_control/job_fate" and m == "POST":
                return self.set_fate(req.json())
            if p == "/_control/bad_partner" and m == "POST":
                st.bad_partners.add(str(req.json().get("partner")))
                return json_response(200, {"bad_partners": sorted(st.bad_partners)})
            if p == "/_control/expire_tokens" and m == "POST":
                now = st.now()
                for t in st.tokens:
                    st.tokens[t] = now
                return json_response(200, {"expired": len(st.tokens)})
            if p == "/_control/jobs" and m == "GET":
                now = st.now()
                st.settle(now)
                out = []
                for j in st.jobs.values():
                    v = st.view(j, now)
                    if not j.seeded:
                        w = j.window_start
                        v["_window_start"] = fmt_time(w, st.tz) if isinstance(w, float) else w
                        v["_incrementalTime"] = j.req.get("incrementalTime")
                    out.append(v)
                return json_response(200, {"jobs": out})
            if p == "/_control/sessions" and m == "GET":
                st.settle(st.now())
                return json_response(200, {"sessions": [
                    {"partner": k[0], "project": k[1], "queries": v["queries"],
                     "last_end": fmt_time(v["last_end"], st.tz) if v["last_end"] is not None else None}
                    for k, v in st.sessions.items()]})
        return None

    def set_fate(self, spec):
        st = self.state
        fate = spec.get("fate", "completed")
        if fate not in FATES:
            raise ValueError("fate must be one of %s" % ", ".join(FATES))
        target = spec.get("job", "next")
        if target == "next":
            st.fates_next.append(dict(spec))
            return json_response(200, {"queued": len(st.fates_next)})
        job = st.jobs.get(target)
        if job is None:
            return json_response(404, {"error": "no job %s" % target})
        if not job.seeded:
            job.fate = dict(spec)
            job.settled = False
            return json_response(200, st.view(job, st.now()))
        d = job.data
        if fate == "completed":
            d["status"] = "completed"
            for b in d["batches"]:
                if b.get("status") != "completed":
                    b["status"] = "completed"
                    b.setdefault("recordCount", 0)
                    if not b.get("segments"):
                        b.setdefault("fileId", hex32(job.id, b.get("name"), "file"))
                    st.files_for_seeded_batch(job, b)
        elif fate == "error":
            d["status"] = "error"
        elif fate == "cancelled":
            d["status"] = "cancelled"
            for b in d["batches"]:
                if b.get("status") not in ("completed", "aborted"):
                    b["status"] = "cancelled"
        elif fate == "stuck_executing":
            d["status"] = "executing"
        elif fate == "aborted_batch":
            d["status"] = spec.get("job_status", "aborted")
            bs = [b for b in d["batches"] if b.get("name") == spec.get("batch")] or d["batches"][-1:]
            for b in bs:
                b["status"] = "aborted"
                b["message"] = spec.get("message") or "Query execution exceeded its time limit (errorCode 90027)"
                b.pop("fileId", None)
        job.settled = False
        return json_response(200, copy.deepcopy(d))


def main():
    ap = argparse.ArgumentParser(description="Zuora AQuA double for lakeop tests")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--client-id", default="lakeop-test")
    ap.add_argument("--client-secret", default="s3cret")
    ap.add_argument("--job-seconds", type=float, default=2.0)
    ap.add_argument("--token-ttl", type=int, default=3599)
    ap.add_argument("--seed", help="JSON file: a list of jobs, or {jobs, files, bad_partners}")
    ap.add_argument("--bad-partner", action="append", help="a partner Zuora does not recognise (90019)")
    ap.add_argument("--full-records", type=int, default=120, help="records of a full batch (+ 0..49)")
    ap.add_argument("--incremental-records", type=int, default=12, help="max records of an incremental batch")
    ap.add_argument("--segment-records", type=int, default=500000)
    ap.add_argument("--timezone", default="UTC",
                    help="the tenant's zone: plain startTimes are written in it (UTC: an EU tenant)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    state = ZuoraState(args)
    serve(ZuoraHandler, state, args.port, args.verbose)


if __name__ == "__main__":
    main()
