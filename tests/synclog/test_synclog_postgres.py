"""The sync log in a real PostgreSQL: the rows and the run, typed; a database down at the start (the run
fails, nothing sent) or lost mid-run (the run goes on, one warning line); the password in no output."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from support.ports import refusing_port
from support.postgres import READER_PASSWORD, Postgres, _run, _server_user, bin_dir, running_postgres
from synclog_support import API_KEY, Job, users_csv

from connector.sandbox import Sandbox

ROWS = 1000
REJECT_U2 = [{"status": 201, "body": {"message": "success", "errors": [
    {"type": "EMAIL_BAD_FORMAT", "input_array": "attributes", "index": 1}]}}]


def _tables() -> dict[str, str]:
    name = f"log_{uuid.uuid4().hex[:10]}"
    return {"table": name, "runs_table": f"{name}_runs"}


def _no_secret(job: Job, *texts: str) -> None:
    files = [p.read_text(errors="replace") for p in job.folder.iterdir() if p.suffix in (".json", ".jsonl")]
    for text in (*texts, *files):
        assert READER_PASSWORD not in text and API_KEY not in text


def test_rows_and_run_land_in_postgresql_typed(job: Job, sandbox: Sandbox, postgres: Postgres) -> None:
    tables = _tables()
    job.write("u.csv", "external_id,city\nu1,Oslo\nu2,Rome\nu3,Nice\n")
    job.config(input={"path": "u.csv"}, sync_log={"url": "${SYNC_LOG_URL}", **tables, "include_values": True},
               concurrency=1)
    sandbox.set_faults(script=REJECT_U2)
    run = job.run(env={"SYNC_LOG_URL": postgres.url()})
    assert run.code == 3, run.output
    _no_secret(job, run.output)
    rows = postgres.query(f'SELECT "row", identifier, outcome, error_type, attempts, row_values, '
                          f"acknowledged_at >= sent_at, pg_typeof(sent_at)::text, run_id "
                          f"FROM {tables['table']} ORDER BY \"row\"")
    assert [r[:5] for r in rows] == [(1, "u1", "delivered", None, 1), (2, "u2", "rejected", "EMAIL_BAD_FORMAT", 1),
                                     (3, "u3", "delivered", None, 1)]
    assert [json.loads(r[5]) for r in rows] == [{"external_id": f"u{n}", "city": c}
                                                for n, c in ((1, "Oslo"), (2, "Rome"), (3, "Nice"))]
    assert {r[6] for r in rows} == {True} and {r[7] for r in rows} == {"timestamp with time zone"}
    assert {r[8] for r in rows} == {run.report["run_id"]}
    [(status, exit_code, read, rejected, logged, ended)] = postgres.query(
        f"SELECT status, exit_code, rows_read, rows_rejected, rows_logged, ended_at > started_at "
        f"FROM {tables['runs_table']}")
    assert (status, exit_code, read, rejected, logged, ended) == ("partial", 3, 3, 1, 3, True)
    [(where,)] = postgres.query(f"SELECT count(*) FROM {tables['table']} WHERE identifier = 'u2'")
    assert where == 1
    stored = postgres.query(f"SELECT (SELECT string_agg(row_to_json(l)::text, '') FROM {tables['table']} l) || "
                            f"(SELECT string_agg(row_to_json(r)::text, '') FROM {tables['runs_table']} r)")[0][0]
    _no_secret(job, stored)
    assert "sync log: run" in run.stderr and "postgresql at 127.0.0.1" in run.stderr


def test_a_database_down_at_the_start_fails_the_run_before_anything_is_sent(job: Job, sandbox: Sandbox,
                                                                            postgres: Postgres) -> None:
    with refusing_port() as port:
        job.write("u.csv", users_csv(3))
        job.config(input={"path": "u.csv"}, sync_log={"url": "${SYNC_LOG_URL}"})
        run = job.run(env={"SYNC_LOG_URL": postgres.url(port=port)})
        assert run.code == 1, run.output
        assert [line for line in run.stderr.splitlines() if "error" in line] == [
            f"braze-export: error: sync log: cannot connect to the database (postgresql at 127.0.0.1:{port}, "
            f"database braze_test): the connection was refused (is the server running and listening on that port?)"]
        assert sandbox.requests() == [] and run.report["status"] == "failed" and run.report["rows_read"] == 0
        _no_secret(job, run.output)


def test_a_wrong_password_is_said_without_the_password(job: Job, sandbox: Sandbox, postgres: Postgres) -> None:
    job.write("u.csv", users_csv(3))
    job.config(input={"path": "u.csv"}, sync_log={"url": "${SYNC_LOG_URL}"})
    wrong = postgres.url(password=READER_PASSWORD + "-wrong")
    run = job.run(env={"SYNC_LOG_URL": wrong})
    assert run.code == 1, run.output
    assert "the user name or password was refused" in run.stderr
    _no_secret(job, run.output)
    assert READER_PASSWORD + "-wrong" not in run.output and sandbox.requests() == []


def _logged(server: Postgres, table: str) -> int:
    try:
        return server.query(f"SELECT count(*) FROM {table}")[0][0]
    except Exception:  # noqa: BLE001 - the table is created by the run itself
        return 0


def _writer_command_lines(pid: int) -> list[str]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    lines = [Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode() for child in children]
    assert any("connector.synclog.syncproc" in line for line in lines), lines
    return lines


def _stop(server: Postgres) -> None:
    done = _run([str(bin_dir() / "pg_ctl"), "-D", str(server.folder / "data"), "-m", "immediate", "-w", "stop"],
                _server_user(), home=str(server.folder))
    assert done.returncode == 0, done.stderr


def test_a_database_lost_mid_run_leaves_the_run_going_with_one_warning(job: Job, sandbox: Sandbox) -> None:
    job.write("u.csv", users_csv(ROWS))
    job.config(input={"path": "u.csv"}, sync_log={"url": "${SYNC_LOG_URL}"}, batch_size=10, concurrency=1)
    sandbox.set_faults(latency_ms=100)        # the run cannot end before the database is stopped
    with running_postgres() as server:
        proc = job.start(env={"SYNC_LOG_URL": server.url()})
        deadline = time.monotonic() + 60
        while _logged(server, "braze_sync_log") < 10:      # at least one flush is in
            assert time.monotonic() < deadline and proc.poll() is None, "the log never got a flush"
            time.sleep(0.02)
        _no_secret(job, *_writer_command_lines(proc.pid))     # the URL reaches the writer on its stdin
        _stop(server)
        sandbox.set_faults(latency_ms=0)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    report = json.loads((job.folder / "report.json").read_text())
    assert report["rows_delivered"] == ROWS and report["status"] == "success"
    assert len(sandbox.received("/users/track")) == ROWS
    warnings = [line for line in err.splitlines() if "the run goes on without the sync log" in line]
    assert len(warnings) == 1, err
    assert warnings[0].startswith("braze-export: warning: sync log") and "postgresql at 127.0.0.1" in warnings[0]
    assert 10 <= report["sync_log"]["rows_written"] < ROWS and "error" in report["sync_log"]
    assert "still says running" in err          # the run's row could not be updated either
    assert "Traceback" not in err
    _no_secret(job, out, err)
