"""connector.export() end to end against the sandbox: each outcome, and what Braze really received."""

import json
import subprocess
import sys
from decimal import Decimal

import pytest

import connector
from connector import Report, export
from connector.errors import HeaderError, RowAborted

USERS = [{"external_id": "u1", "city": "Oslo"}, {"external_id": "u2", "city": "Bergen"},
         {"external_id": "u3", "city": "Rome"}]


def _balanced(report: Report) -> bool:
    return report.rows_read == (report.rows_delivered + report.rows_skipped
                                + report.rows_rejected + report.rows_failed)


def test_success_delivers_every_row_and_writes_the_report(sandbox, config, tmp_path):
    report = export(iter(USERS), config, report_path=tmp_path / "report.json")
    assert (report.status, report.exit_code, report.ok, report.error) == ("success", 0, True, None)
    assert (report.rows_read, report.rows_delivered, report.requests) == (3, 3, 1)
    assert [r["object"] for r in sandbox.received("/users/track")] == USERS
    assert sandbox.user(external_id="u2")["attributes"]["city"] == "Bergen"
    written = json.loads((tmp_path / "report.json").read_text())
    as_dict = report.as_dict()
    assert {k: as_dict[k] for k in written} == written
    assert as_dict["exit_code"] == 0 and written["status"] == "success"
    assert report.reject_file is None and not (tmp_path / "rejected.jsonl").exists()


def test_a_braze_rejection_is_a_partial_report_with_exit_code_3(sandbox, config, tmp_path):
    sandbox.set_faults(script=[{"status": 201, "body": {
        "message": "success", "attributes_processed": 2,
        "errors": [{"type": "BAD_EMAIL_SUBSCRIPTION_STATE", "input_array": "attributes", "index": 1}]}}])
    report = export(USERS, config, raise_on_failure=True)   # a partial is never raised
    assert (report.status, report.exit_code, report.ok) == ("partial", 3, False)
    assert (report.rows_delivered, report.rows_rejected) == (2, 1) and _balanced(report)
    [rejected] = [json.loads(line) for line in (tmp_path / "rejected.jsonl").read_text().splitlines()]
    assert rejected == {"row": 2, "outcome": "rejected", "values": USERS[1],
                        "reason": "rejected by Braze: BAD_EMAIL_SUBSCRIPTION_STATE"}
    assert report.reject_file == str(tmp_path / "rejected.jsonl")


def test_an_invalid_row_is_skipped_when_skipping_is_on(sandbox, config):
    rows = [USERS[0], {"city": "Nowhere"}, "not a mapping", USERS[2]]
    report = export(rows, {**config, "skip_on_invalid_records": True})
    assert (report.status, report.exit_code) == ("partial", 0)
    assert (report.rows_read, report.rows_delivered, report.rows_skipped) == (4, 2, 2)
    skipped = [json.loads(line) for line in open(report.reject_file)]
    assert [(r["row"], r["outcome"]) for r in skipped] == [(2, "skipped"), (3, "skipped")]
    assert "not a mapping" in skipped[1]["reason"]
    assert [r["object"]["external_id"] for r in sandbox.received()] == ["u1", "u3"]


def test_an_invalid_row_aborts_the_job_when_skipping_is_off(sandbox, config):
    rows = [USERS[0], {"city": "Nowhere"}, USERS[2]]
    report = export(rows, config)
    assert (report.status, report.exit_code, report.rows_read) == ("failed", 1, 2)
    assert report.error.startswith("row 2, ") and "no user identifier" in report.error
    assert report.rows_failed >= 1 and _balanced(report)   # row 1 may have been queued, not sent
    assert "u3" not in [r["object"]["external_id"] for r in sandbox.received()]


def test_raise_on_failure_raises_the_job_error_with_the_report(sandbox, config):
    with pytest.raises(RowAborted) as caught:
        export([USERS[0], {"city": "Nowhere"}], config, raise_on_failure=True)
    assert caught.value.row == 2 and caught.value.exit_code == 1
    assert caught.value.report.status == "failed" and caught.value.report.rows_read == 2


def test_config_file_path_expands_variables_and_ignores_its_input(sandbox, tmp_path, monkeypatch, api_key):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BRAZE_API_KEY", api_key)
    path = tmp_path / "braze.yml"
    path.write_text(f"endpoint: {sandbox.url}\napi_key: ${{BRAZE_API_KEY}}\nmode: user_track\n"
                    "track_record_type: custom_events\ninput: {format: csv, path: does-not-exist.csv}\n")
    rows = ({"external_id": f"u{i}", "name": "signup", "time": "2026-11-01T10:00:00Z", "plan": "pro"}
            for i in range(1, 201))
    report = export(rows, str(path))
    assert (report.status, report.rows_read, report.rows_delivered) == ("success", 200, 200)
    assert report.requests >= 3                               # at most 75 events per request
    events = sandbox.received("/users/track")
    assert len(events) == 200 and events[0]["object"]["properties"] == {"plan": "pro"}


def test_values_keep_their_python_types(sandbox, config):
    rows = [{"external_id": "u1", "points": Decimal("12"), "score": Decimal("2.5"), "vip": True,
             "tags": ["a", "b"]}]
    assert export(rows, config).status == "success"
    [got] = [r["object"] for r in sandbox.received()]
    assert got == {"external_id": "u1", "points": 12, "score": 2.5, "vip": True, "tags": ["a", "b"]}


def test_declared_columns_are_checked_before_anything_is_sent(sandbox, config):
    with pytest.raises(HeaderError):
        export([{"name": "signup"}], {**config, "track_record_type": "custom_events"},
               columns=["external_id", "name"])
    assert sandbox.requests() == []


def test_dry_run_sends_nothing(sandbox, config):
    report = export(USERS, config, dry_run=True)
    assert (report.status, report.rows_delivered, report.dry_run) == ("success", 3, True)
    assert sandbox.requests() == []


def test_import_connector_stays_cheap():
    code = ("import sys, connector; assert 'connector.api' not in sys.modules and 'requests' not in sys.modules;"
            "from connector import export, Report; print(export.__module__, Report.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["connector.api", "Report"]
    assert connector.export is export


def test_an_error_of_the_rows_iterable_propagates_after_the_rows_read_are_delivered(sandbox, config):
    def rows():
        yield from USERS
        raise LookupError("the caller's own bug")

    with pytest.raises(LookupError, match="the caller's own bug"):
        export(rows(), config)
    assert sorted(r["object"]["external_id"] for r in sandbox.received()) == ["u1", "u2", "u3"]


def test_on_removed_through_the_api_reports_its_removals_and_takes_the_guard_off(sandbox, config, tmp_path):
    mirror = {**config, "state_file": str(tmp_path / "state.sqlite"), "on_removed": "unset"}
    first = export(USERS, mirror)
    assert first.ok and first.users_removed == 0
    guarded = export(USERS[:1], mirror)          # two of three users left: past max_removed_ratio 0.2
    assert (guarded.exit_code, guarded.users_to_remove, guarded.users_removed) == (1, 2, 0)
    allowed = export(USERS[:1], mirror, allow_mass_removal=True)
    assert allowed.ok and (allowed.users_to_remove, allowed.users_removed) == (2, 2)
    assert "city" not in sandbox.user(external_id="u2")["attributes"]
