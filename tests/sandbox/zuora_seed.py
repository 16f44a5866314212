#!/usr/bin/env python3
"""Writes the sandbox's Zuora history, consistently for both sides:

  zuora_seed.py jobs.json objects.conf history.sql

- jobs.json: the jobs the Zuora double serves (POST /_control/job each, or
  its --seed file): a week of daily stateful exports of 13 objects, one with
  an aborted batch, one still running, one full load, one stuck in error;
- objects.conf: the matching [object] sections for lakeop's config;
- history.sql: the same jobs in lakeop's zuora_jobs / zuora_batches, as the
  scheduled exporter would have left them (origin 'scheduled'), each ended
  job ending some 40 minutes after its start (ended_at), so the demo shows
  realistic durations.
Deterministic: ids derive from the day and the object.
"""
import datetime as dt
import hashlib
import json
import sys

OBJECTS = [
    # name, fields, where
    ("Account", "Balance, AutoPay, Currency, Id, IdentityId__c, LastInvoiceDate, sfContactId__c, MRR",
     "WHERE Status != 'Canceled'"),
    ("Subscription", "Id, Name, Status, TermStartDate, TermEndDate, AutoRenew, CancelledDate, Version", ""),
    ("Contact", "Id, FirstName, LastName, Country, State, PostalCode, WorkEmail", ""),
    ("RatePlan", "Id, Name, AmendmentType, CreatedDate, UpdatedDate", ""),
    ("RatePlanCharge", "Id, Name, ChargeType, EffectiveStartDate, EffectiveEndDate, MRR, TCV", ""),
    ("RatePlanChargeTier", "Id, Currency, Price, StartingUnit, EndingUnit", ""),
    ("Product", "Id, Name, Category, EffectiveStartDate, EffectiveEndDate", ""),
    ("ProductRatePlan", "Id, Name, EffectiveStartDate, EffectiveEndDate", ""),
    ("Invoice", "Id, InvoiceNumber, InvoiceDate, Amount, Balance, Status", ""),
    ("InvoiceItem", "Id, ChargeAmount, ChargeDate, ServiceStartDate, ServiceEndDate, TaxAmount", ""),
    ("Payment", "Id, Amount, EffectiveDate, Status, Type, GatewayResponse", ""),
    ("PaymentMethod", "Id, Type, CreditCardType, LastTransactionStatus, NumConsecutiveFailures", ""),
    ("Refund", "Id, Amount, RefundDate, Status, Type, ReasonCode", ""),
]

PARTNER = "guardian-12357"
PROJECT = "zuora-datalake-export-2"


def hexid(*parts):
    return "2c92c0f8" + hashlib.sha256("/".join(parts).encode()).hexdigest()[:24]


def snake(name):
    out = ""
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out += "_"
        out += ch.lower()
    return out


def query(name, fields, where):
    cols = ", ".join(f"{name}.{f.strip()}" for f in fields.split(","))
    return f"SELECT {cols} FROM {name} {where}".strip()


def main():
    jobs_path, conf_path, sql_path = sys.argv[1:4]
    # The story the demo opens on: this morning's scheduled export aborted on
    # InvoiceItem (the sandbox then re-exports from yesterday with lakeop
    # itself, so a real job runs while you watch).  Times are relative to
    # now, so "in the last day" holds whenever the sandbox starts.
    now = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    today = now - dt.timedelta(hours=3)
    jobs = []
    for back in range(8, 0, -1):
        manual = False
        day = now - dt.timedelta(minutes=40) if manual else today - dt.timedelta(days=back - 1)
        job_id = hexid("job", "manual" if manual else day.strftime("%Y-%m-%d"))
        status = "completed"
        if manual:
            status = "executing"
        elif back == 1:
            status = "aborted"        # this morning's InvoiceItem hit Zuora's time limit
        elif back == 5:
            status = "error"        # stuck in error with no aborted batch
        full = back == 7
        batches = []
        for i, (name, fields, where) in enumerate(OBJECTS):
            bstatus = {"completed": "completed", "executing": "executing" if i < 4 else "pending",
                       "aborted": "completed", "error": "completed"}[status]
            message = ""
            if status == "aborted" and name == "InvoiceItem":
                bstatus = "aborted"
                message = "Query exceeded its time limit of 3 hours. Please reduce the amount of data queried."
            if status == "error" and i >= 9:
                bstatus = "pending"
            records = (50 + (back * 37 + i * 101) % 900) * (40 if full else 1)
            if name == "InvoiceItem":
                records *= 20
            b = {"batchId": hexid("batch", job_id, name), "name": name,
                 "query": query(name, fields, where), "batchType": "zoqlexport",
                 "apiVersion": "91.0", "full": full, "status": bstatus,
                 "localizedStatus": bstatus, "message": message,
                 "recordCount": records if bstatus == "completed" else 0,
                 "deleted": {"column": "IsDeleted", "format": "Boolean"}}
            if bstatus == "completed":
                if full and name == "InvoiceItem":
                    b["segments"] = [hexid("file", job_id, name, str(k)) for k in range(3)]
                else:
                    b["fileId"] = hexid("file", job_id, name)
            batches.append(b)
        jobs.append({"id": job_id, "name": "lakeop-export" if manual else "zuora-datalake-export",
                     "status": status, "origin": "lakeop" if manual else "scheduled",
                     "version": "1.1", "format": "CSV", "encrypted": "none",
                     "partner": PARTNER, "project": PROJECT,
                     "startTime": day.strftime("%Y-%m-%d %H:%M:%S"),
                     # Not Zuora's: when the exporter saw it end (None: running).
                     "endedAt": None if status == "executing"
                     else (day + dt.timedelta(minutes=36 + back * 7 % 9, seconds=back * 13 % 60))
                     .strftime("%Y-%m-%d %H:%M:%S"),
                     "incrementalTime": None if full else (today - dt.timedelta(days=1) if manual else day - dt.timedelta(days=1)).strftime("%Y-%m-%d 00:00:00"),
                     "batches": batches})

    with open(jobs_path, "w") as f:
        # incrementalTime is what was sent, not part of Zuora's job shape.
        json.dump([{k: v for k, v in j.items() if k not in ("incrementalTime", "endedAt", "origin")} for j in jobs], f, indent=1)

    with open(conf_path, "w") as f:
        for name, fields, where in OBJECTS:
            f.write(f'[object "{name}"]\n')
            f.write(f"zoql  = {query(name, fields, where)}\n")
            f.write(f"raw   = s3://ophan-raw-zuora-increment-{name.lower()}/{name}.csv\n")
            # airflow_seed.json has a task per object, named so.
            f.write(f"stage = zuora_{snake(name)}\n\n")

    def lit(v):
        if v is None:
            return "NULL"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return str(v)
        return "'" + str(v).replace("'", "''") + "'"

    with open(sql_path, "w") as f:
        f.write("\\set ON_ERROR_STOP on\nBEGIN;\n")
        for j in jobs:
            last = {k: v for k, v in j.items() if k not in ("incrementalTime", "endedAt", "origin")}
            ended = j["endedAt"] + "+00" if j["endedAt"] else None
            f.write("INSERT INTO lakeop.zuora_jobs (job_id, env, name, partner, project, incremental_time, status,"
                    " origin, start_time, submitted_at, updated_at, ended_at, last_json) VALUES ("
                    f"{lit(j['id'])}, 'CODE', {lit(j['name'])}, {lit(PARTNER)}, {lit(PROJECT)}, "
                    f"{lit(j['incrementalTime'])}, {lit(j['status'])}, {lit(j['origin'])}, "
                    f"{lit(j['startTime'] + '+00')}, {lit(j['startTime'] + '+00')}, {lit(ended or j['startTime'] + '+00')}, "
                    f"{lit(ended)}, {lit(json.dumps(last))}::jsonb) ON CONFLICT (job_id) DO NOTHING;\n")
            for b in j["batches"]:
                f.write("INSERT INTO lakeop.zuora_batches (job_id, batch_id, name, status, record_count, file_id,"
                        " segments, full_load, message, query, last_json) VALUES ("
                        f"{lit(j['id'])}, {lit(b['batchId'])}, {lit(b['name'])}, {lit(b['status'])}, "
                        f"{lit(b['recordCount'])}, {lit(b.get('fileId'))}, "
                        f"{lit(json.dumps(b['segments'])) + '::jsonb' if 'segments' in b else 'NULL'}, "
                        f"{lit(b['full'])}, {lit(b['message'])}, {lit(b['query'])}, {lit(json.dumps(b))}::jsonb)"
                        " ON CONFLICT (batch_id) DO NOTHING;\n")
        f.write("COMMIT;\n")


if __name__ == "__main__":
    main()
