"""A row on its way through the pipeline: its number, its values (decoded only when asked), its object."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple


class Entry(NamedTuple):
    """One row handed to delivery (or settled before it).

    raw: the row's values, or its raw CSV cells when `decode` is set (the fast path keeps the
        cells and turns them into the row only for a row that is not delivered);
    body: the object (a dict, a string for id lists) or its JSON bytes (the fast path), or None
        for a row that never became an object (an invalid row).
    key: the user key (connector/keys.py) the writer made, when the pump knew it; None for rows
        settled before a writer built them, and rows the state's gate handed on.
    """

    row: int
    raw: Any
    body: Any = None
    decode: Callable[[Any], Any] | None = None
    key: str | None = None

    def values(self) -> Any:
        """The row as column -> value (None when the source had none)."""
        return self.raw if self.decode is None else self.decode(self.raw)
