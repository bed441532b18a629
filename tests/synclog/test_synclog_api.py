"""The Python API runs the same lifecycle: the report's run_id, the sync log's rows and run, the notice."""

from __future__ import annotations

import connector
from synclog_support import API_KEY, NOTIFY_SECRET, Receiver, sqlite_rows, sqlite_runs

from connector.sandbox import Sandbox


def test_export_logs_its_rows_its_run_and_sends_the_notice(tmp_path, sandbox: Sandbox, receiver: Receiver,
                                                           monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = {"endpoint": sandbox.url, "api_key": API_KEY, "mode": "user_track",
              "track_record_type": "user_profile_attributes", "sync_log": {"url": "sqlite:///log.db"},
              "notify": {"url": receiver.url, "secret": NOTIFY_SECRET}}
    report = connector.export([{"external_id": "u1", "city": "Oslo"}, {"external_id": "u2", "city": "Rome"}], config)
    assert report.ok and report.run_id
    rows = sqlite_rows(tmp_path / "log.db")
    assert [(r["run_id"], r["identifier"], r["outcome"]) for r in rows] == [(report.run_id, "u1", "delivered"),
                                                                          (report.run_id, "u2", "delivered")]
    [run] = sqlite_runs(tmp_path / "log.db")
    assert (run["run_id"], run["status"], run["rows_logged"]) == (report.run_id, "success", 2)
    [notice] = receiver.wait_for(1)
    assert notice.verified and notice.json["run_id"] == report.run_id and notice.json["status"] == "success"


def test_a_dry_run_through_the_api_logs_and_sends_nothing(tmp_path, receiver: Receiver, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = {"endpoint": "sandbox", "mode": "user_delete", "sync_log": {"url": "sqlite:///log.db"},
              "notify": {"url": receiver.url, "secret": NOTIFY_SECRET}}
    report = connector.export([{"external_id": "u1"}], config, dry_run=True)
    assert report.ok and report.dry_run and report.run_id
    assert not (tmp_path / "log.db").exists() and receiver.notices == []
