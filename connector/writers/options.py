"""The writers' settings and the seam the pipeline calls: WriterOptions and the Writer protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence

from connector.model import Item


@dataclass(frozen=True)
class WriterOptions:
    """What the config says about turning rows into Braze objects."""

    pre_formatted_fields: frozenset[str] = frozenset()
    update_existing_only: bool = False
    null_values: str = "skip"  # "skip" | "unset"


class Writer(Protocol):
    """Turns one row into one Braze object; pure: no I/O, no clock, no HTTP."""

    endpoint: str  # "/users/track" | "/users/identify" | "/users/alias/new" | "/users/delete"
    bucket: str  # "track" for /users/track, "users" for the other three

    def check_columns(self, columns: Sequence[str]) -> list[str]:
        """Raise HeaderError when the header cannot serve the mode; return notes to log."""
        ...

    def build(self, row: Mapping[str, Any]) -> Item:
        """Return the Braze object for the row, or raise InvalidRow(column, reason)."""
        ...
