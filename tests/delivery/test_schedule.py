"""The schedule: a user's rows one request after another in input order, every batch free to go
as soon as it closes, the rows of a user whose batch is still out held until it is settled."""

from __future__ import annotations

import random

from hypothesis import given, settings, strategies as st

from connector.delivery.schedule import CLOSED, HELD, Schedule
from connector.rows import Entry

MAX = 3


def _rows(batch):
    return [e.row for e in batch.entries]


def _add(schedule, rows, array="attributes"):
    return [schedule.add(array, Entry(n, None), key) for n, key in rows]


def test_a_row_of_a_user_with_a_batch_out_waits_for_it_and_nothing_else_does():
    schedule = Schedule(MAX, lambda: 0.0)
    assert _add(schedule, ((1, "a"), (2, "b"), (3, "c"))) == [0, 0, CLOSED]
    first = schedule.take()
    assert _add(schedule, ((4, "c"), (5, "d"), (6, "e"), (7, "f"))) == [0, 0, 0, CLOSED]   # c's row 4 is held
    assert _rows(schedule.take()) == [5, 6, 7] and schedule.take() is None
    assert schedule.done(first) == 0                # row 4 joins the open batch
    assert _add(schedule, ((8, "g"), (9, "c"))) == [0, CLOSED]      # c is free again: its rows go together
    assert _rows(schedule.take()) == [4, 8, 9]


def test_a_users_rows_in_one_batch_go_together_and_a_long_run_of_them_is_held_in_order():
    schedule = Schedule(MAX, lambda: 0.0)
    assert _add(schedule, ((1, "a"), (2, "a"), (3, "a"))) == [0, 0, CLOSED]
    first = schedule.take()
    assert _add(schedule, ((n, "a") for n in range(4, 10))) == [0, 0, HELD, 0, 0, HELD]
    assert schedule.pending == 3                    # one batch out, two batches' worth held
    assert schedule.done(first) == 1                # six held rows: a batch of the first three...
    second = schedule.take()
    assert _rows(second) == [4, 5, 6] and schedule.take() is None   # ...and the rest held behind it
    assert schedule.done(second) == 1 and _rows(schedule.take()) == [7, 8, 9]


def test_a_users_released_rows_wait_for_a_batch_with_room_for_them_all_rather_than_split():
    schedule = Schedule(MAX, lambda: 0.0)
    assert _add(schedule, ((1, "a"), (2, "b"), (3, "c"), (4, "x"), (5, "y"), (6, "z"))) == [0, 0, CLOSED, 0, 0, CLOSED]
    first, _ = schedule.take(), schedule.take()
    assert _add(schedule, ((7, "a"), (8, "a"), (9, "d"), (10, "e"))) == [0, 0, 0, 0]   # a's rows held
    assert schedule.done(first) == 0                # two rows, one place left: they wait...
    assert _add(schedule, ((11, "f"), (12, "a"))) == [CLOSED, CLOSED]   # ...for the next batch, with a's next
    assert _rows(schedule.take()) == [9, 10, 11] and _rows(schedule.take()) == [7, 8, 12]


def test_rows_waiting_for_a_batch_go_at_once_when_nothing_else_is_out():
    schedule = Schedule(MAX, lambda: 0.0)
    _add(schedule, ((1, "a"), (2, "b"), (3, "c")))
    first = schedule.take()
    _add(schedule, ((4, "a"), (5, "a"), (6, "d"), (7, "e")))    # the reading thread stops here
    assert schedule.done(first) == 1                # nothing else out: the open batch goes now...
    assert _rows(schedule.take()) == [6, 7] and schedule.pending == 1   # ...and a's rows open the next
    assert schedule.close_open() == 1 and _rows(schedule.take()) == [4, 5]


def test_open_batches_close_when_stale_or_at_the_end_each_array_apart():
    now = [0.0]
    schedule = Schedule(MAX, lambda: now[0])
    _add(schedule, ((1, "a"),))
    now[0] = 5.0
    _add(schedule, ((2, "b"),), array="events")
    assert schedule.close_open(opened_before=1.0) == 1 and _rows(schedule.take()) == [1]
    assert not schedule.empty()
    assert schedule.close_open() == 1 and _rows(schedule.take()) == [2]


class Recorded(Schedule):
    """The schedule, keeping the batches closed in the order they were."""

    def __init__(self) -> None:
        self.now = 0.0
        super().__init__(MAX, lambda: self.now)
        self.closed: list = []

    def _close(self, batch):
        self.closed.append(batch)
        super()._close(batch)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3)), max_size=100),
       st.booleans(), st.integers(0, 2**32))
def test_any_interleaving_keeps_each_users_rows_in_order_and_no_batch_waits(ops, sort, seed):
    """Rows of a few users (in input order, or sorted by user as a query's ORDER BY gives them);
    stale closes, sends, completions and retries (a batch parked and resumed) interleave at
    random. (One user's rows share an array: the mode and the identifier decide it.)"""
    rng = random.Random(seed)
    if sort:
        ops = sorted(ops, key=lambda op: op[0])
    schedule = Recorded()
    in_flight, sent, user_of = [], [], {}

    def unsettled_before(batch):
        """The batches closed before `batch`, not yet settled, holding one of its users."""
        earlier = schedule.closed[:schedule.closed.index(batch)]
        return [b for b in earlier if b not in sent and set(b.keys) & set(batch.keys)]

    def step():
        batch = schedule.take()
        if batch is not None:
            assert not unsettled_before(batch)           # its users' earlier rows are all settled
            in_flight.append(batch)
        if in_flight and rng.random() < 0.5:
            done = in_flight.pop(rng.randrange(len(in_flight)))
            if rng.random() < 0.2:
                schedule.resume(done)                    # parked for a retry: taken again later
                return
            sent.append(done)
            schedule.done(done)
        # a held row waits only for a batch still to be settled: with nothing out, the reading
        # thread (perhaps waiting for room) is the only one left to move the job on
        assert schedule._unsettled or not schedule._held_rows

    for n, (user, action) in enumerate(ops, 1):
        key = f"u{user}"
        user_of[n] = key
        schedule.add("a" if user % 2 else "b", Entry(n, None), key)
        schedule.now += 1
        if action == 0:
            schedule.close_open(opened_before=schedule.now - 2)
        step()
    schedule.close_open()
    while in_flight or not schedule.empty():    # ends: each pass settles a batch or closes the open ones
        step()
        if in_flight:
            done = in_flight.pop(0)
            sent.append(done)
            schedule.done(done)
        elif not schedule.has_ready():
            schedule.close_open()
    assert schedule.pending == 0 and not schedule._holder and not schedule._held
    assert all(b in sent for b in schedule.closed)                  # every batch closed was sent
    rows = [e.row for b in sent for e in b.entries]
    assert sorted(rows) == list(range(1, len(ops) + 1))             # every row exactly once
    for key in set(user_of.values()):
        order = [n for n in rows if user_of[n] == key]
        assert order == sorted(order)                               # in input order
