"""/users/merge: the body's checks, a queue of accepted merges (answered 202), and applying them later, in order."""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
import time
from typing import Any

from . import rules
from .answers import Answer, bad
from .mutate import Applier
from .store import Store, dumps

PATH = "/users/merge"
MAX_UPDATES = 50
NOT_ARRAY = "'merge_updates' must be an array of objects"
TOO_MANY = "a single request may not contain more than 50 merge updates"
ONLY_TWO = "'merge_updates' must only have 'identifier_to_merge' and 'identifier_to_keep'"
BAD_IDENTIFIER = ("identifiers must be objects with an 'external_id' property that is a string, 'user_alias' "
                  "property that is an object, 'email' property that is a string, or 'phone' property that is "
                  "a string")
NO_PRIORITIZATION = "an 'email' or 'phone' identifier needs a 'prioritization' array"
BAD_PRIORITIZATION = ("'prioritization' is an array of 'identified' or 'unidentified' (not both), "
                      "'most_recently_updated', 'least_recently_updated'")
PRIORITIES = ("identified", "unidentified", "most_recently_updated", "least_recently_updated")
KINDS = ("external_id", "user_alias", "email", "phone")
MODES = ("background", "manual")


def _check_prioritization(value: Any) -> str | None:
    if not isinstance(value, list) or not value:
        return NO_PRIORITIZATION
    if any(not isinstance(v, str) or v not in PRIORITIES for v in value) or len(set(value)) != len(value) \
            or {"identified", "unidentified"} <= set(value):
        return BAD_PRIORITIZATION
    return None


def check_identifier(ident: Any) -> str | None:
    """One identifier_to_merge / identifier_to_keep; None when Braze would take it."""
    if not isinstance(ident, dict):
        return BAD_IDENTIFIER
    kinds = [k for k in ident if k != "prioritization"]
    if len(kinds) != 1 or kinds[0] not in KINDS:
        return BAD_IDENTIFIER
    kind, value = kinds[0], ident[kinds[0]]
    if kind == "external_id":
        return None if rules.check_external_id(value) is None else BAD_IDENTIFIER
    if kind == "user_alias":
        return None if rules.check_alias(value) is None else BAD_IDENTIFIER
    if not rules.is_text(value, 10_000):
        return BAD_IDENTIFIER
    return _check_prioritization(ident.get("prioritization"))


def check(body: dict[str, Any]) -> str | None:
    """The reason the whole request is refused (400), or None."""
    updates = body.get("merge_updates")
    if not isinstance(updates, list) or not updates or not all(isinstance(u, dict) for u in updates):
        return NOT_ARRAY
    if len(updates) > MAX_UPDATES:
        return TOO_MANY
    for update in updates:
        if set(update) != {"identifier_to_merge", "identifier_to_keep"}:
            return ONLY_TWO
        problem = check_identifier(update["identifier_to_merge"]) or check_identifier(update["identifier_to_keep"])
        if problem:
            return problem
    return None


def merge(body: dict[str, Any], applier: Applier | None) -> Answer:
    """POST /users/merge: queue every update and answer 202 at once; nothing is merged yet."""
    problem = check(body)
    if problem:
        return bad(problem)
    updates = body["merge_updates"]
    if applier is not None:
        for position, update in enumerate(updates):
            applier.record("merge_updates", update)
            applier.db.execute("INSERT INTO merges (seq, position, body) VALUES (?, ?, ?)",
                               (applier.seq, position, dumps(update)))
    return Answer(202, {"message": "success"}, accepted=len(updates))


def _by_contact(store: Store, column: str, value: str, prioritization: list[str]) -> tuple[int | None, str]:
    rows = store.db.execute(f"SELECT id, external_id, updated FROM profiles WHERE {column} = ? ORDER BY id",
                            (value,)).fetchall()
    for step in prioritization:
        if step in ("identified", "unidentified"):
            rows = [r for r in rows if (r["external_id"] is not None) == (step == "identified")]
        elif rows:
            pick = max if step == "most_recently_updated" else min
            best = pick(r["updated"] for r in rows)
            rows = [r for r in rows if r["updated"] == best]
    if len(rows) > 1:
        return None, f"{len(rows)} profiles with that {column} are left after the prioritization"
    return (int(rows[0]["id"]), "") if rows else (None, f"no profile with that {column}")


def resolve(store: Store, ident: dict[str, Any]) -> tuple[int | None, str]:
    """The profile an identifier names, or None and why not."""
    if "external_id" in ident:
        pid = store.find_profile(external_id=ident["external_id"])
    elif "user_alias" in ident:
        pid = store.find_profile(alias=ident["user_alias"])
    else:
        column = "email" if "email" in ident else "phone"
        return _by_contact(store, column, ident[column], ident["prioritization"])
    return pid, "" if pid is not None else "no such profile"


def _apply_one(store: Store, row: sqlite3.Row) -> None:
    update = json.loads(row["body"])
    merged, why_merged = resolve(store, update["identifier_to_merge"])
    kept, why_kept = resolve(store, update["identifier_to_keep"])
    status, outcome, ids = "skipped", "", (None, None)
    if merged is None:
        outcome = f"identifier_to_merge: {why_merged}"
    elif kept is None:
        outcome = f"identifier_to_keep: {why_kept}"
    elif merged == kept:
        outcome = "both identifiers name the same profile"
    else:
        ids = tuple(store.db.execute("SELECT braze_id FROM profiles WHERE id = ?", (pid,)).fetchone()[0]
                    for pid in (merged, kept))
        Applier(store, row["seq"], PATH).merge(merged, kept)
        status = "merged"
    store.db.execute("UPDATE merges SET status = ?, outcome = ?, merged = ?, kept = ? WHERE id = ?",
                     (status, outcome or None, ids[0], ids[1], row["id"]))


class MergeQueue:
    """Accepted merges not applied yet; a background thread (mode "background") or `apply()` applies them."""

    def __init__(self, store: Store, mode: str = "background") -> None:
        self.store = store
        self.mode = mode
        self.cond = threading.Condition()
        self.generation = 0
        self.kicked = True   # merges a previous run left pending are applied on start
        self.stopping = False
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        if self.mode == "background" and self.thread is None:
            self.stopping = False
            self.thread = threading.Thread(target=self._run, name="braze-sandbox-merges", daemon=True)
            self.thread.start()

    def stop(self) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        if self.thread is not None:
            self.thread.join(timeout=10)
            self.thread = None

    def kick(self) -> None:
        """A merge request was accepted (call it with `store.lock` released)."""
        with self.cond:
            self.kicked = True
            self.cond.notify_all()

    def pending(self) -> int:
        with self.store.lock:
            return int(self.store.db.execute("SELECT COUNT(*) FROM merges WHERE status = 'pending'").fetchone()[0])

    def apply(self) -> int:
        """Apply every pending merge in the order it arrived, one transaction each; how many were applied."""
        with self.store.lock:
            rows = self.store.db.execute("SELECT * FROM merges WHERE status = 'pending' ORDER BY id").fetchall()
            for row in rows:
                self.store.db.execute("BEGIN")
                try:
                    _apply_one(self.store, row)
                except sqlite3.Error as exc:
                    self.store.db.execute("ROLLBACK")
                    self.store.db.execute("UPDATE merges SET status = 'failed', outcome = ? WHERE id = ?",
                                          (type(exc).__name__, row["id"]))
                    sys.stderr.write(f"sandbox: merge {row['id']} failed: {type(exc).__name__}\n")
                    continue
                self.store.db.execute("COMMIT")
        with self.cond:
            self.generation += 1
            self.cond.notify_all()
        return len(rows)

    def wait(self, timeout: float) -> None:
        """Return once no merge is pending; TimeoutError after `timeout` seconds (mode "manual": call apply())."""
        deadline = time.monotonic() + timeout
        while True:
            with self.cond:
                seen = self.generation
            if self.pending() == 0:
                return
            with self.cond:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"merges still pending after {timeout} s")
                if self.generation == seen:
                    self.cond.wait(left)

    def _run(self) -> None:
        while True:
            with self.cond:
                while not (self.kicked or self.stopping):
                    self.cond.wait()
                if self.stopping:
                    return
                self.kicked = False
            self.apply()
