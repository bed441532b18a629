"""What a new user trips over (issue 13): the report says what may be duplicated or unknown and what
delta sent, and the commands and flags behave as a user expects."""

from __future__ import annotations

import json
import os

from support.ports import refusing_port

ATTRS = {"mode": "user_track", "track_record_type": "user_profile_attributes"}
EVENTS = {"mode": "user_track", "track_record_type": "custom_events"}
FAST = {"initial_retry_interval_millis": 10, "maximum_retry_interval_millis": 50}


def _events(job, count: int) -> None:
    job.write("e.csv", "external_id,name,time,n\n" + "".join(
        f"u{i % 40},played,2026-11-01T10:00:00Z,{i}\n" for i in range(1, count + 1)))


def test_events_that_may_be_stored_twice_are_counted_and_warned_of(job, sandbox):
    _events(job, 750)
    job.config(**EVENTS, **FAST, concurrency=2, input={"path": "e.csv", "columns": {"n": "long"}})
    sandbox.set_faults(script=[{"drop": True}])          # applied, then the connection dropped: resent
    run = job.run()
    assert run.code == 0, run.output
    stored = sum(1 for e in sandbox.events() if e["name"] == "played")
    r = run.report
    assert r["rows_maybe_duplicated"] == stored - 750 == 75 and r["requests_unknown_fate"] == 1
    assert "75 rows may be stored twice" in run.stderr                       # the summary line
    assert "warning: 75 rows may be stored twice in Braze" in run.stderr     # and a warning at the end


def test_rows_whose_fate_is_unknown_under_at_most_once_are_counted(job, sandbox):
    _events(job, 150)
    job.config(**EVENTS, **FAST, concurrency=1, event_delivery="at_most_once",
               input={"path": "e.csv", "columns": {"n": "long"}})
    sandbox.set_faults(script=[{"drop": True}])
    run = job.run()
    assert run.code == 1 and run.report["rows_fate_unknown"] == 75 and run.report["rows_maybe_duplicated"] == 0
    assert "warning: 75 rows may or may not have reached Braze" in run.stderr


def test_delta_says_what_it_sent_and_what_it_saved(job, sandbox):
    job.write("u.csv", "external_id,a,b,c\n" + "".join(f"u{i},1,2,3\n" for i in range(1, 101)))
    job.config(**ATTRS, delta=True, state_file="s.db", input={"path": "u.csv"})
    first = job.run()
    assert (first.report["attributes_sent"], first.report["data_points_saved"]) == (300, 0)
    job.write("u.csv", "external_id,a,b,c\n" + "".join(f"u{i},1,2,{3 + (i <= 10)}\n" for i in range(1, 101)))
    run = job.run()
    r = run.report
    assert (r["attributes_sent"], r["data_points"], r["data_points_saved"], r["rows_unchanged"]) == (10, 10, 290, 90)
    assert "delta: 10 attributes sent (10 data points), 290 unchanged not sent" in run.stderr


def test_twenty_rows_go_out_in_one_request(job, sandbox):
    job.write("u.csv", "external_id,city\n" + "".join(f"u{i},Oslo\n" for i in range(1, 21)))
    job.config(**ATTRS, concurrency=8, input={"path": "u.csv"})
    run = job.run()
    assert run.code == 0 and run.report["requests"] == 1 and len(sandbox.requests()) == 1


def test_log_format_is_taken_after_the_command_too(job, sandbox):
    job.write("u.csv", "external_id\nu1\n")
    job.config(**ATTRS, input={"path": "u.csv"})
    proc = job.cli("run", "--config", "config.yml", "--log-format", "json")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stderr.splitlines()]
    assert any(r.get("event") == "summary" for r in records)


def test_preview_needs_no_api_key(job):
    job.write("u.csv", "external_id,city\nu1,Oslo\n")
    job.config(**ATTRS, endpoint="US-03", api_key="${NO_SUCH_KEY_VARIABLE}", input={"path": "u.csv"})
    assert "NO_SUCH_KEY_VARIABLE" not in os.environ
    proc = job.cli("preview", "--config", "config.yml")       # sends nothing: neither resolves nor connects
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.split("\n", 1)[1]) == {"attributes": [{"external_id": "u1", "city": "Oslo"}]}
    assert job.cli("run", "--config", "config.yml", "--dry-run").returncode == 2      # a run needs the key


def test_check_says_the_key_was_not_checked_and_strict_fails(job):
    with refusing_port() as port:
        job.write("u.csv", "external_id\nu1\n")
        job.config(**ATTRS, endpoint=f"http://127.0.0.1:{port}", input={"path": "u.csv"})
        lenient = job.cli("check", "--config", "config.yml")
        assert lenient.returncode == 0 and "the API key was not checked" in lenient.stderr
        assert "--strict" in lenient.stderr
        strict = job.cli("check", "--config", "config.yml", "--strict")
        assert strict.returncode == 1 and "the API key was not checked" in strict.stderr


def test_a_dry_run_says_would_and_starts_no_sandbox(job):
    job.write("u.csv", "external_id\n" + "".join(f"u{i}\n" for i in range(1, 21)))
    job.config(**ATTRS, endpoint="sandbox", input={"path": "u.csv"})
    run = job.run("--dry-run")
    assert run.code == 0, run.output
    assert "dry run: 20 rows read, 20 would be sent" in run.stderr and "1 requests would be made" in run.stderr
    assert not (job.folder / "braze-sandbox.sqlite").exists() and "sandbox:" not in run.stderr


def test_restart_without_a_state_file_is_refused(job, sandbox):
    job.write("u.csv", "external_id\nu1\n")
    job.config(**ATTRS, input={"path": "u.csv"})
    run = job.run("--restart")
    assert run.code == 2 and "--restart" in run.stderr and sandbox.requests() == []


def test_run_limit_sends_a_sample(job, sandbox):
    job.write("u.csv", "external_id\n" + "".join(f"u{i}\n" for i in range(1, 101)))
    job.config(**ATTRS, input={"path": "u.csv"})
    run = job.run("--limit", "5")
    assert run.code == 0 and run.report["rows_read"] == 5
    assert sorted(o["object"]["external_id"] for o in sandbox.received()) == [f"u{i}" for i in range(1, 6)]


def test_a_header_that_differs_by_case_or_spaces_gets_a_hint(job, sandbox):
    job.write("e.csv", "External_ID,Name, time\nu1,won,2024-05-01T10:00:00Z\n")
    job.config(**EVENTS, input={"path": "e.csv"})
    run = job.run()
    assert run.code == 2 and sandbox.requests() == []
    assert ("the header has External_ID, Name, ' time': column names are exact (external_id, name, time)"
            in run.stderr)


def test_text_that_is_not_utf8_hints_at_the_encoding(job, sandbox):
    (job.folder / "u.csv").write_bytes("external_id,first_name\nu1,Zoë\n".encode("latin-1"))
    job.config(**ATTRS, skip_on_invalid_records=True, input={"path": "u.csv"})
    run = job.run()
    assert run.code == 0 and run.report["rows_skipped"] == 1
    assert "column first_name: not valid UTF-8" in run.rejected[0]["reason"]
    assert "input.encoding, e.g. latin-1" in run.rejected[0]["reason"]
    job.config(**ATTRS, input={"path": "u.csv", "encoding": "latin-1"})
    assert job.run().code == 0 and sandbox.user("u1")["attributes"]["first_name"] == "Zoë"


def test_a_clean_run_sets_the_earlier_rejected_rows_aside(job, sandbox):
    job.write("u.csv", "external_id,tags\nu1,[1\nu2,[]\n")
    job.config(**ATTRS, skip_on_invalid_records=True, pre_formatted_fields=["tags"], input={"path": "u.csv"})
    first = job.run()
    assert first.report["reject_file"] == "rejected.jsonl" and len(first.rejected) == 1
    job.write("u.csv", "external_id,tags\nu1,[]\n")
    second = job.run()
    assert second.code == 0 and second.report["reject_file"] is None
    assert not (job.folder / "rejected.jsonl").exists()             # this run's rows only: none
    assert "u1" in (job.folder / "rejected.jsonl.previous").read_text()
    assert "kept in rejected.jsonl.previous" in second.stderr


def test_a_missing_api_key_file_is_named(job):
    job.write("u.csv", "external_id\nu1\n")
    job.config(**ATTRS, endpoint="http://127.0.0.1:9", api_key_file="secrets/braze.key", input={"path": "u.csv"})
    path = job.folder / "config.yml"
    path.write_text(path.read_text().replace("api_key: ${BRAZE_API_KEY}\n", ""))
    proc = job.cli("check", "--config", "config.yml")
    assert proc.returncode == 2 and "api_key_file: the file secrets/braze.key does not exist" in proc.stderr


def test_check_and_preview_name_columns_that_look_typed_but_are_sent_as_text(job):
    job.write("u.csv", "external_id,points,vip,ratio,zip,city\nu1,1250,true,0.5,01234,Oslo\nu2,80,FALSE,2,09876,\n")
    job.config(**ATTRS, endpoint="http://127.0.0.1:9", input={"path": "u.csv", "columns": {"ratio": "double"}})
    for command in ("check", "preview"):
        proc = job.cli(command, "--config", "config.yml")
        notes = [line for line in proc.stderr.splitlines() if "looks" in line]
        assert notes == [
            "braze-export: warning: column points looks long in the first rows but is sent as text; declare it "
            "in input.columns (points: long) to send it as one",
            "braze-export: warning: column vip looks boolean in the first rows but is sent as text; declare it "
            "in input.columns (vip: boolean) to send it as one"], proc.stderr     # zip: leading zeros, text
