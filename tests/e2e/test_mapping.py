"""mapping: a query whose column names are not Braze's is sent without renaming upstream."""

from __future__ import annotations

import json

from e2e_support import objects

ATTRS = {"mode": "user_track", "track_record_type": "user_profile_attributes"}
EVENTS = {"mode": "user_track", "track_record_type": "custom_events"}


def test_columns_are_renamed_and_constants_added(job, sandbox):
    job.write("u.csv", "user_id,fname,pts,prefs\nu1,Ann,5,\"{\"\"a\"\": 1}\"\nu2,Bo,,\n")
    job.config(**ATTRS, pre_formatted_fields=["prefs"],
               mapping={"columns": {"user_id": "external_id", "fname": "first_name", "pts": "points"},
                        "constants": {"source": "warehouse", "synced": True}},
               input={"path": "u.csv", "columns": {"pts": "long"}})
    run = job.run()
    assert run.code == 0, run.output
    assert objects(sandbox) == [
        {"external_id": "u1", "first_name": "Ann", "points": 5, "prefs": {"a": 1}, "source": "warehouse", "synced": True},
        {"external_id": "u2", "first_name": "Bo", "source": "warehouse", "synced": True}]


def test_a_rename_only_mapping_keeps_the_fast_path_and_the_same_bytes(job, sandbox):
    job.write("u.csv", "uid,city\n" + "".join(f"u{i},Oslo\n" for i in range(1, 151)))
    job.config(**ATTRS, concurrency=1, mapping={"columns": {"uid": "external_id"}}, input={"path": "u.csv"})
    run = job.run()
    assert run.code == 0 and objects(sandbox)[0] == {"external_id": "u1", "city": "Oslo"}
    assert len(objects(sandbox)) == 150


def test_events_with_a_dedupe_key_and_renamed_required_columns(job, sandbox):
    job.write("e.csv", "id,who,what,at\n1,u1,won,2024-05-01T10:00:00Z\n2,u2,lost,2024-05-01T10:00:00Z\n")
    job.config(**EVENTS, dedupe_key="id", state_file="s.db",
               mapping={"columns": {"who": "external_id", "what": "name", "at": "time"}}, input={"path": "e.csv"})
    assert job.run().code == 0
    assert job.run("--restart").report["rows_duplicate"] == 2     # the dedupe_key is read as it is
    assert sorted(e["name"] for e in sandbox.events()) == ["lost", "won"]


def test_two_workers_share_users_by_the_mapped_identifier(job, sandbox):
    job.write("u.csv", "uid,step\n" + "".join(f"u{i % 7},{i}\n" for i in range(1, 301)))
    job.config(**ATTRS, workers=2, mapping={"columns": {"uid": "external_id"}},
               input={"path": "u.csv", "columns": {"step": "long"}})
    run = job.run()
    assert run.code == 0, run.output
    steps: dict[str, list[int]] = {}
    for o in objects(sandbox):
        steps.setdefault(o["external_id"], []).append(o["step"])
    assert len(steps) == 7 and all(s == sorted(s) for s in steps.values())    # one user, one worker, in order


def test_a_mapping_the_input_cannot_serve_is_one_line(job, sandbox):
    job.write("u.csv", "uid,external_id\nu1,x\n")
    job.config(**ATTRS, mapping={"columns": {"user_id": "external_id"}}, input={"path": "u.csv"})
    run = job.run()
    assert run.code == 2 and "mapping.columns names user_id, which the input does not have" in run.stderr
    job.config(**ATTRS, mapping={"columns": {"uid": "external_id"}}, input={"path": "u.csv"})
    run = job.run()
    assert run.code == 2 and "two columns of the input would both be sent as external_id" in run.stderr
    assert sandbox.requests() == []


def test_json_rows_are_mapped_too(job, sandbox):
    job.write("u.jsonl", json.dumps({"uid": "u1", "tags": ["a"]}) + "\n")
    job.config(**ATTRS, mapping={"columns": {"uid": "external_id"}, "constants": {"plan": None}},
               null_values="unset", input={"path": "u.jsonl"})
    assert job.run().code == 0
    assert objects(sandbox) == [{"external_id": "u1", "tags": ["a"], "plan": None}]
