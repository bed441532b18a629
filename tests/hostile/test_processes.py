"""Every child process of a job is joined before the command returns: after a `workers: 2` run
that succeeds, fails or is stopped, no process of the job's session is left, live or zombie
(multiprocessing's resource tracker included), even where PID 1 does not reap."""

from __future__ import annotations

import signal
import time

from support.cli_process import Cli, run, write_config

ATTRS = {"mode": "user_track", "track_record_type": "user_profile_attributes"}


def _job(folder, sandbox, rows: int = 2000, bad_row: int | None = None, **settings) -> None:
    """`rows` users; the row `bad_row` has no identifier."""
    lines = "".join(f"{'' if i == bad_row else f'u{i}'},{i}\n" for i in range(1, rows + 1))
    (folder / "u.csv").write_text("external_id,n\n" + lines)
    write_config(folder, endpoint=sandbox.url, **ATTRS, workers=2, input={"path": "u.csv"}, **settings)


def test_a_successful_workers_run_leaves_no_process(tmp_path, sandbox):
    _job(tmp_path, sandbox)
    outcome = run(tmp_path)
    outcome.assert_documented()         # leftovers == [] among its checks
    assert outcome.code == 0 and outcome.report["rows_delivered"] == 2000


def test_a_failed_workers_run_leaves_no_process(tmp_path, sandbox):
    _job(tmp_path, sandbox, bad_row=700)        # a row with no identifier aborts the job
    outcome = run(tmp_path)
    outcome.assert_documented()
    assert outcome.code == 1 and "row 700" in outcome.report["error"]


def test_a_workers_run_refused_before_starting_leaves_no_process(tmp_path, sandbox):
    _job(tmp_path, sandbox, state_file="s.db")      # workers need no state_file: exit 2
    outcome = run(tmp_path)
    outcome.assert_documented()
    assert outcome.code == 2


def test_ctrl_c_and_sigterm_while_workers_send_leave_no_process(tmp_path, sandbox):
    sandbox.set_faults(latency_ms=50)
    _job(tmp_path, sandbox, rows=20_000, requests_per_second=20)
    for sig, group in ((signal.SIGINT, True), (signal.SIGTERM, False)):
        cli = Cli(tmp_path)
        deadline = time.monotonic() + 60
        while len(sandbox.requests()) < 3:          # both workers are sending
            assert cli.running() and time.monotonic() < deadline, "no progress"
            time.sleep(0.005)
        cli.signal(sig, group=group)
        outcome = cli.wait(timeout_s=60)
        outcome.assert_documented()
        assert outcome.code == 1 and outcome.report["error"] == "interrupted"
        sandbox.reset(data=True)
