"""A set of row numbers kept as merged, sorted ranges: acknowledgements arrive out of order.

Thread-safe: sender threads add the rows Braze acknowledged while the reading thread asks
whether a row is in the set (an addition updates two lists, which a reader must never see
half-done).
"""

from __future__ import annotations

import bisect
import threading
from typing import Iterable, Iterator


class RangeSet:
    """Row numbers as disjoint ranges [lo, hi]; `add_many` reports what changed, for the store."""

    def __init__(self, ranges: Iterable[tuple[int, int]] = ()) -> None:
        self._lock = threading.Lock()
        self._los: list[int] = []
        self._his: list[int] = []
        for lo, hi in sorted(ranges):
            if self._his and lo <= self._his[-1] + 1:
                self._his[-1] = max(self._his[-1], hi)
            else:
                self._los.append(lo)
                self._his.append(hi)

    def __contains__(self, n: int) -> bool:
        with self._lock:
            i = bisect.bisect_right(self._los, n) - 1
            return i >= 0 and self._his[i] >= n

    def __len__(self) -> int:
        """How many row numbers the set holds."""
        with self._lock:
            return sum(hi - lo + 1 for lo, hi in zip(self._los, self._his))

    def __iter__(self) -> Iterator[tuple[int, int]]:
        with self._lock:
            return iter(list(zip(self._los, self._his)))

    @property
    def range_count(self) -> int:
        return len(self._los)

    def below(self, n: int) -> "RangeSet":
        """The rows of this set under n."""
        with self._lock:
            kept = [(lo, min(hi, n - 1)) for lo, hi in zip(self._los, self._his) if lo < n]
        return RangeSet(kept)

    def add(self, n: int) -> tuple[list[int], tuple[int, int] | None]:
        """Add one row: (starts of ranges that disappeared, the range now holding n) or ([], None)."""
        with self._lock:
            return self._add(n)

    def _add(self, n: int) -> tuple[list[int], tuple[int, int] | None]:
        los, his = self._los, self._his
        i = bisect.bisect_right(los, n) - 1
        if i >= 0 and his[i] >= n:
            return [], None
        left = i >= 0 and his[i] == n - 1
        right = i + 1 < len(los) and los[i + 1] == n + 1
        if left and right:
            gone = los[i + 1]
            his[i] = his[i + 1]
            del los[i + 1], his[i + 1]
            return [gone], (los[i], his[i])
        if left:
            his[i] = n
            return [], (los[i], n)
        if right:
            gone = los[i + 1]
            los[i + 1] = n
            return [gone], (n, his[i + 1])
        los.insert(i + 1, n)
        his.insert(i + 1, n)
        return [], (n, n)

    def add_many(self, rows: Iterable[int]) -> tuple[set[int], dict[int, int]]:
        """Add rows: (range starts to delete, ranges to write as start -> end), net of each other."""
        deleted: set[int] = set()
        written: dict[int, int] = {}
        with self._lock:
            changes = [self._add(n) for n in rows]
        for gone, now in changes:
            for lo in gone:
                written.pop(lo, None)
                deleted.add(lo)
            if now is not None:
                written[now[0]] = now[1]
                deleted.discard(now[0])
        return deleted, written
