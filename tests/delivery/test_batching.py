"""Batches within the object limit, encoded once; halves for a 413 or an oversized body."""

import json

import pytest

from connector.delivery.batching import Batch, Batcher, sendable
from connector.rows import Entry


def entry(n, size=10):
    return Entry(n, {"n": n}, {"external_id": "x" * size})


def test_object_limit():
    b = Batcher(max_objects=3)
    ready = [batch for n in range(1, 8) if (batch := b.add("attributes", entry(n))) is not None]
    assert [[e.row for e in batch.entries] for batch in ready] == [[1, 2, 3], [4, 5, 6]]
    assert [[e.row for e in batch.entries] for batch in b.flush()] == [[7]]
    assert b.flush() == []


def test_arrays_never_mix():
    b = Batcher(max_objects=2)
    b.add("external_ids", Entry(1, None, "a"))
    b.add("braze_ids", Entry(2, None, "b"))
    ready = b.add("external_ids", Entry(3, None, "c"))
    assert json.loads(ready.body()) == {"external_ids": ["a", "c"]}
    assert json.loads(b.flush()[0].body()) == {"braze_ids": ["b"]}


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


def test_stale_batches_are_handed_back_by_age():
    now = [10.0]
    b = Batcher(max_objects=75, clock=lambda: now[0])
    b.add("external_ids", Entry(1, None, "a"))
    now[0] = 11.5
    b.add("braze_ids", Entry(2, None, "b"))
    b.add("external_ids", Entry(3, None, "c"))       # joins the older batch: its age is its first entry's
    stale = b.take_stale(opened_before=11.0)
    assert [(x.array, [e.row for e in x.entries]) for x in stale] == [("external_ids", [1, 3])]
    assert [x.array for x in b.flush()] == ["braze_ids"]
