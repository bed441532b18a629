"""Bad input: one clear line naming row, column and reason; the documented exit code; nothing lost."""

from __future__ import annotations

import pytest

from e2e_support import API_KEY, objects

ATTRS = {"mode": "user_track", "track_record_type": "user_profile_attributes"}


def _error_lines(run):
    return [line for line in run.stderr.splitlines() if "error" in line]


@pytest.mark.parametrize("settings,expected", [
    ({"mode": "user_tracks"}, "mode"),
    ({**ATTRS, "colour": "blue"}, "colour"),
    ({"mode": "user_track"}, "track_record_type"),
    ({"mode": "user_delete", "track_record_type": "purchases"}, "track_record_type"),
    ({**ATTRS, "skip_on_invalid_records": "false"}, "skip_on_invalid_records"),
    ({**ATTRS, "endpoint": "http://rest.iad-01.braze.com"}, "endpoint"),
    ({**ATTRS, "endpoint": "https://rest.iad-01.braze.com.example.org"}, "endpoint"),
    ({**ATTRS, "endpoint": "https://api.example.com"}, "endpoint"),
    ({**ATTRS, "endpoint": f"https://user:{API_KEY}@rest.iad-01.braze.com"}, "endpoint"),
])
def test_config_errors_exit_2_and_send_nothing(job, sandbox, settings, expected):
    job.write("u.csv", "external_id\nu1\n")
    job.config(input={"path": "u.csv"}, **settings)
    run = job.run()
    assert run.code == 2, run.output
    assert expected in run.stderr
    assert "Traceback" not in run.output
    assert sandbox.requests() == []
    assert run.report["status"] == "failed" and run.report["rows_read"] == 0


def test_missing_required_column_found_before_any_request(job, sandbox):
    job.write("e.csv", "external_id,time\nu1,2026-01-01T00:00:00Z\n")
    job.config(mode="user_track", track_record_type="custom_events", input={"path": "e.csv"})
    run = job.run()
    assert run.code == 2, run.output
    assert "name" in run.stderr
    assert sandbox.requests() == []


def test_invalid_json_in_preformatted_cell_skipped(job, sandbox):
    job.write("u.csv", 'external_id,tags\nu1,"[""a""]"\nu2,"[oops"\nu3,\n')
    job.config(**ATTRS, pre_formatted_fields="tags", skip_on_invalid_records=True, input={"path": "u.csv"})
    run = job.run()
    assert run.code == 0, run.output
    assert [o["external_id"] for o in objects(sandbox)] == ["u1", "u3"]
    assert run.report["rows_skipped"] == 1 and run.report["rows_delivered"] == 2
    [rejected] = run.rejected
    assert rejected["row"] == 2 and rejected["outcome"] == "skipped"
    assert "tags" in rejected["reason"] and "JSON" in rejected["reason"]
    assert rejected["values"] == {"external_id": "u2", "tags": "[oops"}
    assert run.report["reject_file"] == "rejected.jsonl"


def test_invalid_json_in_preformatted_cell_aborts(job, sandbox):
    job.write("u.csv", 'external_id,tags\nu1,"[""a""]"\nu2,"[oops"\nu3,\n')
    job.config(**ATTRS, pre_formated_fields=["tags"], input={"path": "u.csv"})
    run = job.run()
    assert run.code == 1, run.output
    [line] = _error_lines(run)
    assert "row 2, column tags" in line and "JSON" in line
    assert "Traceback" not in run.output
    assert objects(sandbox) == []          # nothing is sent after the failure
    r = run.report
    assert (r["status"], r["rows_read"], r["rows_failed"], r["rows_delivered"]) == ("failed", 2, 2, 0)
    assert {x["row"] for x in run.rejected} == {1, 2}


@pytest.mark.parametrize("header,row,reason", [
    ("external_id,braze_id,city", "u1,b1,Oslo", "exactly one of"),
    ("external_id,city", ",Oslo", "identifier"),
])
def test_identifier_rules(job, sandbox, header, row, reason):
    job.write("u.csv", f"{header}\nu0,,Rome\n{row}\n" if "braze_id" in header else f"{header}\nu0,Rome\n{row}\n")
    job.config(**ATTRS, skip_on_invalid_records=True, input={"path": "u.csv"})
    run = job.run()
    assert run.code == 0, run.output
    assert [o["external_id"] for o in objects(sandbox)] == ["u0"]
    [rejected] = run.rejected
    assert rejected["row"] == 2 and reason in rejected["reason"]


def test_non_utf8_bytes_make_the_row_invalid(job, sandbox):
    (job.folder / "u.csv").write_bytes(b"external_id,city\nu1,Oslo\nu2,Bergen \xff\xfe\nu3,Rome\n")
    job.config(**ATTRS, skip_on_invalid_records=True, input={"path": "u.csv"})
    run = job.run()
    assert run.code == 0, run.output
    assert [o["external_id"] for o in objects(sandbox)] == ["u1", "u3"]
    assert run.rejected[0]["row"] == 2 and "UTF-8" in run.rejected[0]["reason"]


def test_ragged_csv_row(job, sandbox):
    job.write("u.csv", "external_id,city\nu1,Oslo\nu2,Bergen,extra\nu3\n")
    job.config(**ATTRS, skip_on_invalid_records=True, input={"path": "u.csv"})
    run = job.run()
    assert run.code == 0, run.output
    assert [o["external_id"] for o in objects(sandbox)] == ["u1"]
    assert [r["row"] for r in run.rejected] == [2, 3]
    assert all("fields" in r["reason"] for r in run.rejected)


def test_empty_file_is_an_empty_result(job, sandbox):
    job.write("u.csv", "")
    job.config(**ATTRS, input={"path": "u.csv"})
    run = job.run()
    assert run.code == 0, run.output
    assert run.report["rows_read"] == 0 and run.report["status"] == "success"
    assert sandbox.requests() == []


@pytest.mark.parametrize("path", ["missing.csv", "."])
def test_unreadable_input_exit_1_with_report(job, sandbox, path):
    job.config(**ATTRS, input={"format": "csv", "path": path})
    run = job.run()
    assert run.code == 1, run.output
    assert len(_error_lines(run)) == 1 and "Traceback" not in run.output
    assert run.report["status"] == "failed"
    assert sandbox.requests() == []


def test_bad_key_aborts_with_a_hint(job, sandbox):
    job.write("u.csv", "external_id\nu1\nu2\n")
    job.config(**ATTRS, input={"path": "u.csv"})
    run = job.run(env={"BRAZE_API_KEY": "not-the-key"})
    assert run.code == 1, run.output
    assert "401" in run.stderr and "key" in run.stderr
    assert "not-the-key" not in run.output
    assert run.report["rows_failed"] == 2
