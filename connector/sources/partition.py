"""One worker's share of an input: rows are kept by a stable hash of their user, numbered globally."""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable

# The user's identifier, first found first: these name the same user across rows of one input.
KEY_COLUMNS = ("external_id", "braze_id", ("alias_label", "alias_name"), "email", "phone")


@dataclass(frozen=True)
class Partition:
    """Worker `index` of `count` (0 <= index < count)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"partition {self.index} of {self.count} does not exist")

    def owns(self, number: int, key: str | None) -> bool:
        """Whether row `number` with user `key` is this worker's; rows without a key go by number."""
        if key is None:
            return number % self.count == self.index
        return zlib.crc32(key.encode("utf-8", "surrogatepass")) % self.count == self.index

    def owns_cells(self, header: Sequence[str]) -> Callable[[int, Sequence[str]], bool]:
        """`owns` for CSV rows of this header, given the row's number and raw cells: the same
        answer as owns(number, cells_key(header)(cells)), without building the key in the
        common case (a single-column identifier that is set). Rows of the wrong width go by number."""
        key, width, count, index, crc = cells_key(header), len(header), self.count, self.index, zlib.crc32
        plan = _key_plan(header)
        name, indices = plan[0] if plan else ("", ())
        at = indices[0] if len(indices) == 1 else None   # the key is then name=cell when the cell is set
        prefix = f"{name}="

        def owns(number: int, cells: Sequence[str]) -> bool:
            if len(cells) == width:
                if at is not None and cells[at]:
                    return crc((prefix + cells[at]).encode("utf-8", "surrogatepass")) % count == index
                found = key(cells)
                if found is not None:
                    return crc(found.encode("utf-8", "surrogatepass")) % count == index
            return number % count == index

        return owns


def _last_index(header: Sequence[str], name: str) -> int | None:
    """The column a row dict takes its value from: the last of duplicates, as in the row dict."""
    for i in range(len(header) - 1, -1, -1):
        if header[i] == name:
            return i
    return None


def _key_plan(header: Sequence[str]) -> list[tuple[str, tuple[int, ...]]]:
    """(key name, the indices of its columns present) of each KEY_COLUMNS entry the header has."""
    plan: list[tuple[str, tuple[int, ...]]] = []
    for spec in KEY_COLUMNS:
        names = spec if isinstance(spec, tuple) else (spec,)
        found = [_last_index(header, n) for n in names]
        indices = tuple(i for i in found if i is not None)
        if indices:
            plan.append(("+".join(names), indices))
    return plan


def cells_key(header: Sequence[str]) -> Callable[[Sequence[str]], str | None]:
    """A function from one CSV row's raw cells (as long as the header) to its user key, or None."""
    plan = _key_plan(header)

    def key(cells: Sequence[str]) -> str | None:
        for name, indices in plan:
            values = [cells[i] for i in indices]
            if any(values):
                return name + "=" + "\x00".join(values)
        return None

    return key


def mapping_key(row: Mapping[str, Any]) -> str | None:
    """The user key of a JSON row (values that are not text are keyed by their str())."""
    for spec in KEY_COLUMNS:
        names = spec if isinstance(spec, tuple) else (spec,)
        values = [row.get(n) for n in names]
        if any(v is not None and v != "" for v in values):
            return "+".join(names) + "=" + "\x00".join("" if v is None else str(v) for v in values)
    return None
