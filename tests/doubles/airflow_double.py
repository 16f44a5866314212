#!/usr/bin/env python3
"""A double of Airflow 2.x's stable REST API (/api/v1) for lakeop's tests.

Follows /work/shared/design/AIRFLOW.md; the control API and the choices the
reference leaves open are in tests/doubles/README.md.  Task instances that
were cleared or triggered move on by the (virtual) clock, evaluated on each
request: no threads.
"""

import argparse
import base64
import collections
import copy
import datetime
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DoubleHandler, DoubleState, Response, json_response, serve  # noqa: E402

DOCS = "https://airflow.apache.org/docs/apache-airflow/2.10.5/stable-rest-api-ref.html#section/Errors/"
PROBLEM = "application/problem+json"
UTC = datetime.timezone.utc
DAY = 86400.0
FINISHED_TI = ("success", "failed", "upstream_failed", "skipped", "removed")
PENDING_TI = (None, "none", "restarting", "scheduled")
CLEAR_FIELDS = {"dry_run": bool, "task_ids": list, "dag_run_id": str, "start_date": str,
                "end_date": str, "only_failed": bool, "only_running": bool,
                "include_subdags": bool, "include_parentdag": bool, "include_upstream": bool,
                "include_downstream": bool, "include_future": bool, "include_past": bool,
                "reset_dag_runs": bool}
TRIGGER_FIELDS = ("dag_run_id", "logical_date", "execution_date", "conf", "note",
                  "data_interval_start", "data_interval_end")


class ApiError(Exception):
    def __init__(self, status, title, detail=None, kind=None, headers=None):
        super().__init__(title)
        self.status, self.title, self.detail = status, title, detail
        self.kind = kind or {400: "BadRequest", 401: "Unauthenticated", 403: "PermissionDenied",
                             404: "NotFound", 409: "AlreadyExists"}.get(status, "Unknown")
        self.headers = headers or []

    def response(self):
        return json_response(self.status, {"type": DOCS + self.kind, "title": self.title,
                                           "status": self.status, "detail": self.detail},
                             PROBLEM, self.headers)


def bad(detail_dict):
    """Validation errors carry a Python dict repr, like marshmallow's."""
    return ApiError(400, "Bad Request", repr(detail_dict))


def iso(t, micro=False):
    if t is None:
        return None
    d = datetime.datetime.fromtimestamp(t, UTC)
    if not micro:
        d = d.replace(microsecond=0)
    return d.isoformat()


def parse_iso(text, field):
    try:
        d = datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise bad({field: ["Not a valid datetime."]})
    if d.tzinfo is None:
        raise bad({field: ["Naive datetime is disallowed"]})
    return d.timestamp()


def h(*parts):
    return int(hashlib.sha1("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:12], 16)


# ---- the default world ----------------------------------------------------------

SUPPORTER_EDGES = {
    "zuora_account": ["zuora_subscription", "zuora_contact", "zuora_invoice", "zuora_payment",
                      "zuora_payment_method"],
    "zuora_subscription": ["zuora_rate_plan", "zuora_rate_plan_charge", "zuora_amendment",
                           "supporter_product_data"],
    "zuora_rate_plan": ["zuora_rate_plan_charge"],
    "zuora_rate_plan_charge": ["supporter_product_data"],
    "zuora_invoice": ["zuora_invoice_item"],
    "zuora_invoice_item": ["supporter_product_data"],
    "zuora_contact": ["supporter_product_data"],
    "zuora_product": ["zuora_product_rate_plan"],
    "zuora_product_rate_plan": ["supporter_product_data"],
    "zuora_payment": [],
    "zuora_payment_method": [],
    "zuora_amendment": [],
    "supporter_product_data": [],
}
CUBIC_EDGES = {
    "wait_for_files": ["ingest_edw_sample", "ingest_edw_card"],
    "ingest_edw_sample": ["register_loads"],
    "ingest_edw_card": ["register_loads"],
    "register_loads": [],
}
BASE = datetime.datetime(2024, 1, 1, tzinfo=UTC).timestamp()


def operator_of(task_id):
    if task_id.startswith("zuora_"):
        return "ZuoraRawToCleanOperator"
    if task_id.startswith("wait_"):
        return "S3KeySensor"
    if task_id == "supporter_product_data":
        return "BigQueryInsertJobOperator"
    return "PythonOperator"


class World:
    """DAGs, runs and task instances; all times are floats (epoch s)."""

    def __init__(self, args, now):
        self.args = args
        self.dags = collections.OrderedDict()
        self.runs = {}          # dag_id -> OrderedDict run_id -> run
        self.tis = {}           # (dag, run, task) -> ti
        self.empty_clear = args.empty_clear_response
        self.add_dag("supporter_experience", SUPPORTER_EDGES, "Zuora exports into the supporter experience dataset",
                     ["zuora", "supporter"], False, True, "0 4 * * *")
        self.add_dag("cubic_ingest", CUBIC_EDGES, "Cubic ODS file loads", ["cubic"], False, True, "30 5 * * *")
        self.add_dag("legacy_export", {"export": []}, "Retired", [], True, False, None)
        for i in range(args.runs):
            self.add_scheduled_run("supporter_experience", i)
        for i in range(3):
            self.add_scheduled_run("cubic_ingest", i)

    def add_dag(self, dag_id, edges, description, tags, paused, active, cron, markers=None):
        """markers: {task: [external_dag_id, external_task_id]}, ExternalTaskMarkers.
        Re-adding a DAG replaces it: a seed may give a default DAG another shape."""
        markers = markers or {}
        if dag_id in self.dags:
            self.tis = {k: ti for k, ti in self.tis.items() if k[0] != dag_id}
        tasks = collections.OrderedDict()
        for n, (tid, down) in enumerate(edges.items()):
            op = "ExternalTaskMarker" if tid in markers else operator_of(tid)
            tasks[tid] = {
                "class_ref": {"class_name": op, "module_path": "airflow.sensors.external_task" if tid in markers
                              else "guardian.operators"},
                "task_id": tid, "task_display_name": tid, "operator_name": op,
                "owner": "data-eng", "start_date": "2023-06-01T00:00:00+00:00", "end_date": None,
                "trigger_rule": "all_success", "extra_links": [], "depends_on_past": False,
                "is_mapped": False, "wait_for_downstream": False, "retries": 2 if tid.startswith("zuora") else 0,
                "queue": "default", "pool": "default_pool", "pool_slots": 1.0,
                "execution_timeout": None,
                "retry_delay": {"__type": "TimeDelta", "days": 0, "seconds": 300, "microseconds": 0},
                "retry_exponential_backoff": False, "priority_weight": len(edges) - n,
                "weight_rule": "downstream", "ui_color": "#fff", "ui_fgcolor": "#000",
                "template_fields": [], "sub_dag": None, "downstream_task_ids": sorted(down),
                "doc_md": None,
            }
        self.dags[dag_id] = {
            "dag_id": dag_id, "dag_display_name": dag_id, "root_dag_id": None, "is_paused": paused,
            "is_active": active, "is_subdag": False, "last_parsed_time": "2024-01-08T09:00:00+00:00",
            "last_pickled": None, "last_expired": None, "scheduler_lock": None, "pickle_id": None,
            "default_view": "grid", "fileloc": "/opt/airflow/dags/%s.py" % dag_id,
            "file_token": base64.b64encode(dag_id.encode()).decode(), "owners": ["data-eng"],
            "description": description,
            "schedule_interval": {"__type": "CronExpression", "value": cron} if cron else None,
            "timetable_description": "At 04:00" if cron else "Never, external triggers only",
            "tags": [{"name": t} for t in tags], "max_active_tasks": 16, "max_active_runs": 1,
            "has_task_concurrency_limits": False, "has_import_errors": False,
            "next_dagrun": None, "next_dagrun_data_interval_start": None,
            "next_dagrun_data_interval_end": None, "next_dagrun_create_after": None,
            "_tasks": tasks, "_markers": {t: tuple(m) for t, m in markers.items()},
        }
        self.runs[dag_id] = collections.OrderedDict()
        self.update_next(dag_id)

    def update_next(self, dag_id):
        dag = self.dags[dag_id]
        if dag["schedule_interval"] is None:
            return
        sched = [r for r in self.runs[dag_id].values() if r["run_type"] == "scheduled"]
        nxt = (max(r["_logical"] for r in sched) + DAY) if sched else BASE
        dag["next_dagrun"] = iso(nxt)
        dag["next_dagrun_data_interval_start"] = iso(nxt)
        dag["next_dagrun_data_interval_end"] = iso(nxt + DAY)
        dag["next_dagrun_create_after"] = iso(nxt + DAY)

    def upstream(self, dag_id):
        ups = collections.defaultdict(list)
        for tid, t in self.dags[dag_id]["_tasks"].items():
            for d in t["downstream_task_ids"]:
                ups[d].append(tid)
        return ups

    def topo(self, dag_id):
        tasks = self.dags[dag_id]["_tasks"]
        ups = self.upstream(dag_id)
        order, seen = [], set()

        def visit(t):
            if t in seen:
                return
            seen.add(t)
            for u in ups[t]:
                visit(u)
            order.append(t)
        for t in tasks:
            visit(t)
        return order

    def new_run(self, dag_id, run_id, logical, run_type, state, conf=None, note=None):
        run = {"dag_run_id": run_id, "dag_id": dag_id, "logical_date": iso(logical),
               "execution_date": iso(logical), "start_date": None, "end_date": None,
               "data_interval_start": iso(logical), "data_interval_end": iso(logical + DAY),
               "last_scheduling_decision": None, "run_type": run_type, "state": state,
               "external_trigger": run_type == "manual", "conf": conf or {}, "note": note,
               "_logical": logical, "_queued_at": None}
        self.runs[dag_id][run_id] = run
        return run

    def new_ti(self, dag_id, run, tid, state):
        task = self.dags[dag_id]["_tasks"][tid]
        ti = {"task_id": tid, "dag_id": dag_id, "dag_run_id": run["dag_run_id"],
              "execution_date": run["execution_date"], "state": state, "try_number": 0,
              "max_tries": task["retries"], "map_index": -1, "hostname": "",
              "unixname": "airflow", "pool": "default_pool", "pool_slots": 1, "queue": "default",
              "priority_weight": task["priority_weight"], "operator": task["operator_name"],
              "pid": None, "executor_config": "{}", "sla_miss": None, "rendered_fields": {},
              "rendered_map_index": None, "trigger": None, "triggerer_job": None, "note": None,
              "_queued": None, "_start": None, "_end": None, "_active": False, "_at": None,
              "_fate": None, "_tries": []}
        self.tis[(dag_id, run["dag_run_id"], tid)] = ti
        return ti

    def add_scheduled_run(self, dag_id, i):
        """Run i (logical date BASE + i days), finished, with a deterministic
        mix of outcomes: every 3rd run fails somewhere."""
        logical = BASE + i * DAY
        run_id = "scheduled__" + iso(logical)
        run = self.new_run(dag_id, run_id, logical, "scheduled", "success")
        start = logical + DAY + 301.5
        run["start_date"] = iso(start, True)
        run["last_scheduling_decision"] = iso(start + 2, True)
        order = self.topo(dag_id)
        ups = self.upstream(dag_id)
        failing = None
        if i % 3 == 2:
            failing = order[(i // 3) % (len(order) - 1)] if len(order) > 1 else order[0]
        finish = {}
        for depth, tid in enumerate(order):
            ti = self.new_ti(dag_id, run, tid, "success")
            up_states = [self.tis[(dag_id, run_id, u)]["state"] for u in ups[tid]]
            t0 = max([start] + [finish[u] for u in ups[tid]])
            if any(s in ("failed", "upstream_failed") for s in up_states):
                ti["state"] = "upstream_failed"
                ti["_end"] = t0
                finish[tid] = t0
                continue
            dur = 20 + h(dag_id, run_id, tid) % 200 + 0.25
            state = "failed" if tid == failing else "success"
            tries = (ti["max_tries"] + 1) if state == "failed" else 1 + (h(run_id, tid) % 7 == 0)
            self.run_tries(ti, t0, dur, tries, state)
            finish[tid] = ti["_end"]
        # The deprecated "none" and null both occur in real answers.
        if dag_id == "cubic_ingest" and i == 1:
            self.tis[(dag_id, run_id, "ingest_edw_card")].update(state="none", try_number=0, hostname="",
                                                                _start=None, _end=None, _queued=None, _tries=[])
            self.tis[(dag_id, run_id, "register_loads")].update(state=None, try_number=0, hostname="",
                                                               _start=None, _end=None, _queued=None, _tries=[])
        run["state"] = "failed" if any(self.tis[(dag_id, run_id, t)]["state"] in ("failed", "upstream_failed")
                                       for t in order) else "success"
        run["end_date"] = iso(max(finish.values()) + 3, True)
        self.update_next(dag_id)

    def run_tries(self, ti, t0, dur, tries, final):
        for n in range(1, tries + 1):
            st = t0 + (n - 1) * (dur + 300)
            outcome = final if n == tries else "up_for_retry"
            ti["_tries"].append({"try": n, "start": st, "end": st + dur, "state": outcome,
                                 "host": "worker-%d.airflow.internal" % (h(ti["task_id"], n) % 4)})
        last = ti["_tries"][-1]
        ti.update(state=final, try_number=tries, _queued=last["start"] - 1.5, _start=last["start"],
                  _end=last["end"], hostname=last["host"], pid=1000 + h(ti["task_id"], tries) % 30000)
        if tries > ti["max_tries"] + 1:
            ti["max_tries"] = tries - 1

    # ---- lifecycle
    def tick(self, now):
        ts = self.args.task_seconds
        for dag_id, runs in self.runs.items():
            if self.dags[dag_id]["is_paused"]:
                continue
            ups = self.upstream(dag_id)
            order = self.topo(dag_id)
            for run_id, run in runs.items():
                if run["state"] not in ("queued", "running"):
                    continue
                tis = [self.tis[(dag_id, run_id, t)] for t in order if (dag_id, run_id, t) in self.tis]
                for ti in tis:
                    if ti["_active"]:
                        self.step(dag_id, run, ti, [self.tis.get((dag_id, run_id, u)) for u in ups[ti["task_id"]]],
                                  now, ts)
                began = [ti["_queued"] for ti in tis if ti["_queued"] is not None and ti["_queued"] >= (run["_queued_at"] or 0)]
                if run["state"] == "queued" and began and min(began) <= now:
                    run["state"] = "running"
                    run["start_date"] = iso(min(began), True)
                if not any(ti["_active"] for ti in tis) and all(ti["state"] in FINISHED_TI for ti in tis):
                    t_end = max([ti["_end"] or 0 for ti in tis] + [run["_queued_at"] or 0])
                    if t_end <= now:
                        failed = any(ti["state"] in ("failed", "upstream_failed") for ti in tis)
                        run["state"] = "failed" if failed else "success"
                        if run["start_date"] is None:
                            run["start_date"] = iso(run["_queued_at"], True)
                        run["end_date"] = iso(t_end, True)

    def step(self, dag_id, run, ti, ups, now, ts):
        if ti["state"] in PENDING_TI:
            ups = [u for u in ups if u is not None]
            if any(u["_active"] for u in ups):
                return
            if any(u["state"] in ("failed", "upstream_failed") for u in ups):
                ti["state"] = "upstream_failed"
                ti["_end"] = max([ti["_at"]] + [u["_end"] or 0 for u in ups])
                ti["_active"] = False
                return
            if not all(u["state"] in ("success", "skipped") for u in ups):
                return  # an upstream that never runs holds this one for ever
            ready = max([ti["_at"], run["_queued_at"] or 0] + [u["_end"] or 0 for u in ups])
            if now < ready + ts / 4.0:
                return
            ti["state"] = "queued"
            ti["_queued"] = ready + ts / 4.0
            ti["_start"] = ti["_end"] = None
        if ti["state"] == "queued":
            t = ti["_queued"] + ts / 4.0
            if now < t:
                return
            ti["state"] = "running"
            ti["_start"] = t
            ti["try_number"] += 1
            ti["hostname"] = "worker-%d.airflow.internal" % (h(ti["task_id"], ti["try_number"]) % 4)
            ti["pid"] = 1000 + h(ti["task_id"], ti["try_number"]) % 30000
            if ti["try_number"] > ti["max_tries"] + 1:
                ti["max_tries"] = ti["try_number"] - 1
        if ti["state"] == "running":
            t = ti["_start"] + ts / 2.0
            if now < t:
                return
            ti["state"] = ti["_fate"] or "success"
            ti["_fate"] = None
            ti["_end"] = t
            ti["_active"] = False
            ti["_tries"].append({"try": ti["try_number"], "start": ti["_start"], "end": t,
                                 "state": ti["state"], "host": ti["hostname"]})

    # ---- views
    def dag_view(self, dag_id):
        return {k: v for k, v in self.dags[dag_id].items() if not k.startswith("_")}

    @staticmethod
    def run_view(run):
        return {k: v for k, v in run.items() if not k.startswith("_")}

    @staticmethod
    def ti_view(ti):
        out = {k: v for k, v in ti.items() if not k.startswith("_")}
        out["queued_when"] = iso(ti["_queued"], True)
        out["start_date"] = iso(ti["_start"], True)
        out["end_date"] = iso(ti["_end"], True)
        if ti["_start"] is not None and ti["_end"] is not None and ti["state"] in FINISHED_TI:
            out["duration"] = round(ti["_end"] - ti["_start"], 6)
        else:
            out["duration"] = None
        return out

    def state_dump(self):
        dags = {d: {"is_paused": v["is_paused"], "is_active": v["is_active"]} for d, v in self.dags.items()}
        runs = [{"dag_id": r["dag_id"], "dag_run_id": r["dag_run_id"], "state": r["state"],
                 "start_date": r["start_date"], "end_date": r["end_date"]}
                for rs in self.runs.values() for r in rs.values()]
        tis = [{"dag_id": k[0], "dag_run_id": k[1], "task_id": k[2], "state": t["state"],
                "try_number": t["try_number"], "max_tries": t["max_tries"],
                "start_date": iso(t["_start"], True), "end_date": iso(t["_end"], True)}
               for k, t in sorted(self.tis.items())]
        body = {"dags": dags, "runs": runs, "task_instances": tis}
        body["fingerprint"] = hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest()
        return body


# ---- request helpers ----------------------------------------------------------------

def paging(req, maximum):
    out = []
    for name, default in (("limit", 100), ("offset", 0)):
        raw = req.arg(name)
        if raw is None:
            out.append(default)
            continue
        try:
            v = int(raw)
        except ValueError:
            raise bad({name: ["Not a valid integer."]})
        if v < 0:
            raise bad({name: ["Must be greater than or equal to 0."]})
        out.append(v)
    limit, offset = out
    return min(limit, maximum), offset


def bool_arg(req, name, default=None):
    raw = req.arg(name)
    if raw is None:
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise bad({name: ["Not a valid boolean."]})


def json_body(req, allowed):
    try:
        body = req.json() if req.body else {}
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "Bad Request", "Request body must be valid JSON")
    if not isinstance(body, dict):
        raise bad({"_schema": ["Invalid input type."]})
    unknown = sorted(k for k in body if k not in allowed)
    if unknown:
        raise bad({k: ["Unknown field."] for k in unknown})
    return body


def log_text(ti, attempt, upto=None):
    """The try's log; upto (seconds after its start): only the lines
    written by then, for a try still running."""
    hdr = "%s.%s %s" % (ti["dag_id"], ti["task_id"], ti["dag_run_id"])
    t0 = attempt["start"]
    dur = attempt["end"] - t0

    def stamp(dt):
        return datetime.datetime.fromtimestamp(t0 + dt, UTC).strftime("[%Y-%m-%d, %H:%M:%S UTC]")
    timed = [
        (0, "%s {taskinstance.py:1157} INFO - Dependencies all met for dep_context=non-requeueable deps ti=<TaskInstance: %s [queued]>" % (stamp(0), hdr)),
        (0.1, "%s {taskinstance.py:1359} INFO - Starting attempt %d of %d" % (stamp(0.1), attempt["try"], ti["max_tries"] + 1)),
        (0.2, "%s {taskinstance.py:1380} INFO - Executing <Task(%s): %s> on %s" % (stamp(0.2), ti["operator"], ti["task_id"], ti["execution_date"])),
        (0.3, "%s {standard_task_runner.py:57} INFO - Started process %d to run task on host %s" % (stamp(0.3), 1000 + h(hdr, attempt["try"]) % 30000, attempt["host"])),
        (1.0, "%s {%s.py:88} INFO - Reading s3://ophan-raw-zuora/%s.csv" % (stamp(1.0), ti["task_id"], ti["task_id"])),
    ]
    # Progress through the try, so that a running try's log grows.
    for k in range(1, 5):
        at = 1.0 + max(dur - 2.0, 0.0) * k / 5.0
        timed.append((at, "%s {%s.py:104} INFO - Read part %d of 5" % (stamp(at), ti["task_id"], k)))
    lines = [text for at, text in timed if upto is None or at <= upto]
    if attempt["state"] == "running":
        return "\n".join(lines) + "\n"
    if attempt["state"] in ("failed", "up_for_retry"):
        lines += [
            "%s {taskinstance.py:1851} ERROR - Task failed with exception" % stamp(dur - 0.2),
            "Traceback (most recent call last):",
            '  File "/opt/airflow/dags/operators/zuora.py", line 142, in execute',
            "    raise AirflowException(f\"Record count mismatch: {got} != {expected}\")",
            "airflow.exceptions.AirflowException: Record count mismatch: 48649 != 48650 \x1b[31m(raw bytes)\x1b[0m",
            "%s {taskinstance.py:1400} INFO - Marking task as %s. dag_id=%s, task_id=%s" % (
                stamp(dur), "UP_FOR_RETRY" if attempt["state"] == "up_for_retry" else "FAILED", ti["dag_id"], ti["task_id"]),
        ]
    else:
        lines += [
            "%s {%s.py:120} INFO - Loaded %d rows" % (stamp(dur - 0.5), ti["task_id"], h(hdr) % 100000),
            "%s {taskinstance.py:1400} INFO - Marking task as SUCCESS. dag_id=%s, task_id=%s" % (stamp(dur), ti["dag_id"], ti["task_id"]),
        ]
    lines.append("%s {local_task_job_runner.py:228} INFO - Task exited with return code %d" % (
        stamp(dur + 0.1), 0 if attempt["state"] == "success" else 1))
    return "\n".join(lines) + "\n"


# ---- handler -----------------------------------------------------------------------

class AirflowState(DoubleState):
    def __init__(self, args):
        super().__init__()
        self.args = args
        self.reset()

    def reset(self):
        with self.lock:
            self.reset_common()
            self.world = World(self.args, self.now())
            self.empty_clear = self.args.empty_clear_response
            if self.args.seed:
                with open(self.args.seed, encoding="utf-8") as fh:
                    apply_seed(self.world, json.load(fh))

    def stats_extra(self):
        return {"runs": sum(len(r) for r in self.world.runs.values())}


def apply_seed(world, seed):
    """A seed file: {"dags":[{"dag_id","tasks":{task:[downstream…]},"runs":N,…}],
    "states":[{"dag","run","task","state"}]}."""
    for d in seed.get("dags", []):
        world.add_dag(d["dag_id"], d["tasks"], d.get("description"), d.get("tags", []),
                      d.get("is_paused", False), d.get("is_active", True), d.get("schedule", "0 4 * * *"),
                      d.get("markers"))
        for i in range(int(d.get("runs", 0))):
            world.add_scheduled_run(d["dag_id"], i)
    for s in seed.get("states", []):
        ti = world.tis.get((s["dag"], s["run"], s["task"]))
        if ti is None:
            raise ValueError("seed state: no task instance %s/%s/%s" % (s["dag"], s["run"], s["task"]))
        ti["state"] = s["state"]


class AirflowHandler(DoubleHandler):
    fault_ctype = PROBLEM

    def fault_body(self, status):
        return ApiError(status, {429: "Too Many Requests", 503: "Service Unavailable",
                                 500: "Internal Server Error"}.get(status, "Error"), None).response().body

    def user(self, req):
        auth = req.headers.get("Authorization") or ""
        if not auth.startswith("Basic "):
            return None
        try:
            user, _, pw = base64.b64decode(auth[6:].strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        a = self.state.args
        if user == a.user and pw == a.password:
            return "admin"
        if a.viewer and [user, pw] == a.viewer.split(":", 1):
            return "viewer"
        return None

    def route(self, req):
        st = self.state
        try:
            role = self.user(req)
            if role is None:
                raise ApiError(401, "Unauthorized", None, headers=[("WWW-Authenticate", "Basic")])
            seg = req.segments
            if seg[:2] != ["api", "v1"]:
                raise ApiError(404, "Not Found", "The requested URL was not found on the server.")
            if role != "admin" and req.method not in ("GET", "HEAD"):
                raise ApiError(403, "Forbidden", None)
            with st.lock:
                now = st.now()
                w = st.world
                w.tick(now)
                return self.api(req, seg[2:], w, now)
        except ApiError as e:
            return e.response()

    def api(self, req, s, w, now):
        m = req.method
        if s == ["dags"] and m == "GET":
            return self.list_dags(req, w)
        if len(s) < 2 or s[0] != "dags":
            raise ApiError(404, "Not Found", "The requested URL was not found on the server.")
        dag_id = s[1]
        if dag_id not in w.dags:
            raise ApiError(404, "DAG not found", "DAG with dag_id: '%s' not found" % dag_id)
        rest = s[2:]
        if rest == [] and m == "GET":
            return json_response(200, w.dag_view(dag_id))
        if rest == [] and m == "PATCH":
            return self.patch_dag(req, w, dag_id)
        if rest == ["tasks"] and m == "GET":
            tasks = [{k: v for k, v in t.items()} for t in w.dags[dag_id]["_tasks"].values()]
            return json_response(200, {"tasks": tasks, "total_entries": len(tasks)})
        if rest == ["dagRuns"] and m == "GET":
            return self.list_runs(req, w, dag_id)
        if rest == ["dagRuns"] and m == "POST":
            return self.trigger(req, w, dag_id, now)
        if rest == ["clearTaskInstances"] and m == "POST":
            return self.clear(req, w, dag_id, now)
        if len(rest) >= 2 and rest[0] == "dagRuns":
            run = w.runs[dag_id].get(rest[1])
            if run is None:
                raise ApiError(404, "DAGRun not found",
                               "DAGRun with DAG ID: '%s' and DagRun ID: '%s' not found" % (dag_id, rest[1]))
            if len(rest) == 2 and m == "GET":
                return json_response(200, w.run_view(run))
            if rest[2:] == ["taskInstances"] and m == "GET":
                return self.list_tis(req, w, dag_id, run)
            if len(rest) >= 4 and rest[2] == "taskInstances" and m == "GET":
                ti = w.tis.get((dag_id, run["dag_run_id"], rest[3]))
                if ti is None:
                    raise ApiError(404, "Task instance not found", "Task instance not found")
                if len(rest) == 4:
                    return json_response(200, w.ti_view(ti))
                if len(rest) == 6 and rest[4] == "logs":
                    return self.logs(req, ti, rest[5], now)
        raise ApiError(404, "Not Found", "The requested URL was not found on the server.")

    def list_dags(self, req, w):
        limit, offset = paging(req, self.state.args.maximum_page_limit)
        only_active = bool_arg(req, "only_active", True)
        paused = bool_arg(req, "paused")
        pattern = req.arg("dag_id_pattern")
        dags = []
        for d in sorted(w.dags):
            v = w.dags[d]
            if only_active and not v["is_active"]:
                continue
            if paused is not None and v["is_paused"] != paused:
                continue
            if pattern and pattern.lower() not in d.lower():
                continue
            dags.append(w.dag_view(d))
        return json_response(200, {"dags": dags[offset:offset + limit], "total_entries": len(dags)})

    def patch_dag(self, req, w, dag_id):
        mask = req.query.get("update_mask")
        body = json_body(req, ("is_paused",) if mask else tuple(w.dag_view(dag_id)))
        if mask and any(x != "is_paused" for x in mask):
            raise ApiError(400, "Bad Request", "Only `is_paused` field can be updated through the REST API")
        if "is_paused" not in body:
            raise bad({"is_paused": ["Missing data for required field."]})
        if not isinstance(body["is_paused"], bool):
            raise bad({"is_paused": ["Not a valid boolean."]})
        w.dags[dag_id]["is_paused"] = body["is_paused"]
        return json_response(200, w.dag_view(dag_id))

    def list_runs(self, req, w, dag_id):
        limit, offset = paging(req, self.state.args.maximum_page_limit)
        runs = list(w.runs[dag_id].values())
        states = req.query.get("state")
        if states:
            runs = [r for r in runs if r["state"] in states]
        for name, cmp in (("execution_date_gte", lambda a, b: a >= b), ("execution_date_lte", lambda a, b: a <= b)):
            if req.arg(name):
                t = parse_iso(req.arg(name), name)
                runs = [r for r in runs if cmp(r["_logical"], t)]
        order = req.arg("order_by", "id")
        key = order.lstrip("-")
        if key == "id":
            pass
        elif key in ("execution_date", "logical_date"):
            runs.sort(key=lambda r: r["_logical"])
        elif key in ("start_date", "end_date", "dag_run_id", "state"):
            runs.sort(key=lambda r: (r[key] is not None, r[key] or ""))
        else:
            raise ApiError(400, "Ordering with '%s' is disallowed or the attribute does not exist on the model" % key)
        if order.startswith("-"):
            runs.reverse()
        return json_response(200, {"dag_runs": [w.run_view(r) for r in runs[offset:offset + limit]],
                                   "total_entries": len(runs)})

    def trigger(self, req, w, dag_id, now):
        body = json_body(req, TRIGGER_FIELDS)
        logical = now
        for name in ("logical_date", "execution_date"):
            if body.get(name) is not None:
                logical = parse_iso(body[name], name)
        conf = body.get("conf", {})
        if not isinstance(conf, dict):
            raise bad({"conf": ["Not a valid mapping type."]})
        run_id = body.get("dag_run_id") or "manual__" + iso(logical, True)
        if not isinstance(run_id, str):
            raise bad({"dag_run_id": ["Not a valid string."]})
        clash = run_id in w.runs[dag_id] or any(abs(r["_logical"] - logical) < 1e-6 for r in w.runs[dag_id].values())
        if clash:
            raise ApiError(409, "Conflict", "DAGRun with DAG ID: '%s' and DAGRun ID: '%s' already exists" % (dag_id, run_id))
        run = w.new_run(dag_id, run_id, logical, "manual", "queued", conf, body.get("note"))
        run["_queued_at"] = now
        for tid in w.topo(dag_id):
            ti = w.new_ti(dag_id, run, tid, None)
            ti.update(_active=True, _at=now)
        return json_response(200, w.run_view(run))

    def list_tis(self, req, w, dag_id, run):
        limit, offset = paging(req, self.state.args.maximum_page_limit)
        tis = [ti for (d, r, _), ti in w.tis.items() if d == dag_id and r == run["dag_run_id"]]
        states = req.query.get("state")
        if states:
            want = set(states)
            tis = [ti for ti in tis if ti["state"] in want
                   or (ti["state"] in (None, "none") and ("none" in want or "" in want))]
        # Unspecified order in Airflow: shuffle deterministically so clients sort.
        tis.sort(key=lambda ti: h("order", ti["dag_run_id"], ti["task_id"]))
        return json_response(200, {"task_instances": [w.ti_view(t) for t in tis[offset:offset + limit]],
                                   "total_entries": len(tis)})

    def logs(self, req, ti, try_text, now):
        try:
            n = int(try_text)
        except ValueError:
            raise ApiError(400, "Bad Request", "try_number must be an integer")
        attempt = next((a for a in ti["_tries"] if a["try"] == n), None)
        upto = None
        if attempt is None and n == ti["try_number"] and ti["state"] == "running" and ti["_start"] is not None:
            # The try under way: Airflow serves the log as written so far.
            attempt = {"try": n, "start": ti["_start"], "end": ti["_start"] + self.state.args.task_seconds / 2.0,
                       "state": "running", "host": ti["hostname"]}
            upto = now - ti["_start"]
        if attempt is None:
            raise ApiError(404, "TaskInstance not found",
                           "Task instance %s of run %s has no try %d" % (ti["task_id"], ti["dag_run_id"], n))
        text = log_text(ti, attempt, upto)
        accept = req.headers.get("Accept") or ""
        if "text/plain" in accept and "application/json" not in accept:
            return Response(200, text.encode(), "text/plain")
        content = repr([(attempt["host"], text)])
        return json_response(200, {"content": content, "continuation_token": base64.b64encode(
            json.dumps({"end_of_log": upto is None}).encode()).decode()})

    def clear(self, req, w, dag_id, now):
        body = json_body(req, CLEAR_FIELDS)
        errors = {}
        for k, typ in CLEAR_FIELDS.items():
            if k in body and not isinstance(body[k], typ):
                errors[k] = ["Not a valid %s." % {bool: "boolean", list: "list", str: "string"}[typ]]
        if errors:
            raise bad(errors)
        opt = {k: body.get(k, False) for k in CLEAR_FIELDS if CLEAR_FIELDS[k] is bool}
        opt["dry_run"] = body.get("dry_run", True)
        opt["only_failed"] = body.get("only_failed", True)
        if "task_ids" in body:
            if not body["task_ids"]:
                raise bad({"task_ids": ["Shorter than minimum length 1."]})
            if not all(isinstance(t, str) for t in body["task_ids"]):
                raise bad({"task_ids": {0: ["Not a valid string."]}})
        if opt["only_failed"] and opt["only_running"]:
            raise bad({"_schema": ["only_failed and only_running both are set to True"]})
        start = parse_iso(body["start_date"], "start_date") if "start_date" in body else None
        end = parse_iso(body["end_date"], "end_date") if "end_date" in body else None
        if start is not None and end is not None and start > end:
            raise bad({"_schema": ["end_date is sooner than start_date"]})
        if "dag_run_id" in body and (start is not None or end is not None):
            raise bad({"_schema": ["Exactly one of dag_run_id or (start_date and end_date) must be provided"]})
        tasks = w.dags[dag_id]["_tasks"]
        # An unknown task id is no error (AIRFLOW.md: 404 only for an unknown
        # DAG or run): as DAG.partial_subset, it matches nothing.
        chosen = [t for t in (body.get("task_ids") or tasks) if t in tasks]
        # As DAG.partial_subset: both closures start from the named tasks
        # only (upstream of the downstream set would pull in siblings).
        named = set(chosen)
        chosen = set(named)
        if opt["include_downstream"]:
            chosen |= self.closure(named, {t: v["downstream_task_ids"] for t, v in tasks.items()})
        if opt["include_upstream"]:
            chosen |= self.closure(named, w.upstream(dag_id))
        if "dag_run_id" in body:
            run = w.runs[dag_id].get(body["dag_run_id"])
            if run is None:
                raise ApiError(404, "Dag Run not found",
                               "Dag Run id %s not found in dag %s" % (body["dag_run_id"], dag_id))
            start = end = run["_logical"]
        lo = None if opt["include_past"] else start
        hi = None if opt["include_future"] else end
        hits = []
        for run_id, run in w.runs[dag_id].items():
            if lo is not None and run["_logical"] < lo or hi is not None and run["_logical"] > hi:
                continue
            hits += self.select(w, dag_id, run, chosen, opt)
        if opt["include_subdags"]:
            hits = self.follow_markers(w, hits, opt)
        hits.sort(key=lambda p: (p[0]["_logical"], p[1]["dag_id"], p[1]["task_id"]))
        listing = [{"task_id": ti["task_id"], "dag_id": ti["dag_id"], "execution_date": ti["execution_date"],
                    "dag_run_id": ti["dag_run_id"]} for _, ti in hits]
        if not opt["dry_run"]:
            for run, ti in hits:
                if ti["state"] == "running":
                    ti["state"] = "restarting"
                else:
                    ti["state"] = None
                    ti["max_tries"] = ti["try_number"] + w.dags[ti["dag_id"]]["_tasks"][ti["task_id"]]["retries"]
                ti.update(_active=True, _at=now, _queued=None, _start=None, _end=None)
                if opt["reset_dag_runs"] and run["state"] in ("success", "failed"):
                    run.update(state="queued", end_date=None, _queued_at=now)
            if self.state.empty_clear:
                listing = []
        return json_response(200, {"task_instances": listing})

    @staticmethod
    def select(w, dag_id, run, chosen, opt):
        hits = []
        for tid in w.topo(dag_id):
            ti = w.tis.get((dag_id, run["dag_run_id"], tid))
            if ti is None or tid not in chosen:
                continue
            if opt["only_failed"] and ti["state"] not in ("failed", "upstream_failed"):
                continue
            if opt["only_running"] and ti["state"] != "running":
                continue
            hits.append((run, ti))
        return hits

    def follow_markers(self, w, hits, opt):
        """Recursive (include_subdags): a selected ExternalTaskMarker clears
        its external task and that task's downstream in the external DAG's
        run of the same logical date, and so on from markers there (at most
        10 levels, Airflow's max_recursion_depth)."""
        out, seen = list(hits), {(ti["dag_id"], ti["dag_run_id"], ti["task_id"]) for _, ti in hits}
        todo = [(run, ti, 0) for run, ti in hits]
        while todo:
            run, ti, depth = todo.pop(0)
            marker = w.dags[ti["dag_id"]]["_markers"].get(ti["task_id"])
            if marker is None or depth >= 10:
                continue
            ext_dag, ext_task = marker
            ext_run = next((r for r in w.runs.get(ext_dag, {}).values()
                            if abs(r["_logical"] - run["_logical"]) < 1e-6), None)
            if ext_run is None:
                continue
            tasks = w.dags[ext_dag]["_tasks"]
            chosen = {ext_task} | self.closure({ext_task}, {t: v["downstream_task_ids"] for t, v in tasks.items()})
            for hit in self.select(w, ext_dag, ext_run, chosen, opt):
                key = (ext_dag, ext_run["dag_run_id"], hit[1]["task_id"])
                if key not in seen:
                    seen.add(key)
                    out.append(hit)
                    todo.append((hit[0], hit[1], depth + 1))
        return out

    @staticmethod
    def closure(start, edges):
        out, todo = set(), list(start)
        while todo:
            for n in edges.get(todo.pop(), []):
                if n not in out:
                    out.add(n)
                    todo.append(n)
        return out

    # ---- control
    def control(self, req):
        st = self.state
        p, m = req.path, req.method
        with st.lock:
            w = st.world
            if p == "/_control/reset" and m == "POST":
                st.reset()
                return json_response(200, {"reset": True})
            if p == "/_control/state" and m == "GET":
                w.tick(st.now())
                return json_response(200, w.state_dump())
            if p == "/_control/set_state" and m == "POST":
                return self.set_state(req.json(), w, st.now())
            if p == "/_control/task_fate" and m == "POST":
                b = req.json()
                hits = [ti for (d, r, t), ti in w.tis.items()
                        if d == b.get("dag") and t == b.get("task") and b.get("run") in (None, r)]
                if not hits:
                    return json_response(404, {"error": "no such task instance"})
                for ti in hits:
                    ti["_fate"] = b.get("state", "failed")
                return json_response(200, {"task_instances": len(hits)})
            if p == "/_control/empty_clear_response" and m == "POST":
                st.empty_clear = bool(req.json().get("enabled", True))
                return json_response(200, {"empty_clear_response": st.empty_clear})
        return None

    @staticmethod
    def set_state(b, w, now):
        dag, run_id, task = b.get("dag"), b.get("run"), b.get("task")
        run = w.runs.get(dag, {}).get(run_id)
        if run is None:
            return json_response(404, {"error": "no run %s/%s" % (dag, run_id)})
        if task is None:
            run["state"] = b.get("state")
            if run["state"] in ("queued", "running"):
                run["_queued_at"] = now
            return json_response(200, w.run_view(run))
        ti = w.tis.get((dag, run_id, task))
        if ti is None:
            return json_response(404, {"error": "no task instance %s/%s/%s" % (dag, run_id, task)})
        was = ti["state"]
        ti["state"] = b.get("state")
        ti["_active"] = bool(b.get("activate", False))
        ti["_at"] = now
        if ti["state"] == "running" and was != "running":
            # A new try starts now (its log grows from here).
            ti.update(_start=now, _end=None, try_number=ti["try_number"] + 1)
            ti["hostname"] = "worker-%d.airflow.internal" % (h(ti["task_id"], ti["try_number"]) % 4)
            if ti["try_number"] > ti["max_tries"] + 1:
                ti["max_tries"] = ti["try_number"] - 1
        return json_response(200, w.ti_view(ti))


def main():
    ap = argparse.ArgumentParser(description="Airflow /api/v1 double for lakeop tests")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", default="ops")
    ap.add_argument("--password", default="pw")
    ap.add_argument("--viewer", default="viewer:pw", help="USER:PASSWORD of a read-only user ('' for none)")
    ap.add_argument("--runs", type=int, default=7, help="daily scheduled runs of supporter_experience")
    ap.add_argument("--task-seconds", type=float, default=2.0)
    ap.add_argument("--maximum-page-limit", type=int, default=100)
    ap.add_argument("--empty-clear-response", action="store_true")
    ap.add_argument("--seed", help="JSON: extra (or replacement) DAGs and task states")
    ap.add_argument("--first-date", help="logical date of the first scheduled run (YYYY-MM-DD; default 2024-01-01)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if args.first_date:
        # The sandbox wants runs of the last days, not of 2024.
        global BASE
        BASE = datetime.datetime.strptime(args.first_date, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
    serve(AirflowHandler, AirflowState(args), args.port, args.verbose)


if __name__ == "__main__":
    main()
