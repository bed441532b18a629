"""The seam between the pipeline and the writers: WriterOptions, Item, and the Writer protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, NamedTuple, Protocol, Sequence

from connector.errors import ConfigError
from connector.keys import UserKey

if TYPE_CHECKING:
    from connector.writers.fastpath import CellPlan, Declared


@dataclass(frozen=True)
class WriterOptions:
    """What the config says about turning rows into Braze objects."""

    pre_formatted_fields: frozenset[str] = frozenset()
    update_existing_only: bool = False
    null_values: str = "skip"  # "skip" | "unset"
    shown: Mapping[str, str] = field(default_factory=dict)  # a pre-formatted name as written, if from ${VAR}
    subscription_group_id: str | None = None  # user_subscription: the group of rows without one

    def __post_init__(self) -> None:
        if self.null_values not in ("skip", "unset"):
            raise ConfigError("null_values must be skip or unset")


class Item(NamedTuple):
    """One Braze object made from one row.

    array: the request array it goes in ("attributes", "events", "purchases",
        "aliases_to_identify", "user_aliases", "merge_updates", "external_id_renames", for deletes
        "external_ids", "braze_ids", "user_aliases", and for subscriptions the identifier kind
        "external_ids", "emails" or "phones"); objects of different arrays never share a request.
    body: the JSON-ready object (a dict; a plain string for external_ids / braze_ids deletes; for
        a subscription, a one-user `subscription_groups` entry that the card's encoder merges).
    key: the user it concerns (connector.keys), so that rows of one user are delivered in order.
    """

    array: str
    body: Any
    key: UserKey


class Writer(Protocol):
    """Turns one row into one Braze object; pure: no I/O, no clock, no HTTP."""

    def check_columns(self, columns: Sequence[str]) -> list[str]:
        """Raise HeaderError when the header cannot serve the mode; return notes to log."""
        ...

    def build(self, row: Mapping[str, Any]) -> Item:
        """Return the Braze object for the row, or raise InvalidRow(column, reason)."""
        ...

    def compile_cells(self, header: Sequence[str], declared: Declared) -> CellPlan | None:
        """The fast path for a CSV/TSV header (writers/fastpath.py), or None when it has none."""
        ...


class PlainWriter:
    """For writers that take no options and have no fast path: every row takes `build`."""

    def __init__(self, options: WriterOptions) -> None:
        self.options = options

    def compile_cells(self, header: Sequence[str], declared: Declared) -> CellPlan | None:
        """None: no fast path."""
        return None
