"""Batches within the object and byte limits; halves for a 413."""

import json

from connector.batching import Batch, Batcher, Entry


def entry(n, size=10):
    return Entry(n, {"n": n}, json.dumps({"external_id": "x" * size}).encode())


def test_object_limit():
    b = Batcher(max_objects=3)
    ready = [batch for n in range(1, 8) for batch in b.add("attributes", entry(n))]
    assert [[e.row for e in batch.entries] for batch in ready] == [[1, 2, 3], [4, 5, 6]]
    assert [[e.row for e in batch.entries] for batch in b.flush()] == [[7]]
    assert b.flush() == []


def test_byte_limit_and_one_oversized_object():
    b = Batcher(max_objects=75, max_bytes=100)
    ready = []
    for n in range(1, 6):
        ready += b.add("attributes", entry(n, size=30))     # ~47 bytes each: two fit in 100
    ready += b.add("attributes", entry(6, size=500))         # alone over the cap: its own batch
    ready += b.flush()
    assert [[e.row for e in batch.entries] for batch in ready] == [[1, 2], [3, 4], [5], [6]]
    assert all(len(batch.body()) < 120 for batch in ready[:3])


def test_arrays_never_mix():
    b = Batcher(max_objects=2)
    b.add("external_ids", Entry(1, None, b'"a"'))
    b.add("braze_ids", Entry(2, None, b'"b"'))
    ready = b.add("external_ids", Entry(3, None, b'"c"'))
    assert json.loads(ready[0].body()) == {"external_ids": ["a", "c"]}
    assert json.loads(b.flush()[0].body()) == {"braze_ids": ["b"]}


def test_halves_keep_order():
    batch = Batch("events", [entry(n) for n in range(1, 6)])
    first, second = batch.halves()
    assert [e.row for e in first.entries] == [1, 2] and [e.row for e in second.entries] == [3, 4, 5]
    assert first.rows == "rows 1-2"
