"""max_rejected_ratio and max_failed_ratio: beyond them the run is failed, exit 1, the ratio said."""

from __future__ import annotations

import pytest
from synclog_support import Job, users_csv

from connector.outcomes.ledger import Counts
from connector.outcomes.report import ratio_error

REJECT_ONE = [{"status": 201, "body": {"message": "success", "errors": [
    {"type": "EMAIL_BAD_FORMAT", "input_array": "attributes", "index": 0}]}}]


def test_rejections_beyond_the_limit_fail_the_run(job: Job, sandbox) -> None:
    job.write("u.csv", users_csv(3))
    job.config(input={"path": "u.csv"}, max_rejected_ratio=0.2)
    sandbox.set_faults(script=REJECT_ONE)
    run = job.run()
    assert run.code == 1, run.output
    assert run.report["status"] == "failed" and run.report["rows_delivered"] == 2
    line = "1 of 3 rows were rejected by Braze (33.33%), more than max_rejected_ratio 0.2 (20.00%)"
    assert run.report["error"] == line
    assert f"braze-export: error: {line}" in run.stderr.splitlines()


def test_rejections_within_the_limit_keep_exit_3(job: Job, sandbox) -> None:
    job.write("u.csv", users_csv(3))
    job.config(input={"path": "u.csv"}, max_rejected_ratio=0.5)
    sandbox.set_faults(script=REJECT_ONE)
    run = job.run()
    assert (run.code, run.report["status"]) == (3, "partial")


def test_skipped_rows_count_against_max_failed_ratio(job: Job) -> None:
    job.write("u.csv", "external_id,city\nu1,Oslo\n,Rome\n,Nice\nu4,Bergen\n")
    job.config(input={"path": "u.csv"}, skip_on_invalid_records=True, max_failed_ratio=0.25)
    run = job.run()
    assert run.code == 1, run.output
    assert run.report["error"] == "2 of 4 rows were not delivered (50.00%), more than max_failed_ratio 0.25 (25.00%)"
    job.config(input={"path": "u.csv"}, skip_on_invalid_records=True, max_failed_ratio=0.5)
    assert job.run().code == 0


@pytest.mark.parametrize("counts, limits, words", [
    ((10, 10, 0, 0, 0), (0.0, 0.0), None),
    ((10, 9, 0, 1, 0), (0.1, None), None),                    # exactly the limit is within it
    ((10, 9, 0, 1, 0), (0.05, None), "1 of 10 rows were rejected by Braze (10.00%)"),
    ((10, 8, 1, 0, 1), (None, 0.1), "2 of 10 rows were not delivered (20.00%)"),
    ((0, 0, 0, 0, 0), (0.0, 0.0), None),                      # nothing read: no ratio
])
def test_ratio_error(counts, limits, words) -> None:
    error = ratio_error(Counts(*counts, 1, 0, 0), *limits)
    assert (error is None) if words is None else str(error).startswith(words)
