"""One worker's share of an input: rows are kept by a stable hash of their user key, numbered globally."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from connector import keys


@dataclass(frozen=True)
class Partition:
    """Worker `index` of `count` (0 <= index < count); `columns` identify a user (the mode card's)."""

    index: int
    count: int
    columns: keys.KeyColumns = keys.TRACK_KEYS

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"partition {self.index} of {self.count} does not exist")

    def owns(self, number: int, key: keys.UserKey | None) -> bool:
        """Whether row `number` of user `key` is this worker's; rows without a key go by number."""
        if key is None:
            return number % self.count == self.index
        return zlib.crc32(key.encode("utf-8", "surrogatepass")) % self.count == self.index

    def owns_row(self, number: int, row: Mapping[str, Any] | None) -> bool:
        """`owns` for a JSON row (None: a line that is not an object, by number)."""
        return self.owns(number, keys.row_key(row, self.columns) if row is not None else None)

    def owns_cells(self, header: Sequence[str]) -> Callable[[int, Sequence[str]], bool]:
        """`owns` for CSV rows of this header, given the row's number and raw cells: the same
        answer as owns(number, keys.cells_key(header, columns)(cells)), without building the key
        in the common case (a one-column identifier that is set). Rows of the wrong width go by
        number."""
        key, width, count, index, crc = keys.cells_key(header, self.columns), len(header), self.count, self.index, \
            zlib.crc32
        plan = keys.key_plan(header, self.columns)
        kind, at = plan[0] if plan else ("", ())
        first = at[0] if len(at) == 1 else None     # the key is then kind:cell when the cell is set
        prefix = keys.make(kind, "")

        def owns(number: int, cells: Sequence[str]) -> bool:
            if len(cells) == width:
                if first is not None and cells[first]:
                    return crc((prefix + cells[first]).encode("utf-8", "surrogatepass")) % count == index
                found = key(cells)
                if found is not None:
                    return crc(found.encode("utf-8", "surrogatepass")) % count == index
            return number % count == index

        return owns
