"""Hostile servers and long outages: every request ends by its deadline, a stop has a bounded grace,
one unlucky batch costs its rows and not the run, and a dead Braze stops the job fast."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from e2e_support import API_KEY, Job
from hostile import Hostile
from support.ports import refusing_port

ATTRS = {"mode": "user_track", "track_record_type": "user_profile_attributes"}
EVENTS = {"mode": "user_track", "track_record_type": "custom_events"}
FAST = {"initial_retry_interval_millis": 10, "maximum_retry_interval_millis": 50}


@pytest.fixture
def hostile(request):
    server = Hostile(request.param)
    yield server
    server.close()


def _users(job: Job, count: int) -> None:
    job.write("u.csv", "external_id,n\n" + "".join(f"u{i},{i}\n" for i in range(1, count + 1)))


@pytest.mark.parametrize("hostile", ["trickle"], indirect=True)
def test_a_trickling_server_cannot_hold_a_request_past_its_timeout(tmp_path, hostile):
    job = Job(tmp_path, None)
    _users(job, 10)
    job.config(**ATTRS, **FAST, endpoint=hostile.url, timeout_millis=1000, maximum_retries=1,
               input={"path": "u.csv"})
    started = time.monotonic()
    run = job.run(timeout=60)
    elapsed = time.monotonic() - started
    assert run.code == 1 and hostile.requests == 2          # the first attempt and one retry
    assert elapsed < 10, elapsed                              # two 1 s deadlines, not 100 s of trickle
    assert run.report["requests_unknown_fate"] == 2 and run.report["rows_failed"] == 10
    assert all("no answer within the timeout" in r["reason"] for r in run.rejected)


@pytest.mark.parametrize("hostile", ["silent"], indirect=True)
def test_sigterm_waits_a_short_grace_for_requests_in_flight_then_writes_the_report(tmp_path, hostile):
    job = Job(tmp_path, None)
    _users(job, 300)
    job.config(**ATTRS, endpoint=hostile.url, concurrency=2, input={"path": "u.csv"})   # timeout 60 s
    proc = subprocess.Popen([sys.executable, "-m", "connector", "run", "--config", "config.yml",
                             "--report", "report.json"], cwd=tmp_path, text=True,
                            env={**os.environ, "BRAZE_API_KEY": API_KEY},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    hostile.wait_for_requests(2)
    stopped = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert time.monotonic() - stopped < 9, stderr       # within Docker's 10 s stop grace
    assert proc.returncode == 1 and "interrupted" in stderr and "Traceback" not in stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["status"] == "failed" and report["rows_read"] == report["rows_failed"] > 0
    assert report["requests_unknown_fate"] == 2
    rejected = [json.loads(line) for line in (tmp_path / "rejected.jsonl").read_text().splitlines()]
    in_flight = [r for r in rejected if "did not come before the job stopped" in r["reason"]]
    assert len(in_flight) == 150 and len(rejected) == report["rows_failed"]


def test_one_batch_out_of_retries_fails_its_rows_and_the_job_goes_on(job, sandbox):
    # one user's 750 updates: each batch waits for the one before it, so the first batch, parked
    # between its attempts, is the one the three 503s answer
    job.write("u.csv", "external_id,n\n" + "".join(f"u1,{i}\n" for i in range(1, 751)))
    job.config(**ATTRS, **FAST, concurrency=1, maximum_retries=2, input={"path": "u.csv"})
    sandbox.set_faults(script=[{"status": 503}] * 3)
    run = job.run()
    assert run.code == 1, run.output[-2000:]
    r = run.report
    assert (r["rows_read"], r["rows_delivered"], r["rows_failed"]) == (750, 675, 75)
    assert {x["row"] for x in run.rejected} == set(range(1, 76))
    assert sandbox.user("u1")["attributes"]["n"] == "750"   # the later rows were sent after the failed ones
    assert all("not delivered after 3 attempts; last: HTTP 503" in x["reason"] for x in run.rejected)


def test_a_dead_braze_stops_the_job_fast(tmp_path):
    with refusing_port() as port:                 # held, and nothing listens there
        job = Job(tmp_path, None)
        _users(job, 100_000)
        job.config(**ATTRS, **FAST, endpoint=f"http://127.0.0.1:{port}", concurrency=2, maximum_retries=3,
                   input={"path": "u.csv"})
        run = job.run(timeout=60)
        assert run.code == 1 and "batches in a row could not be delivered" in run.report["error"]
        assert run.report["elapsed_seconds"] < 10 and run.report["rows_read"] < 100_000


@pytest.mark.parametrize("hostile", ["silent"], indirect=True)
def test_at_most_once_against_a_dead_server_stops_after_a_few_timeouts(tmp_path, hostile):
    job = Job(tmp_path, None)
    job.write("e.csv", "external_id,name,time\n" + "".join(f"u{i},e,2026-11-01T10:00:00Z\n" for i in range(20_000)))
    job.config(**EVENTS, endpoint=hostile.url, event_delivery="at_most_once", concurrency=2,
               timeout_millis=500, input={"path": "e.csv"})
    run = job.run(timeout=60)
    assert run.code == 1 and "batches in a row could not be delivered" in run.report["error"]
    assert run.report["elapsed_seconds"] < 8, run.report      # was: every batch waited out its timeout
    lost = [x for x in run.rejected if x["reason"].startswith("the connection was lost after the request was sent")]
    assert len(lost) == run.report["requests_unknown_fate"] * 75
