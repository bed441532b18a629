"""Delivery under load and faults: retries, pacing, splits, rejections, unknown fate, ordering."""

from __future__ import annotations

import collections
import threading
import time

import pytest
from e2e_support import objects, retries_logged

ATTRS = {"mode": "user_track", "track_record_type": "user_profile_attributes"}
FAST_RETRIES = {"initial_retry_interval_millis": 10, "maximum_retry_interval_millis": 200,
                "maximum_retries": 20}


def _when_requests_reach(sandbox, count: int, action, stop: threading.Event) -> threading.Thread:
    """Run `action` once the sandbox has answered `count` requests (bounded wait)."""
    def watch():
        deadline = time.monotonic() + 120
        while not stop.is_set() and time.monotonic() < deadline:
            if len(sandbox.requests("/users/track")) >= count:
                action()
                return
            stop.wait(0.05)
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_20000_rows_through_5xx_429_bursts_and_dropped_connections(job, sandbox):
    n = 20_000
    job.write("u.csv", "external_id,score\n" + "".join(f"u{i},{i}\n" for i in range(1, n + 1)))
    job.config(**ATTRS, **FAST_RETRIES, concurrency=8, input={"path": "u.csv", "columns": {"score": "long"}})
    burst = [{"status": 429, "retry_after": 0.05}] * 6
    sandbox.set_faults(fail_rate=0.3, fail_status=503, drop_rate=0.05, drop_applies=False, seed=7, script=burst)
    stop = threading.Event()
    watcher = _when_requests_reach(sandbox, 150, lambda: sandbox.set_faults(script=burst), stop)
    try:
        run = job.run(timeout=300)
    finally:
        stop.set()
        watcher.join()
    assert run.code == 0, run.output[-3000:]
    received = collections.Counter(o["external_id"] for o in objects(sandbox, "/users/track"))
    assert len(received) == n and set(received.values()) == {1}       # each row exactly once
    statuses = collections.Counter(r["status"] for r in sandbox.requests("/users/track"))
    assert statuses[429] >= 12 and statuses[503] > 50 and statuses[None] > 5
    r = run.report
    assert (r["rows_read"], r["rows_delivered"], r["rows_failed"]) == (n, n, 0)
    assert r["requests"] == sum(statuses.values())
    assert r["retries"] == r["requests"] - statuses[201] > 0
    assert retries_logged(run.stderr) == r["retries"]            # every retry told, the later ones summed up
    assert run.stderr.count("warning: retry ") <= 1                    # not a line each


def test_401_ends_the_job_at_once_and_sends_nothing_more(job, sandbox):
    job.write("u.csv", "external_id\n" + "".join(f"u{i}\n" for i in range(1, 5001)))
    job.config(**ATTRS, input={"path": "u.csv"}, concurrency=4)
    started = time.monotonic()
    run = job.run(env={"BRAZE_API_KEY": "wrong-key"})
    assert time.monotonic() - started < 5       # process start and import included
    assert run.report["elapsed_seconds"] < 1.0  # the job itself, from reading to the report
    assert run.code == 1
    assert len(sandbox.requests()) <= 4         # at most one request in flight per lane
    assert objects(sandbox) == []
    r = run.report
    assert r["rows_failed"] == r["rows_read"] and r["rows_delivered"] == 0


def test_413_is_split_and_delivered(job, sandbox):
    job.write("u.csv", "external_id\n" + "".join(f"u{i}\n" for i in range(1, 76)))
    job.config(**ATTRS, **FAST_RETRIES, concurrency=1, input={"path": "u.csv"})
    sandbox.set_faults(script=[{"status": 413}, {"status": 413}])
    run = job.run()
    assert run.code == 0, run.output
    sizes = [(r["status"], len(r["body"]["attributes"])) for r in sandbox.requests("/users/track")]
    assert sizes == [(413, 75), (413, 37), (201, 18), (201, 19), (201, 38)]
    assert [o["external_id"] for o in objects(sandbox)] == [f"u{i}" for i in range(1, 76)]
    assert run.report["retries"] == 0 and run.report["rows_delivered"] == 75


def test_braze_rejection_maps_to_the_right_row(job, sandbox):
    job.write("u.csv", "external_id,email_subscribe\nu1,subscribed\nu2,sometimes\nu3,opted_in\n")
    job.config(**ATTRS, input={"path": "u.csv"})
    # The writers would refuse "sometimes" themselves; make Braze the judge by scripting its answer.
    sandbox.set_faults(script=[{"status": 201, "body": {
        "message": "success", "attributes_processed": 2,
        "errors": [{"type": "BAD_EMAIL_SUBSCRIPTION_STATE", "input_array": "attributes", "index": 1}]}}])
    job.write("u.csv", "external_id,city\nu1,Oslo\nu2,Bergen\nu3,Rome\n")
    run = job.run()
    assert run.code == 3, run.output
    [rejected] = run.rejected
    assert rejected == {"row": 2, "outcome": "rejected", "values": {"external_id": "u2", "city": "Bergen"},
                        "reason": "rejected by Braze: BAD_EMAIL_SUBSCRIPTION_STATE"}
    r = run.report
    assert (r["status"], r["rows_delivered"], r["rows_rejected"]) == ("partial", 2, 1)


def test_fast_and_general_rows_share_a_batch_and_a_rejection_keeps_typed_values(job, sandbox):
    # u1, u3 and u4 take the fast path (cells -> bytes); "ü2" (not ASCII) goes the general way;
    # all four go in one request, in order, and Braze rejects u3, a fast-path row.
    job.write("u.csv", "external_id,points,city\nu1,5,Oslo\nü2,6,Bergen\nu3,007,Rome\nu4,,Nice\n")
    job.config(**ATTRS, concurrency=1, input={"path": "u.csv", "columns": {"points": "long"}})
    sandbox.set_faults(script=[{"status": 201, "body": {
        "message": "success", "errors": [{"type": "BAD_VALUE", "input_array": "attributes", "index": 2}]}}])
    run = job.run()
    assert run.code == 3, run.output
    [request] = sandbox.requests("/users/track")
    assert request["body"]["attributes"] == [
        {"external_id": "u1", "points": 5, "city": "Oslo"}, {"external_id": "ü2", "points": 6, "city": "Bergen"},
        {"external_id": "u3", "points": 7, "city": "Rome"}, {"external_id": "u4", "city": "Nice"}]
    assert run.rejected == [{"row": 3, "outcome": "rejected", "reason": "rejected by Braze: BAD_VALUE",
                             "values": {"external_id": "u3", "points": 7, "city": "Rome"}}]


def test_braze_rejection_with_skipping_on_exits_0(job, sandbox):
    job.write("u.csv", "external_id,city\nu1,Oslo\nu2,Bergen\n")
    job.config(**ATTRS, skip_on_invalid_records=True, input={"path": "u.csv"})
    sandbox.set_faults(script=[{"status": 201, "body": {
        "message": "success", "errors": [{"type": "EMAIL_BAD_FORMAT", "input_array": "attributes", "index": 0}]}}])
    run = job.run()
    assert run.code == 0, run.output
    assert run.report["rows_rejected"] == 1 and run.rejected[0]["row"] == 1


def _events_csv(job, count):
    job.write("e.csv", "external_id,name,time,n\n" + "".join(
        f"u{i % 50},ev,2026-11-01T10:00:00Z,{i}\n" for i in range(1, count + 1)))


def test_at_most_once_never_stores_an_event_twice(job, sandbox):
    _events_csv(job, 3000)
    job.config(mode="user_track", track_record_type="custom_events", event_delivery="at_most_once",
               **FAST_RETRIES, concurrency=4, input={"path": "e.csv", "columns": {"n": "long"}})
    sandbox.set_faults(drop_rate=0.2, drop_applies=True, fail_rate=0.1, seed=3)
    run = job.run()
    assert run.code == 1, run.output            # rows of unknown fate are failed, not resent
    stored = collections.Counter(o["properties"]["n"] for o in objects(sandbox))
    assert stored and max(stored.values()) == 1
    r = run.report
    assert r["rows_failed"] > 0 and r["requests_unknown_fate"] > 0
    assert r["rows_delivered"] + r["rows_failed"] == 3000
    failed = {x["row"] for x in run.rejected}
    assert all("at_most_once" in x["reason"] for x in run.rejected)
    assert len(failed) == r["rows_failed"]


def test_at_least_once_resends_unknown_fate(job, sandbox):
    _events_csv(job, 750)
    job.config(mode="user_track", track_record_type="custom_events", **FAST_RETRIES,
               concurrency=2, input={"path": "e.csv", "columns": {"n": "long"}})
    sandbox.set_faults(script=[{"drop": True}])
    run = job.run()
    assert run.code == 0, run.output
    stored = collections.Counter(o["properties"]["n"] for o in objects(sandbox))
    assert set(range(1, 751)) == set(stored)
    assert sum(stored.values()) == 750 + 75     # the dropped request was applied and resent
    assert run.report["requests_unknown_fate"] == 1 and run.report["retries"] == 1


def test_requests_per_second_is_held(job, sandbox):
    rows = 2200 * 75
    job.write("u.csv", "external_id\n" + "".join(f"u{i}\n" for i in range(rows)))
    job.config(**ATTRS, requests_per_second=200, concurrency=8, input={"path": "u.csv"})
    sink = sandbox      # no faults: it answers in a few ms
    run = job.run(timeout=120)
    assert run.code == 0, run.output
    requests = sink.requests("/users/track")
    assert sum(len(r["body"]["attributes"]) for r in requests) == rows
    stamps = sorted(r["time"] for r in requests)
    assert 2200 <= len(stamps) <= 2200 + 8          # a lane's last batch may be partial
    j = 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - 1.0:
            j += 1
        assert i - j + 1 <= 220, f"{i - j + 1} requests within one second"
    duration = stamps[-1] - stamps[0]
    assert len(stamps) / duration >= 160


@pytest.mark.parametrize("concurrency", [16, "auto"])
def test_same_user_rows_keep_their_order_under_concurrency(job, sandbox, concurrency):
    lines = []
    for step in range(40):
        for user in range(60):
            lines.append(f"u{user},{step}\n")
    job.write("u.csv", "external_id,step\n" + "".join(lines))
    job.config(**ATTRS, **FAST_RETRIES, concurrency=concurrency, batch_size=10,
               input={"path": "u.csv", "columns": {"step": "long"}})
    sandbox.set_faults(fail_rate=0.2, seed=11)
    run = job.run()
    assert run.code == 0, run.output
    per_user = collections.defaultdict(list)
    for o in objects(sandbox):
        per_user[o["external_id"]].append(o["step"])
    assert len(per_user) == 60
    assert all(steps == list(range(40)) for steps in per_user.values())
    assert all(u["attributes"]["step"] == 39 for u in sandbox.users())


def test_bodies_over_the_byte_cap_are_split_before_sending(job, sandbox):
    import json

    item = {"sku": "x" * 200, "note": "y" * 200}
    history = json.dumps([item] * 200)                      # ~82 KB per row: 75 rows ~ 6 MB
    job.write("u.csv", "external_id,history\n" + "".join(
        f"u{i},\"{history.replace(chr(34), chr(34) * 2)}\"\n" for i in range(1, 76)))
    job.config(**ATTRS, pre_formatted_fields=["history"], concurrency=1, input={"path": "u.csv"})
    run = job.run()
    assert run.code == 0, run.output
    requests = sandbox.requests("/users/track")
    assert [r["status"] for r in requests] == [201, 201]     # no 413: split before sending
    assert [len(r["body"]["attributes"]) for r in requests] == [37, 38]
    assert all(len(json.dumps(r["body"])) < 3_800_000 for r in requests)
    assert len(objects(sandbox)) == 75


import pytest  # noqa: E402

from connector.sandbox import Sandbox  # noqa: E402
from e2e_support import API_KEY, Job  # noqa: E402


@pytest.mark.parametrize("reset_style", ["epoch", "seconds"])
def test_braze_rate_limit_headers_and_429s_are_obeyed(tmp_path, reset_style):
    # The server allows 40 requests/s (burst 10); the client is left at Braze's default pace
    # (1,000/s), so it learns the limit from X-RateLimit-* and the 429s' retry-after.
    with Sandbox(api_key=API_KEY, track_rps=40, track_burst=10, reset_style=reset_style) as sandbox:
        job = Job(tmp_path, sandbox)
        job.write("u.csv", "external_id\n" + "".join(f"u{i}\n" for i in range(1, 30 * 75 + 1)))
        job.config(**ATTRS, concurrency=4, maximum_retries=10, input={"path": "u.csv"})
        run = job.run()
        assert run.code == 0, run.output[-2000:]
        received = collections.Counter(o["external_id"] for o in objects(sandbox))
        assert len(received) == 30 * 75 and set(received.values()) == {1}
        statuses = collections.Counter(r["status"] for r in sandbox.requests("/users/track"))
        assert statuses[201] >= 30
        assert run.report["retries"] == statuses[429]
        # Without pacing itself by the headers every request past the burst would be refused; with
        # them (and rate_limit_reserve) the job slows before Braze refuses: few 429s, if any.
        assert statuses[429] < 15


def test_sigterm_stops_the_job_and_still_writes_the_report(job, sandbox):
    import json
    import os
    import signal
    import subprocess
    import sys

    job.write("u.csv", "external_id\n" + "".join(f"u{i}\n" for i in range(1, 20_001)))
    job.config(**ATTRS, concurrency=2, input={"path": "u.csv"})
    sandbox.set_faults(latency_ms=20)
    proc = subprocess.Popen([sys.executable, "-m", "connector", "run", "--config", "config.yml",
                             "--report", "report.json"], cwd=job.folder, text=True,
                            env={**os.environ, "BRAZE_API_KEY": API_KEY},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(sandbox.received()) < 300:                 # synchronise on what the server got
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    report = json.loads((job.folder / "report.json").read_text())
    assert report["status"] == "failed" and report["error"] == "interrupted"
    assert report["rows_read"] == (report["rows_delivered"] + report["rows_skipped"]
                                   + report["rows_rejected"] + report["rows_failed"])
    assert report["rows_delivered"] == len(sandbox.received()) < 20_000


def test_sigint_while_waiting_on_stdin_stops_at_once(job, sandbox):
    import json
    import os
    import signal
    import subprocess
    import sys

    job.config(**ATTRS, input={"format": "csv", "path": "-"})
    proc = subprocess.Popen([sys.executable, "-m", "connector", "run", "--config", "config.yml",
                             "--report", "report.json"], cwd=job.folder, text=True,
                            env={**os.environ, "BRAZE_API_KEY": API_KEY}, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdin.write("external_id\n" + "".join(f"u{i}\n" for i in range(1, 151)))
    proc.stdin.flush()                                   # 150 rows, then the pipe stays open
    deadline = time.monotonic() + 60
    while len(sandbox.received()) < 150:                 # two full batches went out
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 1 and "interrupted" in stderr and "Traceback" not in stderr
    report = json.loads((job.folder / "report.json").read_text())
    assert (report["rows_read"], report["rows_delivered"], report["rows_failed"]) == (150, 150, 0)


def _resend_gaps(sandbox):
    """Seconds from each 503 to the answer of the next request carrying its first row."""
    requests = sandbox.requests("/users/track")
    gaps = []
    for i, failed in enumerate(requests):
        if failed["status"] == 503:
            first = failed["body"]["attributes"][0]["external_id"]
            again = next(r for r in requests[i + 1:]
                         if any(a["external_id"] == first for a in r["body"]["attributes"]))
            gaps.append(again["time"] - failed["time"])
    return gaps


def test_a_lone_503_goes_again_after_a_round_trip_a_storm_waits_the_back_off(job, sandbox):
    """TD's back-off (1 s, then 2 s) is meant for a Braze in trouble; one 503 among good answers
    is its batch's own and is resent at once, while a run of them gets the whole back-off."""
    job.write("u.csv", "external_id\n" + "".join(f"u{i}\n" for i in range(1, 6001)))
    job.config(**ATTRS, input={"path": "u.csv"})
    sandbox.set_faults(latency_ms=20)
    stop = threading.Event()
    watcher = _when_requests_reach(sandbox, 30, lambda: sandbox.set_faults(script=[{"status": 503}]), stop)
    try:
        run = job.run(timeout=120)
    finally:
        stop.set()
        watcher.join()
    assert run.code == 0 and run.report["retries"] == 1, run.output[-2000:]
    assert [gap < 0.3 for gap in _resend_gaps(sandbox)] == [True]

    sandbox.reset(data=True)
    sandbox.set_faults(latency_ms=20, script=[{"status": 503}] * 12)
    run = job.run(timeout=120)
    assert run.code == 0 and run.report["retries"] >= 12, run.output[-2000:]
    gaps = _resend_gaps(sandbox)
    assert len(gaps) >= 12 and min(gaps) >= 0.5          # [b/2, b] of initial_retry_interval_millis
