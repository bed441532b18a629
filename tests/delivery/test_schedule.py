"""The schedule of batches: one lane's batches one at a time in input order, lanes side by side,
partial batches merged into few requests, and never a batch that waits for one waiting for it."""

from __future__ import annotations

import random

from hypothesis import given, settings, strategies as st

from connector.delivery.schedule import Lanes, Schedule
from connector.rows import Entry

MAX = 3


def _rows(batch):
    return [e.row for e in batch.entries]


def test_a_full_batch_goes_out_and_its_lane_waits_for_it():
    lanes, schedule = Lanes(2, MAX, lambda: 0.0), Schedule(2, MAX)
    batches = [b for n in range(1, 7) if (b := lanes.batchers[0].add("attributes", Entry(n, None))) is not None]
    assert [schedule.close(b) for b in batches] == [1, 0]          # the second waits for the first
    first = schedule.take()
    assert _rows(first) == [1, 2, 3] and schedule.take() is None
    other = lanes.batchers[1].add("attributes", Entry(7, None))
    assert other is None
    assert schedule.done(first) == 1 and _rows(schedule.take()) == [4, 5, 6]
    assert schedule.pending == 1


def test_partial_batches_are_merged_and_wait_for_busy_lanes():
    now = [0.0]
    lanes, schedule = Lanes(3, MAX, lambda: now[0]), Schedule(3, MAX)
    full = [lanes.batchers[0].add("attributes", Entry(n, None)) for n in (1, 2, 3)][-1]
    schedule.close(full)
    busy = schedule.take()
    for lane, n in ((0, 4), (1, 5), (2, 6), (2, 7), ):
        lanes.batchers[lane].add("attributes", Entry(n, None))
    lanes.batchers[1].add("events", Entry(8, None))
    now[0] = 5.0
    assert schedule.merge(lanes.stale(1.0, schedule.idle)) == 1     # lanes 1 and 2 are idle: merged
    merged = schedule.take()
    assert (merged.array, _rows(merged), sorted(merged.lanes)) == ("attributes", [5, 6, 7], [1, 2])
    assert schedule.take() is None                                  # lane 1's events wait for it
    assert schedule.done(merged) == 1 and _rows(schedule.take()) == [8]
    assert schedule.merge(lanes.flush()) == 0                       # lane 0's row 4 waits for row 1-3
    assert schedule.done(busy) == 1 and _rows(schedule.take()) == [4]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["a", "b"]), st.integers(0, 3)), max_size=80),
       st.integers(0, 2**32))
def test_any_interleaving_keeps_each_lane_in_order_and_drains(ops, seed):
    """Rows arrive in lanes; stale flushes, sends and completions interleave at random. (One
    user's rows always share a lane and an array: the mode and the identifier decide the array.)"""
    rng = random.Random(seed)
    now = [0.0]
    lanes, schedule = Lanes(6, MAX, lambda: now[0]), Schedule(6, MAX)
    in_flight, sent, lane_of = [], [], {}

    def step():
        batch = schedule.take()
        if batch is not None:
            assert all(schedule._queues[lane][0] is batch for lane in batch.lanes)
            in_flight.append(batch)
        if in_flight and rng.random() < 0.5:
            done = in_flight.pop(rng.randrange(len(in_flight)))
            sent.append(done)
            schedule.done(done)

    for n, (lane, array, action) in enumerate(ops, 1):
        lane_of[n] = (lane, array)
        batch = lanes.batchers[lane].add(array, Entry(n, None))
        if batch is not None:
            schedule.close(batch)
        now[0] += 1
        if action == 0:
            schedule.merge(lanes.stale(now[0] - 2, schedule.idle))
        step()
    schedule.merge(lanes.flush())
    for _ in range(10 * len(ops) + 10):                 # drain: every batch goes out
        step()
        if not in_flight and schedule.pending == 0:
            break
        if in_flight:
            done = in_flight.pop(0)
            sent.append(done)
            schedule.done(done)
    assert schedule.pending == 0 and not in_flight
    rows = [e.row for b in sent for e in b.entries]
    assert sorted(rows) == list(range(1, len(ops) + 1))             # every row exactly once
    for lane in set(lane_of.values()):         # a user's rows are of one lane and one array
        order = [n for n in rows if lane_of[n] == lane]
        assert order == sorted(order)                               # in input order
