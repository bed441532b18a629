"""CheckedRows (connector/state/replay.py) on a real state file: blocks are recorded before their rows
are handed on, closed early for a slow query, compared at the earlier run's boundaries."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from connector.state.fingerprint import InputIdentity
from connector.state.replay import BLOCK, BLOCK_S, CheckedRows, ResultChanged
from connector.state.store import StateStore

QUERY = InputIdentity("q", "the query", streamed=True)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def rows(count: int, changed: int | None = None) -> list[tuple[int, dict[str, Any]]]:
    return [(n, {"id": f"u{n}", "v": n + (1000 if n == changed else 0)}) for n in range(1, count + 1)]


def blocks(store: StateStore) -> list[int]:
    with store.reading() as db:
        return [hi for (hi,) in db.execute("SELECT hi FROM blocks ORDER BY hi")]


@pytest.fixture()
def store(tmp_path) -> Iterator[StateStore]:
    s = StateStore(str(tmp_path / "state.db"))
    s.begin_job("cfg", QUERY, restart=False, lose_unknown=False)
    yield s
    s.close()


def test_a_block_is_recorded_before_any_of_its_rows_is_handed_on(store):
    checked = iter(CheckedRows(rows(BLOCK + 5), store, finished_before=False))
    assert next(checked)[0] == 1
    assert blocks(store) == [BLOCK]          # the whole block's hash, before its first row went on
    assert len(list(checked)) == BLOCK + 4 and blocks(store) == [BLOCK, BLOCK + 5]


def test_a_slow_query_closes_its_block_early():
    clock = Clock()

    def slow() -> Iterator[tuple[int, dict[str, Any]]]:
        for n, values in rows(10):
            clock.now += BLOCK_S / 4 if n < 6 else 0.0    # row 5 is a second after row 1
            yield n, values

    with_store = StateStore(":memory:")
    with_store.begin_job("cfg", QUERY, restart=False, lose_unknown=False)
    out = [n for n, _ in CheckedRows(slow(), with_store, finished_before=False, clock=clock)]
    assert out == list(range(1, 11)) and blocks(with_store) == [5, 10]


def test_a_rerun_is_compared_at_the_earlier_runs_boundaries(store):
    list(CheckedRows(rows(2500), store, finished_before=False))
    assert blocks(store) == [1000, 2000, 2500]
    again = [n for n, _ in CheckedRows(rows(2600), store, finished_before=False)]   # the same, then new rows
    assert again == list(range(1, 2601)) and blocks(store) == [1000, 2000, 2500, 2600]


@pytest.mark.parametrize("changed, first, nothing_sent", [(5, 1, True), (1999, 1001, False)])
def test_a_change_under_an_unfinished_run_stops_before_its_block(store, changed, first, nothing_sent):
    list(CheckedRows(rows(2500), store, finished_before=False))
    handed: list[int] = []
    with pytest.raises(ResultChanged, match=f"differs from row {first} on") as caught:
        for n, _ in CheckedRows(rows(2500, changed=changed), store, finished_before=False):
            handed.append(n)
    assert handed == list(range(1, first))   # nothing of the block that differs went on
    assert caught.value.exit_code == (2 if nothing_sent else 1)


def test_a_result_ending_short_of_the_unfinished_run_is_a_change(store):
    list(CheckedRows(rows(2000), store, finished_before=False))
    with pytest.raises(ResultChanged, match="from row 1001 on"):
        list(CheckedRows(rows(1500), store, finished_before=False))
    with pytest.raises(ResultChanged, match="from row 1001 on"):
        list(CheckedRows(rows(1000), store, finished_before=False))


def test_after_a_finished_run_a_change_forgets_the_record_from_its_block(store):
    list(CheckedRows(rows(3000), store, finished_before=True))
    store.mark_done(list(range(1, 3001)))
    out = [n for n, _ in CheckedRows(rows(3000, changed=1500), store, finished_before=True)]
    assert out == list(range(1, 3001))
    assert 1000 in store.done and 1001 not in store.done and 3000 not in store.done
    assert blocks(store) == [1000, 2000, 3000]      # this run's blocks from 1001 on
