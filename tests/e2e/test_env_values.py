"""A value that came from the environment is never echoed: a message names the key and shows the
value as the config wrote it (${VAR}), whatever the variable held."""

from __future__ import annotations

import json
import sqlite3

import pytest

SECRET = "hunter2-a9f3c1d7e5b2"
ENV = {"OTHER_SECRET": SECRET}
ATTRS = {"mode": "user_track", "track_record_type": "user_profile_attributes"}
EVENTS = {"mode": "user_track", "track_record_type": "custom_events"}


def _never_echoed(run) -> None:
    assert SECRET not in run.output and SECRET not in json.dumps(run.report)
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("settings, words", [
    ({**EVENTS, "dedupe_key": "${OTHER_SECRET}", "state_file": "s.db", "input": {"path": "e.csv"}},
     "the dedupe_key column ${OTHER_SECRET} is not in the input"),
    ({**ATTRS, "input": {"path": "${OTHER_SECRET}.csv"}}, "input file not found: ${OTHER_SECRET}.csv"),
    ({**ATTRS, "reject_file": "/proc/${OTHER_SECRET}/r.jsonl", "input": {"path": "e.csv"}},
     "rejected-rows file /proc/${OTHER_SECRET}/r.jsonl"),
    ({**ATTRS, "state_file": "/proc/${OTHER_SECRET}/s.db", "input": {"path": "e.csv"}},
     "state_file /proc/${OTHER_SECRET}/s.db"),
])
def test_messages_show_the_variable_not_its_value(job, sandbox, settings, words):
    job.write("e.csv", "external_id,name,time\nu1,won,2024-05-01T10:00:00Z\n")
    job.config(**settings)
    run = job.run(env=ENV)
    assert run.code in (1, 2) and words in run.stderr, run.stderr
    _never_echoed(run)


def test_a_pre_formatted_field_from_the_environment_is_named_as_written(job, sandbox):
    job.write("u.csv", "external_id,city\nu1,Oslo\n")
    job.config(**ATTRS, pre_formatted_fields=["${OTHER_SECRET}"], input={"path": "u.csv"})
    run = job.run(env=ENV)
    assert run.code == 0, run.stderr
    assert "pre_formatted_fields lists a column from ${OTHER_SECRET}, which the input does not have" in run.stderr
    _never_echoed(run)


def test_a_refused_sqlite_query_is_a_config_error(job, sandbox):
    db = job.folder / "u.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE users (external_id TEXT)")
    job.config(**ATTRS, input={"format": "sqlite", "path": "u.db", "query": "DELETE FROM users"})
    run = job.run()
    assert run.code == 2 and "input.query:" in run.stderr and sandbox.requests() == []
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 1
