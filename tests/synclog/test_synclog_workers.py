"""`workers: N` is one run: every worker writes its rows to the one sync log under the parent's run
id, the parent writes the one runs row, sends the one notice and applies the ratio limits to the total."""

from __future__ import annotations

from synclog_support import Job, Receiver, sqlite_rows, sqlite_runs, users_csv

ROWS = 600


def test_two_workers_write_one_log_one_run_and_one_notice(job: Job, receiver: Receiver) -> None:
    job.write("u.csv", users_csv(ROWS))
    job.config(input={"path": "u.csv"}, workers=2, batch_size=20, sync_log={"url": "sqlite:///sync-log.db"},
               notify={"url": receiver.url, "secret": "${NOTIFY_SECRET}"})
    run = job.run()
    assert run.code == 0, run.output
    report = run.report
    assert report["sync_log"] == {"table": "braze_sync_log", "rows_written": ROWS}
    rows = sqlite_rows(job.folder / "sync-log.db")
    assert sorted(r["row"] for r in rows) == list(range(1, ROWS + 1))
    assert {r["run_id"] for r in rows} == {report["run_id"]}
    assert {r["identifier"] for r in rows} == {f"u{i}" for i in range(1, ROWS + 1)}
    [one] = sqlite_runs(job.folder / "sync-log.db")
    assert (one["run_id"], one["status"], one["rows_read"], one["rows_logged"]) == (report["run_id"], "success",
                                                                                    ROWS, ROWS)
    [notice] = receiver.wait_for(1)
    assert notice.verified and notice.json["run_id"] == report["run_id"]
    assert notice.json["counts"]["rows_delivered"] == ROWS
    assert len(receiver.notices) == 1


def test_the_ratio_limit_is_the_parents_over_all_workers(job: Job, sandbox) -> None:
    job.write("u.csv", users_csv(40))
    job.config(input={"path": "u.csv"}, workers=2, batch_size=10, max_rejected_ratio=0.2)
    rejection = {"status": 201, "body": {"message": "success", "errors": [
        {"type": "BAD", "input_array": "attributes", "index": i} for i in range(10)]}}
    sandbox.set_faults(script=[rejection])        # one whole batch of 10 rows rejected: 25% of 40
    run = job.run()
    assert run.code == 1, run.output
    assert run.report["status"] == "failed" and run.report["rows_rejected"] == 10
    assert run.report["error"] == ("10 of 40 rows were rejected by Braze (25.00%), more than "
                                   "max_rejected_ratio 0.2 (20.00%)")
    assert run.stderr.count("braze-export: error:") == 1
