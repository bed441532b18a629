"""The schedule of batches: a user's rows one request after another in input order, every other
batch side by side, partial batches merged into few requests, and nothing waits needlessly."""

from __future__ import annotations

import random

from hypothesis import given, settings, strategies as st

from connector.delivery.schedule import Batchers, Schedule
from connector.rows import Entry

MAX = 3


def _rows(batch):
    return [e.row for e in batch.entries]


def test_a_batch_waits_only_for_the_earlier_batches_of_its_users():
    batchers, schedule = Batchers(2, MAX, lambda: 0.0), Schedule(MAX)
    add = batchers.batchers[0].add
    first = [add("attributes", Entry(n, None), key) for n, key in ((1, "a"), (2, "b"), (3, "c"))][-1]
    second = [add("attributes", Entry(n, None), key) for n, key in ((4, "c"), (5, "d"), (6, "e"))][-1]
    third = [add("attributes", Entry(n, None), key) for n, key in ((7, "f"), (8, "g"), (9, "h"))][-1]
    assert [schedule.close(b) for b in (first, second, third)] == [1, 0, 1]     # user c waits
    assert [_rows(schedule.take()), _rows(schedule.take())] == [[1, 2, 3], [7, 8, 9]]
    assert schedule.take() is None and schedule.pending == 3
    assert schedule.done(first) == 1 and _rows(schedule.take()) == [4, 5, 6]


def test_partial_batches_are_merged_and_wait_only_for_their_users():
    now = [0.0]
    batchers, schedule = Batchers(3, MAX, lambda: now[0]), Schedule(MAX)
    full = [batchers.batchers[0].add("attributes", Entry(n, None), "a") for n in (1, 2, 3)][-1]
    schedule.close(full)
    busy = schedule.take()
    for batcher, n, key in ((0, 4, "a"), (1, 5, "b"), (2, 6, "c"), (2, 7, "c")):
        batchers.batchers[batcher].add("attributes", Entry(n, None), key)
    batchers.batchers[1].add("events", Entry(8, None), "e")
    now[0] = 5.0
    assert schedule.merge(batchers.stale(1.0)) == 2      # rows 4-5 wait for user a's rows 1-3
    assert [_rows(schedule.take()), _rows(schedule.take())] == [[6, 7], [8]]
    assert schedule.take() is None
    assert schedule.done(busy) == 1 and _rows(schedule.take()) == [4, 5]


class Recorded(Schedule):
    """The schedule, keeping the batches closed in the order they were."""

    def __init__(self) -> None:
        super().__init__(MAX)
        self.closed: list = []

    def close(self, batch):
        self.closed.append(batch)
        return super().close(batch)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=100),
       st.booleans(), st.integers(0, 2**32))
def test_any_interleaving_keeps_each_users_rows_in_order_and_nothing_waits_needlessly(ops, sort, seed):
    """Rows of a few users (in input order, or sorted by user as a query's ORDER BY gives them)
    go through 1-8 batchers, the number changing at any moment (open batches closed first, as
    delivery does when its limit moves); stale flushes, sends and completions interleave at
    random. (One user's rows share an array: the mode and the identifier decide it.)"""
    rng = random.Random(seed)
    if sort:
        ops = sorted(ops, key=lambda op: op[0])
    now = [0.0]
    batchers, schedule = Batchers(8, MAX, lambda: now[0]), Recorded()
    groups = 2
    closed, in_flight, sent, user_of = schedule.closed, [], [], {}

    def unsettled_before(batch):
        """The batches closed before `batch`, not yet settled, holding one of its users."""
        earlier = closed[:closed.index(batch)]
        return [b for b in earlier if b not in sent and set(b.keys) & set(batch.keys)]

    def step():
        batch = schedule.take()
        if batch is not None:
            assert not unsettled_before(batch)           # its users' earlier rows are all settled
            in_flight.append(batch)
        if in_flight and rng.random() < 0.5:
            done = in_flight.pop(rng.randrange(len(in_flight)))
            sent.append(done)
            schedule.done(done)
        for waiting in closed:      # and a batch that waits, waits for something
            if waiting not in sent and waiting not in in_flight and waiting not in schedule._ready:
                assert unsettled_before(waiting)

    for n, (user, action) in enumerate(ops, 1):
        key = f"u{user}"
        user_of[n] = key
        array = "a" if user % 2 else "b"
        batch = batchers.batchers[user % groups].add(array, Entry(n, None), key)
        if batch is not None:
            schedule.close(batch)
        now[0] += 1
        if action == 0:
            schedule.merge(batchers.stale(now[0] - 2))
        elif action == 1:                   # the limit moved: close what is open, then regroup
            schedule.merge(batchers.flush())
            groups = rng.choice([1, 2, 4, 8])
        step()
    schedule.merge(batchers.flush())
    while in_flight or schedule.pending:
        step()
        if in_flight:
            done = in_flight.pop(0)
            sent.append(done)
            schedule.done(done)
    assert schedule.pending == 0 and not schedule._holder
    rows = [e.row for b in sent for e in b.entries]
    assert sorted(rows) == list(range(1, len(ops) + 1))             # every row exactly once
    for key in set(user_of.values()):
        order = [n for n in rows if user_of[n] == key]
        assert order == sorted(order)                               # in input order
