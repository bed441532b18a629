"""SIGINT and SIGTERM at many random moments of a run (with and without a state_file, with workers):
every time the documented stop, or the finished run when the signal came after it.

A moment is either a random instant of the start once the CLI's first line has run (its SIGTERM
handler is set: imports, config, header, state, workers being spawned; nothing more to synchronise
with there, so any instant is as good as another) or the point where the sandbox has received k
requests (real progress, for a random k). SIGINT goes to the whole process
group, as a terminal's Ctrl-C does; SIGTERM to the CLI alone (as `docker stop`) or to the group.
After each: an exit code of 0 or 1 ("interrupted"), one error line, the summary line, the report
with every row accounted for, the rows it calls delivered exactly those the sandbox stored, and
no process of the job left. With a state_file the rerun then stores each event exactly once.
"""

from __future__ import annotations

import collections
import os
import random
import signal
import time
from pathlib import Path

import pytest

from support.cli_process import Cli, Outcome, run, write_config

ROWS = 1500
SEED = int(os.environ.get("HOSTILE_SEED", "12"))
RUNS = 10           # moments per kind of run
EVENTS = {"mode": "user_track", "track_record_type": "custom_events"}


def _moments(kind: str) -> list[tuple[str, float, int, str]]:
    rng = random.Random(f"{SEED}-{kind}")
    moments = []
    for _ in range(RUNS):
        sig = rng.choice(["SIGINT", "SIGTERM", "SIGTERM-group"])
        if rng.random() < 0.4:
            moments.append(("start", round(rng.uniform(0.0, 0.8), 3), 0, sig))
        else:
            moments.append(("requests", round(rng.uniform(0.0, 0.02), 3), rng.randint(1, ROWS // 75 + 2), sig))
    return moments


def _job(folder: Path, sandbox, **settings) -> None:
    rows = "".join(f"u{i % 97},played,2024-05-01T10:00:00Z,{i}\n" for i in range(1, ROWS + 1))
    (folder / "events.csv").write_text("external_id,name,time,n\n" + rows)
    write_config(folder, endpoint=sandbox.url, **EVENTS, concurrency=2, requests_per_second=40,
                 input={"path": "events.csv", "columns": {"n": "long"}}, **settings)


def _wait_for_requests(cli: Cli, sandbox, count: int) -> None:
    deadline = time.monotonic() + 60
    while len(sandbox.requests()) < count and cli.running():   # real progress, or the end
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.005)


def _signalled(folder: Path, sandbox, moment: tuple[str, float, int, str]) -> Outcome:
    kind, delay, requests, sig = moment
    cli = Cli(folder)
    cli.wait_until_handling(signal.SIGTERM)
    if kind == "requests":
        _wait_for_requests(cli, sandbox, requests)
    time.sleep(delay)           # a random instant after the point synchronised on
    cli.signal(signal.SIGINT if sig == "SIGINT" else signal.SIGTERM, group=sig != "SIGTERM")
    return cli.wait(timeout_s=60)


def _stored(sandbox) -> collections.Counter:
    return collections.Counter(e["properties"]["n"] for e in sandbox.events("played"))


def _assert_stopped(outcome: Outcome, sandbox) -> None:
    outcome.assert_documented()
    r = outcome.report
    assert outcome.code in (0, 1), outcome.stderr[-2000:]
    if outcome.code == 1:
        assert r["error"] == "interrupted", r
    else:
        assert r["rows_delivered"] == ROWS
    assert r["rows_delivered"] == sum(_stored(sandbox).values()), (r, len(sandbox.events("played")))
    assert sandbox.idle()           # no request of the job still open


@pytest.mark.parametrize("moment", _moments("plain"), ids=str)
def test_a_signal_at_any_moment_ends_in_the_documented_stop(tmp_path, sandbox, moment):
    _job(tmp_path, sandbox)
    _assert_stopped(_signalled(tmp_path, sandbox, moment), sandbox)


@pytest.mark.parametrize("moment", _moments("state"), ids=str)
def test_with_a_state_file_the_rerun_stores_each_event_once(tmp_path, sandbox, moment):
    _job(tmp_path, sandbox, state_file="state.db")
    _assert_stopped(_signalled(tmp_path, sandbox, moment), sandbox)
    rerun = run(tmp_path)
    rerun.assert_documented()
    assert rerun.code == 0, rerun.stderr[-2000:]
    stored = _stored(sandbox)
    assert sorted(stored) == list(range(1, ROWS + 1)) and set(stored.values()) == {1}, \
        [n for n, times in stored.items() if times > 1][:10]


@pytest.mark.parametrize("moment", _moments("workers"), ids=str)
def test_with_workers_every_process_stops_and_is_joined(tmp_path, sandbox, moment):
    _job(tmp_path, sandbox, workers=2)
    _assert_stopped(_signalled(tmp_path, sandbox, moment), sandbox)
