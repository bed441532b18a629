"""Resume: a run killed with SIGKILL and started again delivers every row, resending only rows
whose request was in flight at the kill; one run at a time per state file; a changed input mid-job."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time

from e2e_support import API_KEY, Job

EVENTS = {"mode": "user_track", "track_record_type": "custom_events", "state_file": "state.db",
          "batch_size": 10, "concurrency": 2, "input": {"path": "events.csv", "columns": {"n": "long"}}}
ROWS = 400


def _events(job: Job, first: int = 1, last: int = ROWS) -> None:
    job.write("events.csv", "external_id,name,time,n\n" + "".join(
        f"u{i % 37},played,2024-05-01T10:00:00Z,{i}\n" for i in range(first, last + 1)))


def _start(job: Job, *args: str) -> subprocess.Popen:
    env = {**os.environ, "BRAZE_API_KEY": API_KEY}
    return subprocess.Popen([sys.executable, "-m", "connector", "run", "--config", "config.yml", *args],
                            cwd=job.folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(condition, timeout: float = 60) -> None:
    """Poll a condition on the sandbox until it holds (bounded)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the sandbox"
        time.sleep(0.005)


def _received(sandbox) -> int:
    return sandbox.stats()["objects_received"]


def _idle(sandbox) -> bool:
    """No connection open: every request the killed client sent has been handled to its end."""
    return sandbox.idle()


def _kill_after(job: Job, sandbox, objects: int) -> None:
    proc = _start(job)
    try:
        _wait_for(lambda: _received(sandbox) >= objects)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _times_stored(sandbox) -> collections.Counter:
    return collections.Counter(e["properties"]["n"] for e in sandbox.events("played"))


def test_a_run_killed_with_sigkill_resumes_without_resending_acknowledged_rows(job, sandbox):
    _events(job)
    job.config(**EVENTS)
    sandbox.set_faults(latency_ms=40)
    _kill_after(job, sandbox, 150)
    sandbox.set_faults(latency_ms=0)
    _wait_for(lambda: _idle(sandbox))       # the server still applies what was in flight at the kill
    before = _times_stored(sandbox)
    assert 150 <= sum(before.values()) < ROWS

    run = job.run()
    assert run.code == 0, run.output[-2000:]
    r = run.report
    assert r["resumed"] is True and r["status"] == "success"
    assert (r["rows_read"], r["rows_delivered"], r["rows_failed"]) == (ROWS, ROWS, 0)
    unknown = r["rows_unknown_fate_at_resume"]
    assert 0 < unknown <= 2 * 10            # at most one batch per lane (concurrency x batch_size)
    earlier = r["rows_delivered_earlier"]
    assert earlier >= sum(before.values()) - unknown
    # This run sent exactly the rows not acknowledged before the kill.
    sent_now = len(sandbox.received("/users/track")) - sum(before.values())
    assert sent_now == ROWS - earlier

    stored = _times_stored(sandbox)
    assert set(stored) == set(range(1, ROWS + 1))                   # every row delivered
    twice = [n for n, c in stored.items() if c > 1]
    assert max(stored.values()) <= 2 and len(twice) <= unknown      # duplicates: only unknown-fate rows
    assert f"{unknown} rows were in flight when the earlier run stopped" in run.stderr

    again = job.run()                                               # the input is done: nothing is sent
    assert again.code == 0 and again.report["requests"] == 0
    assert again.report["rows_delivered_earlier"] == ROWS == again.report["rows_delivered"]
    assert _times_stored(sandbox) == stored


def test_at_most_once_fails_the_rows_in_flight_at_the_kill_and_never_resends_them(job, sandbox):
    _events(job)
    job.config(**EVENTS, event_delivery="at_most_once")
    sandbox.set_faults(latency_ms=40)
    _kill_after(job, sandbox, 100)
    sandbox.set_faults(latency_ms=0)
    _wait_for(lambda: _idle(sandbox))

    run = job.run()
    r = run.report
    unknown = r["rows_unknown_fate_at_resume"]
    assert run.code == 1 and unknown > 0
    assert r["rows_failed"] == unknown and r["rows_delivered"] == ROWS - unknown
    lost = [x for x in run.rejected if "in flight when an earlier run stopped" in x["reason"]]
    assert len(lost) == unknown and {x["outcome"] for x in lost} == {"failed"}
    stored = _times_stored(sandbox)
    assert max(stored.values()) == 1                                # no event stored twice
    assert set(range(1, ROWS + 1)) - set(stored) <= {x["values"]["n"] for x in lost}

    again = job.run()                                               # still not resent on a later run
    assert again.report["requests"] == 0 and again.report["rows_failed"] == unknown
    assert _times_stored(sandbox) == stored


def test_a_second_run_on_the_same_state_file_is_refused(job, sandbox):
    _events(job)
    job.config(**EVENTS)
    sandbox.set_faults(latency_ms=30)
    first = _start(job)
    try:
        _wait_for(lambda: _received(sandbox) >= 10)
        second = job.run()
    finally:
        sandbox.set_faults(latency_ms=0)
        out, err = first.communicate(timeout=60)
    assert second.code == 1
    assert "another run is using the state file state.db (pid " in second.stderr
    assert f"pid {first.pid}," in second.stderr
    assert second.report["rows_read"] == 0 and second.report["status"] == "failed"
    assert first.returncode == 0, err[-2000:]
    assert sorted(_times_stored(sandbox).values()) == [1] * ROWS


def test_a_changed_input_with_an_unfinished_job_needs_restart(job, sandbox):
    _events(job)
    job.config(**EVENTS, maximum_retries=0)
    # A 404 aborts the job (a batch out of retries only fails its rows: docs/delivery.md).
    sandbox.set_faults(script=[{"status": 200}] * 3 + [{"status": 404}])
    first = job.run()
    assert first.code == 1 and first.report["rows_delivered"] >= 30     # aborted part-way

    _events(job, 1, ROWS + 5)
    refused = job.run()
    assert refused.code == 2 and refused.report["requests"] == 0
    assert "unfinished job of this config on another input" in refused.stderr
    assert "events.csv" in refused.stderr and "--restart" in refused.stderr

    restarted = job.run("--restart")
    assert restarted.code == 0 and restarted.report["rows_delivered_earlier"] == 0
    assert restarted.report["rows_delivered"] == ROWS + 5


def test_a_finished_job_on_a_new_input_starts_afresh(job, sandbox):
    _events(job, 1, 20)
    job.config(**EVENTS)
    assert job.run().code == 0
    _events(job, 1, 25)
    run = job.run()
    assert run.code == 0 and run.report["resumed"] is False and run.report["rows_delivered_earlier"] == 0
    assert len(sandbox.events("played")) == 45      # without dedupe_key a new input is sent whole


def test_stdin_is_not_resumed(job, sandbox):
    job.config(**{**EVENTS, "input": {"format": "csv", "columns": {"n": "long"}}})
    text = "external_id,name,time,n\nu1,played,2024-05-01T10:00:00Z,1\n"
    for _ in range(2):
        run = job.run("--input", "-", stdin=text)
        assert run.code == 0 and run.report["resumed"] is False
    assert "standard input cannot be resumed" in run.stderr
    assert len(sandbox.events("played")) == 2
