"""The journal of a run's removals: a removal Braze acknowledged takes its user out of the audience, in
the one transaction that records the answer, so that no later run sends it again."""

from __future__ import annotations

import threading

from connector.errors import JobError, OutputError
from connector.outcomes import Settlement
from connector.state.audience import PAGE, Audience


class RemovalJournal:
    """An Outcomes sink of the removals (first in their fanout): `expect` each removal before it is
    submitted; its settlement then records what Braze acknowledged. Thread-safe."""

    def __init__(self, audience: Audience) -> None:
        self._audience = audience
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[bytes, frozenset[int] | None]] = {}   # row -> (user, ids undone; None: all)
        self._nothing: list[bytes] = []
        self.users_removed = 0      # users no longer members: every removal acknowledged, or nothing to undo

    def expect(self, row: int, user: bytes, undo: frozenset[int] | None) -> None:
        with self._lock:
            self._pending[row] = (user, undo)

    def nothing(self, user: bytes) -> None:
        """A user who left the audience with nothing of this job's to undo: no longer a member."""
        self._nothing.append(user)
        if len(self._nothing) >= PAGE:
            self.flush()

    def settled(self, settlement: Settlement) -> None:
        acked: list[tuple[bytes, frozenset[int] | None]] = []
        dropped: list[tuple[bytes, frozenset[int] | None]] = []
        with self._lock:
            for entry in settlement.delivered:
                found = self._pending.pop(entry.row, None)
                if found is not None:
                    acked.append(found)
            for refusal in settlement.refused:
                found = self._pending.pop(refusal.entry.row, None)
                if found is not None and refusal.outcome == "skipped":     # cannot be built: never will be
                    dropped.append((found[0], None))
        # Rejected or failed: the user stays a member, and the next complete run tries again.
        self._write(acked, count=True)
        self._write(dropped, count=False)

    def flush(self) -> None:
        nothing, self._nothing = self._nothing, []
        self._write([(user, None) for user in nothing], count=True)

    def _write(self, done: list[tuple[bytes, frozenset[int] | None]], count: bool) -> None:
        if not done:
            return
        try:
            gone = self._audience.removed(done)
        except JobError as exc:     # through the fanout, a clean stop of the removals
            raise OutputError(str(exc)) from None
        if count:
            with self._lock:
                self.users_removed += gone

    def close(self) -> None:
        """The removal step flushes; nothing to release."""
