"""Batches within the object limit, encoded once; halves for a 413 or an oversized body."""

import json

import pytest

from connector.delivery.batching import Batch, sendable
from connector.delivery.schedule import Schedule
from connector.rows import Entry


def entry(n, size=10):
    return Entry(n, {"n": n}, {"external_id": "x" * size})


def batches(schedule):
    out = []
    while (batch := schedule.take()) is not None:
        out.append(batch)
    return out


def test_object_limit():
    s = Schedule(3, lambda: 0.0)
    for n in range(1, 8):
        s.add("attributes", entry(n), f"u{n}")
    assert [[e.row for e in batch.entries] for batch in batches(s)] == [[1, 2, 3], [4, 5, 6]]
    assert s.close_open() == 1 and [[e.row for e in batch.entries] for batch in batches(s)] == [[7]]
    assert s.close_open() == 0


def test_arrays_never_mix():
    s = Schedule(2, lambda: 0.0)
    s.add("external_ids", Entry(1, None, "a"), "a")
    s.add("braze_ids", Entry(2, None, "b"), "b")
    s.add("external_ids", Entry(3, None, "c"), "c")
    assert [json.loads(b.body()) for b in batches(s)] == [{"external_ids": ["a", "c"]}]
    s.close_open()
    assert [json.loads(b.body()) for b in batches(s)] == [{"braze_ids": ["b"]}]


def test_body_is_compact_utf8_and_encoded_once():
    batch = Batch("attributes", [Entry(1, None, {"external_id": "ü", "n": 1.5})])
    body = batch.body()
    assert body == '{"attributes":[{"external_id":"ü","n":1.5}]}'.encode()
    assert batch.body() is body


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "\udcff"])
def test_unsendable_objects_are_found(bad):
    batch = Batch("attributes", [entry(1), Entry(2, None, {"external_id": "u", "v": bad})])
    with pytest.raises((ValueError, UnicodeEncodeError)):
        batch.body()
    assert [sendable(e) for e in batch.entries] == [True, False]


def test_halves_keep_order():
    batch = Batch("events", [entry(n) for n in range(1, 6)])
    first, second = batch.halves()
    assert [e.row for e in first.entries] == [1, 2] and [e.row for e in second.entries] == [3, 4, 5]
    assert first.rows == "2 rows, from row 1 to 2" and second.rows == "3 rows, from row 3 to 5"


def test_stale_batches_are_closed_by_age():
    now = [10.0]
    s = Schedule(75, lambda: now[0])
    s.add("external_ids", Entry(1, None, "a"), "a")
    now[0] = 11.5
    s.add("braze_ids", Entry(2, None, "b"), "b")
    s.add("external_ids", Entry(3, None, "c"), "c")     # joins the older batch: its age is its first entry's
    assert s.close_open(opened_before=11.0) == 1
    assert [(x.array, [e.row for e in x.entries]) for x in batches(s)] == [("external_ids", [1, 3])]
    s.close_open()
    assert [x.array for x in batches(s)] == ["braze_ids"]
