"""Inputs that real pipelines produce when something upstream goes wrong, read by the real CLI under
a container's 1 GiB address-space limit: a value nested thousands of levels deep, one 50 MB line,
a character device or a pipe that never ends and has no line break. Each ends in one line, the
documented exit code and the report, with memory bounded; with skipping on, the rows after it go."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support.cli_process import Outcome, run, write_config

ATTRS = {"mode": "user_track", "track_record_type": "user_profile_attributes"}
DEEP = '{"external_id": "u1", "a": ' + "[" * 5000 + "]" * 5000 + "}"
TOO_DEEP = "a value is nested deeper than 64 levels of arrays and objects"
TOO_LARGE = "the record is larger than max_record_bytes (4194304 bytes)"
MEMORY_MB = 100       # peak resident memory of a run, whatever the input: ~35-45 MB measured (a 4 MB record and the interpreter)


def _config(folder: Path, sandbox, fmt: str, skip: bool) -> None:
    write_config(folder, endpoint=sandbox.url, **ATTRS, skip_on_invalid_records=skip, input={"format": fmt})


def _big_line(path: Path, megabytes: int, then: str = "") -> None:
    with open(path, "w") as f:
        f.write('{"external_id": "u1", "a": "')
        for _ in range(megabytes):
            f.write("x" * (1 << 20))
        f.write('"}\n' + then)


def _aborted_at_row_1(outcome: Outcome, reason: str) -> None:
    outcome.assert_documented()
    assert outcome.code == 1 and outcome.errors == [f"braze-export: error: row 1, {reason}"]
    r = outcome.report
    assert (r["rows_read"], r["rows_failed"], r["rows_delivered"]) == (1, 1, 0)
    assert outcome.max_rss_mb < MEMORY_MB, outcome.max_rss_mb


@pytest.mark.parametrize("fmt, text", [("jsonl", DEEP + "\n"), ("json", f"[{DEEP}]")])
def test_a_value_nested_thousands_of_levels_deep_is_an_invalid_row(tmp_path, sandbox, fmt, text):
    (tmp_path / "in").write_text(text)
    _config(tmp_path, sandbox, fmt, skip=False)
    _aborted_at_row_1(run(tmp_path, "--input", "in"), TOO_DEEP)
    assert sandbox.requests() == []


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_with_skipping_on_the_rows_after_a_deep_one_are_delivered(tmp_path, sandbox, fmt):
    rows = [DEEP, '{"external_id": "u2", "b": [[1]]}']
    (tmp_path / "in").write_text("\n".join(rows) + "\n" if fmt == "jsonl" else "[" + ",".join(rows) + "]")
    _config(tmp_path, sandbox, fmt, skip=True)
    outcome = run(tmp_path, "--input", "in")
    outcome.assert_documented()
    assert outcome.code == 0 and outcome.report["rows_skipped"] == 1 and outcome.report["rows_delivered"] == 1
    assert [r["object"]["external_id"] for r in sandbox.received()] == ["u2"]


def test_one_50_mb_jsonl_line_aborts_in_one_line_with_memory_bounded(tmp_path, sandbox):
    _big_line(tmp_path / "in.jsonl", 50)
    _config(tmp_path, sandbox, "jsonl", skip=False)
    _aborted_at_row_1(run(tmp_path, "--input", "in.jsonl"), TOO_LARGE)


def test_one_50_mb_jsonl_line_is_skipped_and_the_next_rows_go(tmp_path, sandbox):
    _big_line(tmp_path / "in.jsonl", 50, then='{"external_id": "u2"}\n')
    _config(tmp_path, sandbox, "jsonl", skip=True)
    outcome = run(tmp_path, "--input", "in.jsonl")
    outcome.assert_documented()
    assert outcome.code == 0 and outcome.max_rss_mb < MEMORY_MB, outcome.max_rss_mb
    assert (outcome.report["rows_skipped"], outcome.report["rows_delivered"]) == (1, 1)
    assert [r["object"]["external_id"] for r in sandbox.received()] == ["u2"]


def test_one_50_mb_csv_cell_is_an_invalid_row(tmp_path, sandbox):
    with open(tmp_path / "in.csv", "w") as f:
        f.write("external_id,a\nu1,")
        for _ in range(50):
            f.write("x" * (1 << 20))
        f.write("\nu2,b\n")
    _config(tmp_path, sandbox, "csv", skip=True)
    outcome = run(tmp_path, "--input", "in.csv")
    outcome.assert_documented()
    assert outcome.code == 0 and outcome.max_rss_mb < MEMORY_MB, outcome.max_rss_mb
    assert [r["object"]["external_id"] for r in sandbox.received()] == ["u2"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "tsv", "json"])
def test_dev_zero_ends_in_one_line_and_the_report(tmp_path, sandbox, fmt):
    _config(tmp_path, sandbox, fmt, skip=False)
    outcome = run(tmp_path, "--input", "/dev/zero")
    outcome.assert_documented()
    assert outcome.code == 1 and outcome.max_rss_mb < MEMORY_MB, outcome.max_rss_mb
    [line] = outcome.errors
    expected = {"jsonl": f"row 1, {TOO_LARGE}",
                "csv": "the header line is larger than max_record_bytes (4194304 bytes)",
                "tsv": "the header line is larger than max_record_bytes (4194304 bytes)",
                "json": "the input is not a JSON array (it must start with '[')"}[fmt]
    assert line == f"braze-export: error: {expected}"
    assert sandbox.requests() == []


def test_dev_zero_with_skipping_on_gives_up_within_a_bounded_search(tmp_path, sandbox):
    _config(tmp_path, sandbox, "jsonl", skip=True)
    outcome = run(tmp_path, "--input", "/dev/zero")
    outcome.assert_documented()
    assert outcome.code == 1 and outcome.max_rss_mb < MEMORY_MB, outcome.max_rss_mb
    assert outcome.errors == ["braze-export: error: row 1: the record has no end within 1 GB of its start, "
                              "so the next record cannot be found (is the input text of its format at all?)"]
    assert (outcome.report["rows_read"], outcome.report["rows_skipped"]) == (1, 1)


@pytest.mark.parametrize("skip", [False, True])
def test_a_pipe_that_never_ends_and_has_no_line_break(tmp_path, sandbox, skip):
    _config(tmp_path, sandbox, "jsonl", skip=skip)
    feeder = subprocess.Popen(["cat", "/dev/zero"], stdout=subprocess.PIPE)
    try:
        outcome = run(tmp_path, "--input", "-", stdin=feeder.stdout)
    finally:
        feeder.kill()
        feeder.wait()
    outcome.assert_documented()
    assert outcome.code == 1 and outcome.max_rss_mb < MEMORY_MB, outcome.max_rss_mb
    assert outcome.report["rows_read"] == 1
    assert ("no end within 1 GB" in outcome.errors[0]) is skip


def test_a_record_the_raised_bound_allows_but_memory_does_not_is_one_line(tmp_path, sandbox):
    _big_line(tmp_path / "in.jsonl", 250)
    write_config(tmp_path, endpoint=sandbox.url, **ATTRS, max_record_bytes=268435456, input={"format": "jsonl"})
    outcome = run(tmp_path, "--input", "in.jsonl")
    outcome.assert_documented()
    assert outcome.code == 1
    [line] = outcome.errors
    assert line.startswith("braze-export: error: out of memory while ") and "lower max_record_bytes" in line
    assert outcome.report["rows_read"] in (0, 1) and sandbox.requests() == []


def test_a_config_nested_thousands_of_levels_deep_is_one_line(tmp_path, sandbox):
    (tmp_path / "config.yml").write_text(f"endpoint: {sandbox.url}\nmode: user_track\n"
                                         "track_record_type: user_profile_attributes\nx: " + "[" * 5000 + "]" * 5000 + "\n")
    outcome = run(tmp_path, "--input", "in.csv")
    outcome.assert_documented()
    assert outcome.code == 1
    assert outcome.errors == ["braze-export: error: Python's stack ran out while reading the config "
                              "(a structure nested too deeply)"]


@pytest.mark.parametrize("command", ["check", "preview"])
def test_the_other_commands_say_what_ran_out_in_one_line_too(tmp_path, command):
    (tmp_path / "config.yml").write_text("endpoint: sandbox\nmode: user_track\n"
                                         "track_record_type: user_profile_attributes\nx: " + "[" * 5000 + "]" * 5000 + "\n")
    proc = subprocess.run([sys.executable, "-m", "connector", command, "--config", "config.yml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == ["braze-export: error: Python's stack ran out while reading the config "
                                        "(a structure nested too deeply)"]
