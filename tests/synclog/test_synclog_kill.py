"""A run killed with SIGKILL mid-run leaves the rows its log had committed: every one of them true to
what Braze got, the run marked running, the database whole; the next run is a new run beside it."""

from __future__ import annotations

import signal
import sqlite3
import time

from synclog_support import Job, sqlite_rows, sqlite_runs, users_csv

ROWS = 3000


def _logged(path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT count(*) FROM braze_sync_log").fetchone()[0]
    except sqlite3.OperationalError:        # the run has not created the table yet
        return 0


def test_sigkill_leaves_the_committed_rows_and_a_running_run(job: Job, sandbox) -> None:
    db = job.folder / "sync-log.db"
    job.write("u.csv", users_csv(ROWS))
    job.config(input={"path": "u.csv"}, sync_log={"url": "sqlite:///sync-log.db"}, batch_size=10, concurrency=2)
    sandbox.set_faults(latency_ms=20)
    proc = job.start()
    try:
        deadline = time.monotonic() + 60
        while _logged(db) < 200:        # a few flushes are in
            assert time.monotonic() < deadline and proc.poll() is None, "the log got no rows"
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    rows = sqlite_rows(db)
    assert 200 <= len(rows) < ROWS
    received = {o["object"]["external_id"] for o in sandbox.received("/users/track")}
    assert all(r["outcome"] == "delivered" for r in rows)
    assert {r["identifier"] for r in rows} <= received       # every logged row is one Braze acknowledged
    assert len({(r["run_id"], r["row"]) for r in rows}) == len(rows)
    [run] = sqlite_runs(db)
    assert (run["status"], run["ended_at"], run["rows_read"]) == ("running", None, None)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    sandbox.set_faults(latency_ms=0)
    again = job.run()
    assert again.code == 0, again.output
    runs = sqlite_runs(db)
    assert [r["status"] for r in runs] == ["running", "success"]
    assert len(sqlite_rows(db, where="WHERE run_id = ?", args=(again.report["run_id"],))) == ROWS
    assert len(sqlite_rows(db, where="WHERE run_id = ?", args=(run["run_id"],))) == len(rows)
