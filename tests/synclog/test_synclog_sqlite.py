"""The sync log in SQLite through the real CLI and a real sandbox: one row per input row per run, with
its user, outcome, reason and times; the runs table; reruns and resume; a table of another shape."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from pathlib import Path

from synclog_support import API_KEY, Job, sqlite_rows, sqlite_runs, users_csv

LOG = {"url": "sqlite:///sync-log.db"}
REJECT_U3 = [{"status": 201, "body": {"message": "success", "errors": [
    {"type": "BAD_EMAIL_SUBSCRIPTION_STATE", "input_array": "attributes", "index": 2}]}}]


def test_every_row_is_logged_with_its_user_outcome_reason_and_times(job: Job, sandbox) -> None:
    job.write("u.csv", "external_id,alias_name,alias_label,email,city\n"
                       "u1,,,,Oslo\n"
                       ",n2,lab,,Rome\n"
                       "u3,,,,Bergen\n"
                       ",,,d@example.com,Nice\n"
                       ",,,,Nowhere\n")
    job.config(input={"path": "u.csv"}, skip_on_invalid_records=True, sync_log=LOG, concurrency=1)
    sandbox.set_faults(script=REJECT_U3)
    run = job.run()
    assert run.code == 0, run.output
    report = run.report
    assert re.fullmatch(r"[0-9a-f-]{36}", report["run_id"])
    assert report["sync_log"] == {"table": "braze_sync_log", "rows_written": 5}
    rows = {r["row"]: r for r in sqlite_rows(job.folder / "sync-log.db")}
    assert set(rows) == {1, 2, 3, 4, 5}
    assert {r["run_id"] for r in rows.values()} == {report["run_id"]}
    who = {n: (r["identifier_type"], r["identifier"], r["alias_label"], r["outcome"]) for n, r in rows.items()}
    assert who == {1: ("external_id", "u1", None, "delivered"), 2: ("user_alias", "n2", "lab", "delivered"),
                   3: ("external_id", "u3", None, "rejected"), 4: ("email", "d@example.com", None, "delivered"),
                   5: (None, None, None, "skipped")}
    assert rows[3]["error_type"] == "BAD_EMAIL_SUBSCRIPTION_STATE"
    assert rows[3]["reason"] == "rejected by Braze: BAD_EMAIL_SUBSCRIPTION_STATE"
    assert rows[5]["reason"].startswith("no user identifier") and rows[5]["attempts"] == 0
    assert rows[5]["sent_at"] is None and rows[5]["acknowledged_at"] is None
    for n in (1, 2, 3, 4):
        r = rows[n]
        assert (r["mode"], r["record_type"], r["attempts"]) == ("user_track", "user_profile_attributes", 1)
        assert r["reason"] is None or n == 3
        assert r["sent_at"] <= r["acknowledged_at"]
        assert r["row_values"] is None          # values are personal data: only with include_values
    [request] = sandbox.requests("/users/track")
    assert abs(_epoch(rows[1]["acknowledged_at"]) - request["time"]) < 5       # UTC, as the server saw it


def _epoch(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp()


def test_the_runs_table_holds_the_report_the_fingerprint_and_the_input(job: Job, sandbox) -> None:
    job.write("u.csv", users_csv(3))
    job.config(input={"path": "u.csv"}, sync_log=LOG, max_rejected_ratio=0.5)
    sandbox.set_faults(script=REJECT_U3)
    run = job.run()
    assert run.code == 3, run.output
    [one] = sqlite_runs(job.folder / "sync-log.db")
    report = run.report
    assert one["run_id"] == report["run_id"] and one["status"] == "partial" and one["exit_code"] == 3
    for name in ("rows_read", "rows_delivered", "rows_skipped", "rows_rejected", "rows_failed", "requests", "retries"):
        assert one[name] == report[name], name
    assert one["rows_logged"] == 3 and one["error"] is None
    assert (one["mode"], one["record_type"]) == ("user_track", "user_profile_attributes")
    assert re.fullmatch(r"[0-9a-f]{32}", one["config_fingerprint"])
    assert json.loads(one["input"]) == {"format": "csv", "path": str(job.folder / "u.csv")}
    assert one["started_at"] < one["ended_at"] and one["version"]
    assert API_KEY not in json.dumps(one)


def test_the_fingerprint_changes_with_the_config_not_with_its_secrets(job: Job, sandbox) -> None:
    job.write("u.csv", users_csv(2))
    job.config(input={"path": "u.csv"}, sync_log=LOG)
    assert job.run().code == 0
    job.config(input={"path": "u.csv"}, sync_log=LOG, api_key=API_KEY)      # the same key, written out
    assert job.run().code == 0
    job.config(input={"path": "u.csv"}, sync_log=LOG, batch_size=10)
    assert job.run().code == 0
    first, second, third = [r["config_fingerprint"] for r in sqlite_runs(job.folder / "sync-log.db")]
    assert first == second != third


def test_include_values_writes_each_rows_values_as_json(job: Job) -> None:
    job.write("u.csv", "external_id,points,vip\nu1,5,true\nü2,6,false\n")
    job.config(input={"path": "u.csv", "columns": {"points": "long", "vip": "boolean"}},
               sync_log={**LOG, "include_values": True})
    assert job.run().code == 0
    rows = sqlite_rows(job.folder / "sync-log.db")
    assert [json.loads(r["row_values"]) for r in rows] == [{"external_id": "u1", "points": 5, "vip": True},
                                                         {"external_id": "ü2", "points": 6, "vip": False}]
    assert [r["identifier"] for r in rows] == ["u1", "ü2"]


def test_a_rerun_is_a_new_run_and_the_first_runs_rows_stay(job: Job) -> None:
    job.write("u.csv", users_csv(4))
    job.config(input={"path": "u.csv"}, sync_log=LOG)
    first, second = job.run(), job.run()
    assert first.code == second.code == 0
    assert first.report["run_id"] != second.report["run_id"]
    rows = sqlite_rows(job.folder / "sync-log.db")
    assert sorted((r["run_id"], r["row"]) for r in rows) == sorted(
        (run.report["run_id"], n) for run in (first, second) for n in range(1, 5))
    assert [r["status"] for r in sqlite_runs(job.folder / "sync-log.db")] == ["success", "success"]


def test_resume_keeps_the_earlier_runs_rows_and_logs_what_this_run_did(job: Job, sandbox) -> None:
    job.write("u.csv", users_csv(100))
    job.config(input={"path": "u.csv"}, sync_log=LOG, state_file="state.db", batch_size=10, concurrency=1)
    sandbox.set_faults(script=[{"status": 201}, {"status": 201}, {"status": 201}, {"status": 401}])
    first = job.run()
    assert first.code == 1, first.output
    second = job.run()
    assert second.code == 0, second.output
    assert second.report["rows_delivered_earlier"] == 30
    rows = sqlite_rows(job.folder / "sync-log.db")
    mine = {r["row"]: r for r in rows if r["run_id"] == first.report["run_id"]}
    again = {r["row"]: r for r in rows if r["run_id"] == second.report["run_id"]}
    assert len(mine) == first.report["rows_read"] and len(again) == 100 and first.report["rows_failed"] > 0
    assert {n for n, r in mine.items() if r["outcome"] == "delivered"} == set(range(1, 31))
    assert all(r["outcome"] == "failed" for n, r in mine.items() if n > 30)
    assert "HTTP 401" in mine[31]["reason"] and mine[31]["attempts"] == 1
    assert all(r["attempts"] == 0 and r["reason"].startswith("not sent in this run") for n, r in again.items() if n <= 30)
    assert all(r["outcome"] == "delivered" and r["attempts"] == 1 for n, r in again.items() if n > 30)
    assert [r["identifier"] for r in again.values()] == [f"u{n}" for n in range(1, 101)]   # keyed from the values
    assert [r["status"] for r in sqlite_runs(job.folder / "sync-log.db")] == ["failed", "success"]


def test_a_table_of_another_shape_is_refused_and_not_altered(job: Job, sandbox) -> None:
    with sqlite3.connect(job.folder / "sync-log.db") as conn:
        conn.execute('CREATE TABLE braze_sync_log (run_id TEXT, "row" INTEGER, note TEXT)')
    job.write("u.csv", users_csv(2))
    job.config(input={"path": "u.csv"}, sync_log=LOG)
    run = job.run()
    assert run.code == 2, run.output
    errors = [line for line in run.stderr.splitlines() if line.startswith("braze-export: error:")]
    assert errors == ["braze-export: error: sync_log.table: the table braze_sync_log exists with other columns "
                      "(missing identifier_type, identifier, alias_label, mode, record_type, outcome, reason, "
                      "error_type, attempts, sent_at, acknowledged_at, row_values; not ours note); it is not "
                      "altered: drop or rename it, or name another table"]
    assert "Traceback" not in run.output
    assert sandbox.requests() == []
    with sqlite3.connect(job.folder / "sync-log.db") as conn:
        assert [c[1] for c in conn.execute("PRAGMA table_info(braze_sync_log)")] == ["run_id", "row", "note"]
    assert run.report["status"] == "failed" and run.report["rows_read"] == 0


def test_a_sqlite_file_that_cannot_be_opened_fails_the_run_before_anything_is_sent(job: Job, sandbox) -> None:
    job.write("u.csv", users_csv(2))
    job.config(input={"path": "u.csv"}, sync_log={"url": "sqlite:///no/such/folder/log.db"})
    run = job.run()
    assert run.code == 1, run.output
    [error] = [line for line in run.stderr.splitlines() if "error:" in line]
    assert error == ("braze-export: error: sync log: cannot connect to the database (sqlite at local, database "
                     "no/such/folder/log.db): the connection failed (OperationalError)")
    assert sandbox.requests() == []


def test_without_sqlalchemy_one_line_names_the_extra(job: Job, sandbox, tmp_path: Path) -> None:
    fake = tmp_path / "nosqlalchemy" / "sqlalchemy"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named sqlalchemy')\n")
    job.write("u.csv", users_csv(2))
    job.config(input={"path": "u.csv"}, sync_log=LOG)
    run = job.run(env={"PYTHONPATH": str(fake.parent)})
    assert run.code == 2, run.output
    assert [line for line in run.stderr.splitlines() if "error" in line] == [
        "braze-export: error: sync_log needs SQLAlchemy: pip install 'braze-export[synclog]' "
        "(for PostgreSQL: 'braze-export[synclog,postgres]')"]
    assert sandbox.requests() == [] and not (job.folder / "sync-log.db").exists()


def test_a_dry_run_writes_no_sync_log(job: Job) -> None:
    job.write("u.csv", users_csv(2))
    job.config(input={"path": "u.csv"}, sync_log=LOG)
    run = job.run("--dry-run")
    assert run.code == 0, run.output
    assert not (job.folder / "sync-log.db").exists() and "sync_log" not in run.report
