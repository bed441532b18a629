"""A task's rows: Spark's Arrow batches as numbered rows, converted as typed sources are; each row's
retry key; and the test hook that fails a task's first attempt.

Values go through connector/sources/typed.py as Parquet's do: Decimal to a number, timestamps to
aware UTC datetimes, dates, arrays to lists, structs and maps to objects, binary to an invalid row.
Rows are numbered from 1 within the partition.

The retry key (for modes whose requests Braze does not take twice, e.g. events) stands for the
row's content and how many identical rows came before it in the partition: a retried attempt
finds the same keys whatever order its rows come in, so the state knows which it delivered.
"""

from __future__ import annotations

import hashlib
import time
from datetime import date, datetime
from collections.abc import Iterable, Iterator
from typing import Any, Callable

from connector.errors import InvalidRow
from connector.sources.typed import plain_mapping
from connector.state.fingerprint import canonical

KEY_COLUMN = "__braze_spark_row_key"    # ours: never sent, taken out of the rejected rows
HOOK_WAIT_S = 60.0                      # the test hook waits at most this long for its rows' answers
HOOK_POLL_S = 0.02
FLAT = frozenset({str, int, float, bool, type(None), datetime, date})   # repr is exact and stable


class InjectedFailure(RuntimeError):
    """The test hook _fail_first_attempt_after: the first attempt of a task fails on purpose."""


class RetryKeys:
    """The retry key of each row: its content's digest and its occurrence in the partition."""

    def __init__(self) -> None:
        self._seen: set[int] = set()
        self._repeats: dict[int, int] = {}

    def key(self, row: dict[str, Any]) -> str:
        values = tuple(row.values())    # in the schema's column order, the same in every attempt
        flat = FLAT.issuperset(map(type, values))
        digest = hashlib.blake2b(repr(values).encode("utf-8", "surrogatepass") if flat else canonical(row),
                                 digest_size=8).digest()
        number = int.from_bytes(digest, "big")
        if number not in self._seen:
            self._seen.add(number)
            return digest.hex()
        repeat = self._repeats[number] = self._repeats.get(number, 0) + 1
        return f"{digest.hex()}:{repeat}"


def arrow_rows(batches: Iterable[Any]) -> Iterator[dict[str, Any] | InvalidRow]:
    """Each row of Spark's Arrow record batches, its values converted (or the row's problem)."""
    for batch in batches:
        for row in batch.to_pylist(maps_as_pydicts="lossy"):
            yield plain_mapping(row)


class PartitionRows:
    """The numbered rows of one partition for the pump, with the retry key added when asked; with
    the test hook armed, the first row read once N rows were delivered fails the attempt (or the
    end of the rows, after waiting for N to be delivered)."""

    def __init__(self, rows: Iterable[dict[str, Any] | InvalidRow], *, keyed: bool, fail_after: int | None = None,
                 delivered: Callable[[], int] = lambda: 0) -> None:
        self._rows = rows
        self._keys = RetryKeys() if keyed else None
        self._fail_after = fail_after
        self._delivered = delivered
        self.read = 0

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any] | InvalidRow]]:
        keys, hook = self._keys, self._fail_after
        for row in self._rows:
            self.read += 1
            if hook is not None and self._delivered() >= hook:
                self._fail()
            if keys is not None and not isinstance(row, InvalidRow):
                row[KEY_COLUMN] = keys.key(row)
            yield self.read, row
        if hook is not None:
            deadline = time.monotonic() + HOOK_WAIT_S
            while self._delivered() < hook and time.monotonic() < deadline:   # ends by the deadline
                time.sleep(HOOK_POLL_S)
            self._fail()

    def _fail(self) -> None:
        raise InjectedFailure(f"injected failure after {self._delivered()} rows delivered "
                              "(option _fail_first_attempt_after)")
