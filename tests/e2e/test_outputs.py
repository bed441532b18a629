"""Files that cannot be written: refused before anything is sent, or a clean stop mid-run, and the
report written whatever happens (on stderr when the report itself cannot be)."""

from __future__ import annotations

import json
import subprocess

import pytest

from e2e_support import Run

ATTRS = {"mode": "user_track", "track_record_type": "user_profile_attributes"}


def _users(job, count: int) -> None:
    job.write("u.csv", "external_id,n\n" + "".join(f"u{i},{i}\n" for i in range(1, count + 1)))


def _error_lines(run: Run) -> list[str]:
    return [line for line in run.stderr.splitlines() if line.startswith("braze-export: error: ")]


def test_a_reject_file_under_a_regular_file_is_refused_before_anything_is_sent(job, sandbox):
    _users(job, 10)
    job.write("out", "I am a file, not a folder\n")
    job.config(**ATTRS, reject_file="out/rejected.jsonl", input={"path": "u.csv"})
    run = job.run()
    assert run.code == 2 and sandbox.requests() == [] and "Traceback" not in run.stderr
    [line] = _error_lines(run)
    assert "rejected-rows file out/rejected.jsonl" in line and "folder is a file" in line
    assert run.report["status"] == "failed" and run.report["rows_read"] == 0


def test_a_state_file_where_no_folder_can_be_made_is_refused_in_one_line(job, sandbox):
    _users(job, 10)
    job.config(**ATTRS, state_file="/proc/no-such-process/s.db", input={"path": "u.csv"})
    run = job.run()
    assert run.code == 2 and sandbox.requests() == [] and "Traceback" not in run.stderr
    [line] = _error_lines(run)
    assert "state_file /proc/no-such-process/s.db" in line


def test_folders_of_the_report_and_the_state_are_created_and_said_so(job, sandbox):
    _users(job, 10)
    job.config(**ATTRS, state_file="state/s.db", input={"path": "u.csv"})
    proc = job.cli("run", "--config", "config.yml", "--report", "out2/r.json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((job.folder / "out2" / "r.json").read_text())["rows_delivered"] == 10
    assert "created the folder out2 for the report" in proc.stderr
    assert "created the folder state for the state_file" in proc.stderr


def test_a_report_that_cannot_be_written_goes_to_stderr_as_json(job, sandbox):
    _users(job, 10)
    job.write("taken", "a file\n")
    job.config(**ATTRS, input={"path": "u.csv"})
    proc = job.cli("run", "--config", "config.yml", "--report", "taken/r.json")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and sandbox.requests() == []
    report = json.loads(proc.stderr[proc.stderr.index("{"):])
    assert report["status"] == "failed" and "report taken/r.json" in report["error"]


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KB tmpfs (we run as root): the disk fills up mid-run."""
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], check=True)
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def test_a_full_disk_mid_run_stops_the_job_cleanly_with_the_report(job, sandbox, tiny_disk):
    job.write("u.csv", "external_id,note\n" + "".join(f"u{i},{'x' * 200}\n" for i in range(1, 5001)))
    job.config(**ATTRS, concurrency=2, reject_file=str(tiny_disk / "rejected.jsonl"), input={"path": "u.csv"})
    sandbox.set_faults(fail_rate=1.0, fail_status=400)      # every row rejected, so the file fills up
    run = job.run(timeout=120)
    assert run.code == 1 and "Traceback" not in run.stderr
    [line] = _error_lines(run)
    assert f"cannot write the rejected-rows file {tiny_disk}/rejected.jsonl: No space left on device" in line
    r = run.report
    assert r["rows_read"] == r["rows_delivered"] + r["rows_skipped"] + r["rows_rejected"] + r["rows_failed"]
    assert r["rows_read"] < 5000 and r["status"] == "failed"
