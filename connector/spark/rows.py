"""A task's rows: Spark's Arrow batches as numbered rows, converted as typed sources are; each row's
retry key; and the two ways a task stops reading early (another task aborted; the test hook).

Values go through connector/sources/typed.py as Parquet's do: Decimal to a number, timestamps to
aware UTC datetimes, dates, arrays to lists, structs and maps to objects, binary to an invalid row.
Rows are numbered from 1 within the partition.

The retry key (for modes whose requests Braze does not take twice, e.g. events) stands for the
row's content and how many identical rows came before it in the partition: a retried attempt
finds the same keys whatever order its rows come in, so the state knows which it delivered.
"""

from __future__ import annotations

import hashlib
import os
import time
from datetime import date, datetime
from collections.abc import Iterable, Iterator
from typing import Any, Callable

from connector.errors import InvalidRow
from connector.sources.typed import plain_mapping
from connector.state.fingerprint import canonical

KEY_COLUMN = "__braze_spark_row_key"    # ours: never sent, taken out of the rejected rows
CHECK_EVERY_S = 0.25                    # how often the stop file is looked for
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
    """The numbered rows of one partition for the pump, with the retry key added when asked, the
    stop file looked at, and the test hook's failure raised once enough rows were delivered."""

    def __init__(self, rows: Iterable[dict[str, Any] | InvalidRow], *, keyed: bool, stop_file: str | None,
                 on_stop: Callable[[str], None], fail_after: int | None = None,
                 delivered: Callable[[], int] = lambda: 0) -> None:
        self._rows = rows
        self._keys = RetryKeys() if keyed else None
        self._stop_file = stop_file
        self._on_stop = on_stop
        self._fail_after = fail_after
        self._delivered = delivered
        self.read = 0

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any] | InvalidRow]]:
        keys, next_check = self._keys, 0.0      # looked for at the first row, then every CHECK_EVERY_S
        for row in self._rows:
            self.read += 1
            if self._fail_after is not None and self._delivered() >= self._fail_after:
                raise InjectedFailure(f"injected failure after {self._delivered()} rows delivered "
                                      "(option _fail_first_attempt_after)")
            if self._stop_file is not None and time.monotonic() >= next_check:
                next_check = time.monotonic() + CHECK_EVERY_S
                if os.path.exists(self._stop_file):
                    self._on_stop(_stopper(self._stop_file))
            if keys is not None and not isinstance(row, InvalidRow):
                row[KEY_COLUMN] = keys.key(row)
            yield self.read, row


def _stopper(path: str) -> str:
    """Which partition wrote the stop file (its only content), for the stop message."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read(100).strip() or "another task"
    except OSError:
        return "another task"
