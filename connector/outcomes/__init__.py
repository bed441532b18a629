"""Where every row ends: the Outcomes seam, fed once per settled batch or row, and its sinks.

Each row read ends in exactly one outcome: delivered, skipped (refused by our own validation,
skipping on), rejected (refused by Braze) or failed (not delivered for any other reason). The
pipeline and delivery tell an `Outcomes` each time rows settle, in a `Settlement`; the sinks are
the counting ledger (ledger.py), the rejected-rows file (rejects.py) and, with a state file, the
state journal (connector/state). A new output of row outcomes is one more class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple, Protocol, Sequence

from connector.errors import OutputError
from connector.rows import Entry

OUTCOMES = ("delivered", "skipped", "rejected", "failed")


class Refusal(NamedTuple):
    """A row not delivered: skipped, rejected or failed, and why."""

    outcome: str
    entry: Entry
    reason: str
    error_type: str | None = None     # Braze's own error type, where Braze named one


@dataclass(frozen=True)
class Settlement:
    """Rows whose outcome is final: those of one request's answer, or rows settled on their own."""

    delivered: Sequence[Entry] = ()
    refused: Sequence[Refusal] = ()
    batch: Any = None                 # the request's batch (connector.delivery.batching.Batch), if any
    attempts: int = 0                 # requests made for it
    sent_at: float | None = None      # epoch seconds of its first request
    answered_at: float | None = None  # epoch seconds of the answer that settled it
    unknown_fate: bool = False        # its request may have been applied, and it was not sent again
    resent_after_unknown: bool = False    # delivered by a resend after a request of unknown fate
    # on_removed: these entries are not input rows but removals of users who left the audience, and
    # this is the operation ("unset", "unsubscribe" or "delete"); their Entry.row is -k, the run's
    # k-th removal, and Entry.values() the removal as a row (identifier, nulled attributes or group).
    removal: str | None = None


def refused(outcome: str, entries: Sequence[Entry], reason: str, batch: Any = None) -> Settlement:
    """A settlement of rows all refused for one reason (those of `batch`, when they had one)."""
    return Settlement(refused=[Refusal(outcome, e, reason) for e in entries], batch=batch)


class Outcomes(Protocol):
    """A sink of row outcomes; `settled` may be called from several threads."""

    def settled(self, settlement: Settlement) -> None: ...

    def close(self) -> None: ...


class Fanout:
    """Tells each sink, in order (the durable state first, then the counts and files). A sink that
    cannot write (OutputError) stops the job through `on_error`; the others are still told, so
    the counts stay exact."""

    def __init__(self, *sinks: Outcomes) -> None:
        self.sinks = sinks
        self.on_error: Callable[[OutputError], None] | None = None
        self.error: OutputError | None = None

    def settled(self, settlement: Settlement) -> None:
        for sink in self.sinks:
            try:
                sink.settled(settlement)
            except OutputError as exc:
                self._failed(exc)

    def close(self) -> None:
        for sink in self.sinks:
            try:
                sink.close()
            except OutputError as exc:
                self._failed(exc)

    def _failed(self, error: OutputError) -> None:
        if self.error is None:
            self.error = error
        if self.on_error is not None:
            self.on_error(error)
