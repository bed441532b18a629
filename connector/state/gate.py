"""The state's two seams into a job: the gate rows pass on their way to delivery, and the journal
delivery calls around each batch (recorded before it is sent, settled once Braze answered)."""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from connector.delivery.batching import Batch
from connector.errors import InvalidRow, JobError
from connector.keys import UserKey
from connector.outcomes import Outcomes, Settlement, refused
from connector.rows import Entry
from connector.state.audience import Audience, MemberChange
from connector.state.delta import Changes, Differ, diff
from connector.state.fingerprint import canonical, key_hash
from connector.state.store import Settled, StateStore
from connector.writers.base import Item

log = logging.getLogger("braze_export")

CHUNK_ROWS = 500        # rows looked up in the state at once
LOST_REASON = ("Braze may or may not have it: its request was in flight when an earlier run stopped or lost "
               "its connection; not resent because event_delivery is at_most_once")

Submit = Callable[[UserKey, str, Entry], None]


@dataclass(frozen=True)
class _Pending:
    """A row sent and not yet settled: what its acknowledgement tells the state."""

    user: bytes | None = None
    changes: Changes | None = None
    key: bytes | None = None
    member: MemberChange | None = None      # on_removed: what its acknowledgement tells the audience


def split_dedupe(values: Mapping[str, Any], column: str) -> tuple[dict[str, Any], str]:
    """The row without its dedupe_key column (ours, never sent), and the key as text."""
    rest = dict(values)
    key = rest.pop(column, None)
    if key is None or key == "":
        raise InvalidRow(column, "required, but empty (it is the dedupe_key)")
    return rest, key if isinstance(key, str) else canonical(key).decode("utf-8", "surrogatepass")


def _state_error(exc: sqlite3.Error) -> JobError:
    return JobError(f"cannot write the state file: {exc}")


class Gate:
    """Rows pass here before delivery: earlier runs' rows are settled, unchanged or duplicate rows
    are not sent; the journal side records batches in flight and what Braze acknowledged."""

    def __init__(self, store: StateStore, *, scope: str, delta: bool, dedupe_key: str | None,
                 lose_unknown: bool = False, differ: Differ = diff, audience: Audience | None = None) -> None:
        self._store = store
        self._audience = audience       # on_removed: the users delivered join the job's audience
        self._lose_unknown = lose_unknown   # rows of unknown fate are failed for good (at_most_once)
        self._differ = differ           # how an object compares with what Braze acknowledged
        self._outcomes: Outcomes | None = None
        self._scope = scope
        self._delta = delta
        self._dedupe_key = dedupe_key
        self._chunk: list[tuple[int, Mapping[str, Any], Item, bytes, bytes | None]] = []
        self._pending: dict[int, _Pending] = {}
        self._overlay: dict[bytes, list[Any]] = {}      # user -> [rows in flight, {name id: fp}]
        self._inflight: dict[int, int | None] = {}
        self._submit: Submit | None = None
        self._on_error: Callable[[JobError], None] = lambda error: None
        self.counts: Counter[str] = Counter()

    def bind(self, submit: Submit, on_error: Callable[[JobError], None], outcomes: Outcomes) -> None:
        """Where rows to send go (delivery's submit), how a state failure aborts the job, and
        where rows this gate settles itself are told."""
        self._submit = submit
        self._on_error = on_error
        self._outcomes = outcomes

    def _tell(self, settlement: Settlement) -> None:
        assert self._outcomes is not None, "bind() first"
        self._outcomes.settled(settlement)

    # -- the reading side (one thread) ------------------------------------------------------
    def earlier(self, n: int, values: Mapping[str, Any]) -> bool:
        """True when an earlier run of this job settled row n; it is counted here."""
        store = self._store
        if n in store.done:
            self._tell(Settlement(delivered=[Entry(n, values)]))
            self.counts["rows_delivered_earlier"] += 1
            return True
        if n in store.lost:
            self._tell(refused("failed", [Entry(n, values)], LOST_REASON))
            return True
        return False

    def prepare(self, values: dict[str, Any]) -> tuple[dict[str, Any], bytes | None]:
        """The row the writer builds from (without the dedupe_key column) and its hashed key."""
        if self._dedupe_key is None:
            return values, None
        rest, text = split_dedupe(values, self._dedupe_key)
        return rest, key_hash(self._scope, text)

    def add(self, n: int, values: Mapping[str, Any], item: Item, key: bytes | None) -> None:
        if not self._delta and key is None:
            member = self._member(item)
            self._send(n, values, item, item.body, None if member is None else _Pending(member=member))
            return
        self._chunk.append((n, values, item, item.body, key))
        if len(self._chunk) >= CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        chunk, self._chunk = self._chunk, []
        if not chunk:
            return
        try:
            with self._store.lock:
                sends, done, members = self._delta_decide(chunk) if self._delta else self._dedupe_decide(chunk)
                if done:
                    self._store.mark_done([entry.row for entry in done], members)
        except sqlite3.Error as exc:
            raise _state_error(exc) from None
        if done:
            self._tell(Settlement(delivered=done))
        for n, values, item, data, pending in sends:
            self._send(n, values, item, data, pending)

    def close(self) -> None:
        """The state session closes the store."""

    def discard(self, reason: str) -> None:
        """The job was aborted: rows waiting for their lookup are counted as failed."""
        chunk, self._chunk = self._chunk, []
        self._tell(refused("failed", [Entry(n, values) for n, values, *_ in chunk], reason))

    def _member(self, item: Item) -> MemberChange | None:
        return None if self._audience is None else self._audience.change(item.body, item.key)

    def _delta_decide(self, chunk: list) -> tuple[list, list[Entry], list[MemberChange]]:
        store, overlay = self._store, self._overlay
        users = [key_hash(self._scope, item.key) for _, _, item, _, _ in chunk]
        stored = store.users(list(set(users)))
        sends, done, members = [], [], []
        for (n, values, item, data, _), user in zip(chunk, users):
            mine, seen = overlay.get(user), stored.get(user)

            def current(nid: int) -> bytes | None:
                if mine is not None and nid in mine[1]:
                    return mine[1][nid]
                return seen.get(nid) if seen is not None else None

            verdict = self._differ(item.body, item.key, current, store.name_id, seen is not None or mine is not None)
            self.counts["attributes_unchanged"] += verdict.unchanged
            member = self._member(item)
            if verdict.body is None:
                self.counts["rows_unchanged"] += 1
                done.append(Entry(n, values))
                if member is not None:      # Braze has the whole object: its user is in the audience
                    members.append(member)
                continue
            if mine is None:
                mine = overlay[user] = [0, {}]
            mine[0] += 1
            mine[1].update(verdict.changes)
            body = data if verdict.unchanged == 0 else verdict.body
            sends.append((n, values, item, body, _Pending(user=user, changes=verdict.changes, member=member)))
        return sends, done, members

    def _dedupe_decide(self, chunk: list) -> tuple[list, list[Entry], list[MemberChange]]:
        known = self._store.known_keys(list({key for *_, key in chunk}))
        sends, done = [], []
        for n, values, item, data, key in chunk:
            if key in known:
                self.counts["rows_duplicate"] += 1
                done.append(Entry(n, values))
            else:
                sends.append((n, values, item, data, _Pending(key=key)))
        return sends, done, []

    def _send(self, n: int, values: Mapping[str, Any], item: Item, data: Any, pending: _Pending | None) -> None:
        assert self._submit is not None, "bind() first"
        if pending is not None:
            self._pending[n] = pending
        self._submit(item.key, item.array, Entry(n, values, data))

    # -- the journal (lane threads) ----------------------------------------------------------
    def sending(self, batch: Batch) -> None:
        """Record the batch as in flight before its first request."""
        try:
            record = self._store.sending([e.row for e in batch.entries])
        except sqlite3.Error as exc:
            return self._on_error(_state_error(exc))
        with self._store.lock:
            self._inflight[id(batch)] = record

    def unsent(self, batch: Batch) -> None:
        """The batch was not applied and its rows travel on in other batches (a 413 split)."""
        with self._store.lock:
            record = self._inflight.pop(id(batch), None)
            if record is not None:
                try:
                    self._store.settle(Settled(record, ()))
                except sqlite3.Error as exc:
                    self._on_error(_state_error(exc))

    def settled(self, settlement: Settlement) -> None:
        """Braze's final answer on a batch: record what it acknowledged, in one transaction.
        (Rows settled without a request, by this gate or by validation, are not the state's.)"""
        batch = settlement.batch
        if batch is None:
            return
        # Rows of unknown fate: failed for good under at_most_once; else their batch stays recorded
        # in flight, so that a resume counts them as of unknown fate and sends them again.
        lost = settlement.unknown_fate and self._lose_unknown
        keep_in_flight = settlement.unknown_fate and not self._lose_unknown
        rows = {e.row for e in settlement.delivered}
        users: dict[bytes, Changes] = {}
        keys: list[bytes] = []
        members: list[MemberChange] = []
        touched: list[bytes] = []
        with self._store.lock:
            record = self._inflight.pop(id(batch), None)
            for e in batch.entries:
                p = self._pending.pop(e.row, None)
                if p is None:
                    continue
                if p.user is not None:
                    if e.row in rows:
                        users.setdefault(p.user, {}).update(p.changes or {})
                        self.counts["attributes_sent"] += len(p.changes or {})
                    mine = self._overlay[p.user]
                    mine[0] -= 1
                    if mine[0] == 0:
                        del self._overlay[p.user]
                if p.key is not None and e.row in rows:
                    keys.append(p.key)
                if p.member is not None:
                    if e.row in rows:
                        members.append(p.member)
                    else:       # rejected or failed: still in this run's audience
                        touched.append(p.member.user)
            lost_rows = [e.row for e in batch.entries] if lost else []
            try:
                self._store.settle(Settled(None if keep_in_flight else record, sorted(rows), lost_rows, users, keys,
                                           members, touched))
            except sqlite3.Error as exc:
                self._on_error(_state_error(exc))
