"""Delta and dedupe: unchanged attributes are not sent again, rejected rows are, and a
dedupe_key keeps overlapping windows of events from adding anything twice."""

from __future__ import annotations

import json

from e2e_support import Job, objects

DELTA = {"mode": "user_track", "track_record_type": "user_profile_attributes", "state_file": "state.db",
         "delta": True, "pre_formatted_fields": ["tags", "fav"], "input": {"path": "users.jsonl"}}
USERS = [
    {"external_id": "u1", "first_name": "Ann", "score": 1, "tags": ["a", "b"], "fav": {"x": 1, "y": [1, 2]}},
    {"external_id": "u2", "first_name": "Bob", "score": 2, "tags": None, "fav": None},
    {"alias_name": "n3", "alias_label": "crm", "first_name": "Cy", "score": 3, "tags": ["c"], "fav": {"x": 3}},
]


def _write(job: Job, rows: list[dict]) -> None:
    job.write("users.jsonl", "".join(json.dumps(r) + "\n" for r in rows))


def _body(request: dict) -> dict:
    body = request["body"]
    return json.loads(body) if isinstance(body, (str, bytes)) else body


def _track(sandbox) -> list[dict]:
    return objects(sandbox, "/users/track")


def test_unchanged_data_sends_nothing_and_one_change_sends_exactly_that_attribute(job, sandbox):
    _write(job, USERS)
    job.config(**DELTA)
    first = job.run()
    assert first.code == 0 and len(_track(sandbox)) == 3 and first.report["attributes_unchanged"] == 0

    _write(job, list(reversed(USERS)))          # a new input holding the same data
    second = job.run()
    r = second.report
    assert second.code == 0 and r["requests"] == 0 and len(_track(sandbox)) == 3
    assert (r["rows_delivered"], r["rows_unchanged"], r["rows_delivered_earlier"]) == (3, 3, 0)
    assert r["attributes_unchanged"] == 4 + 2 + 4       # u2's nulls are not attributes (null_values: skip)

    changed = [dict(u) for u in USERS]
    changed[0]["fav"] = {"y": [1, 2], "x": 2}
    _write(job, changed)
    third = job.run()
    assert third.code == 0 and third.report["rows_unchanged"] == 2
    assert third.report["attributes_unchanged"] == 3 + 2 + 4
    assert _track(sandbox)[3:] == [{"external_id": "u1", "fav": {"y": [1, 2], "x": 2}}]
    assert sandbox.user("u1")["attributes"]["score"] == 1


def test_alias_objects_keep_their_flag_and_nested_key_order_is_not_a_change(job, sandbox):
    _write(job, USERS)
    job.config(**DELTA)
    assert job.run().code == 0
    changed = [dict(u) for u in USERS]
    changed[2]["score"] = 30
    changed[2]["fav"] = {"x": 3}
    changed[0]["fav"] = {"y": [1, 2], "x": 1}        # same object, other key order
    _write(job, changed)
    assert job.run().code == 0
    assert _track(sandbox)[3:] == [{"user_alias": {"alias_name": "n3", "alias_label": "crm"}, "score": 30,
                                    "_update_existing_only": False}]


def test_nulls_with_unset_are_sent_only_over_a_value_we_set(job, sandbox):
    _write(job, USERS)
    job.config(**DELTA, null_values="unset")
    assert job.run().code == 0
    changed = [dict(u) for u in USERS]
    changed[0]["tags"] = None                       # was ["a", "b"]: removed in Braze
    _write(job, changed)                            # u2's nulls were never values: not sent
    run = job.run()
    assert run.code == 0 and run.report["rows_unchanged"] == 2
    assert _track(sandbox)[3:] == [{"external_id": "u1", "tags": None}]
    assert "tags" not in sandbox.user("u1")["attributes"]
    _write(job, USERS)                              # set again after the removal: sent
    assert job.run().code == 0
    assert _track(sandbox)[4:] == [{"external_id": "u1", "tags": ["a", "b"]}]


def test_operators_are_always_sent(job, sandbox):
    rows = [{"external_id": "u1", "visits": {"inc": 1}, "tags": {"add": ["z"]}}]
    _write(job, rows)
    job.config(**{**DELTA, "pre_formatted_fields": ["visits", "tags"]})
    for n in range(1, 3):
        _write(job, rows * n)
        assert job.run().code == 0
    assert _track(sandbox) == [rows[0]] * 3
    assert sandbox.user("u1")["attributes"]["visits"] == 3


def test_a_rejected_row_is_sent_again_on_the_next_run(job, sandbox):
    rows = [{"external_id": "u1", "email": "a@example.com", "score": 1},
            {"external_id": "u2", "email": "not-an-email", "score": 2}]
    _write(job, rows)
    job.config(**DELTA)
    first = job.run()
    assert first.code == 3 and first.report["rows_rejected"] == 1
    again = job.run()                               # same input: only the rejected row goes again
    assert again.code == 3 and again.report["rows_delivered_earlier"] == 1
    sent = [[o["external_id"] for o in _body(r)["attributes"]] for r in sandbox.requests("/users/track")]
    assert sorted(sum(sent, [])) == ["u1", "u2", "u2"] and sent[-1] == ["u2"]

    rows[1]["email"] = "b@example.com"
    _write(job, rows)
    fixed = job.run()
    assert fixed.code == 0 and fixed.report["rows_unchanged"] == 1
    assert _track(sandbox)[-1] == {"external_id": "u2", "email": "b@example.com", "score": 2}


EVENTS = {"mode": "user_track", "track_record_type": "custom_events", "state_file": "state.db",
          "dedupe_key": "event_id", "input": {"path": "events.csv"}}


def _window(job: Job, first: int, last: int) -> None:
    job.write("events.csv", "event_id,external_id,name,time,level\n" + "".join(
        f"e{i},u{i % 3},won,2024-05-0{1 + i % 9}T10:00:00Z,{i}\n" for i in range(first, last + 1)))


def test_overlapping_windows_add_no_event_twice(job, sandbox):
    job.config(**EVENTS)
    _window(job, 1, 60)
    assert job.run().code == 0
    _window(job, 41, 100)
    run = job.run()
    r = run.report
    assert run.code == 0 and r["rows_duplicate"] == 20 and r["rows_delivered"] == 60
    levels = sorted(int(e["properties"]["level"]) for e in sandbox.events("won"))
    assert levels == list(range(1, 101))
    assert all("event_id" not in e["properties"] for e in sandbox.events("won"))


def test_a_dedupe_key_column_must_be_in_the_input_and_filled(job, sandbox):
    job.config(**{**EVENTS, "dedupe_key": "id"})
    _window(job, 1, 3)
    run = job.run()
    assert run.code == 2 and "the dedupe_key column id is not in the input" in run.stderr
    job.config(**EVENTS, skip_on_invalid_records=True)
    job.write("events.csv", "event_id,external_id,name,time\n,u1,won,2024-05-01T10:00:00Z\n")
    run = job.run()
    assert run.code == 0 and run.report["rows_skipped"] == 1
    assert "column event_id: required, but empty" in run.rejected[0]["reason"]


def test_delta_and_dedupe_key_are_refused_where_they_do_not_apply(job):
    job.config(**{**EVENTS, "track_record_type": "user_profile_attributes"}, delta=True)
    _window(job, 1, 2)
    run = job.run()
    assert run.code == 2 and run.report["requests"] == 0
    assert "dedupe_key: applies to track_record_type custom_events or purchases" in run.stderr
    assert "delta: applies to mode user_track with track_record_type user_profile_attributes" not in run.stderr
    job.config(**{k: v for k, v in EVENTS.items() if k != "state_file"}, delta=True, state_file="s.db")
    run = job.run()
    assert run.code == 2 and "delta: applies to mode user_track with track_record_type user_profile_attributes" in run.stderr
    job.config(**{k: v for k, v in EVENTS.items() if k != "state_file"})
    run = job.run()
    assert run.code == 2 and "state_file: is required when dedupe_key is set" in run.stderr


def test_a_user_twice_in_one_input_gets_its_last_value(job, sandbox):
    _write(job, [{"external_id": "u1", "score": 2}])
    job.config(**DELTA)
    assert job.run().code == 0
    _write(job, [{"external_id": "u1", "score": 1}, {"external_id": "u1", "score": 2}])
    run = job.run()
    assert run.code == 0 and run.report["rows_unchanged"] == 0
    assert _track(sandbox)[1:] == [{"external_id": "u1", "score": 1}, {"external_id": "u1", "score": 2}]
    assert sandbox.user("u1")["attributes"]["score"] == 2
    _write(job, [{"external_id": "u1", "score": 2}])
    assert job.run().report["rows_unchanged"] == 1      # the state holds the last value acknowledged
