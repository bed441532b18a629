"""Profiles read from the sandbox's store a page at a time, a few set-based queries per page (never one per profile)."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from typing import Any, Iterator

from .store import EVENT_KEYS, PURCHASE_KEYS, Store, action_item

PAGE = 500


def _marks(ids: list[int]) -> str:
    return ",".join("?" * len(ids))


def _grouped(store: Store, sql: str, ids: list[int]) -> dict[int, list[sqlite3.Row]]:
    """Rows of `sql` (whose first column is the profile id) by profile."""
    out: dict[int, list[sqlite3.Row]] = defaultdict(list)
    for row in store.db.execute(sql.format(marks=_marks(ids)), ids):
        out[row[0]].append(row)
    return out


def _counts(store: Store, table: str, ids: list[int]) -> dict[int, int]:
    sql = f"SELECT profile, COUNT(*) FROM {table} WHERE profile IN ({_marks(ids)}) GROUP BY profile"
    return {row[0]: row[1] for row in store.db.execute(sql, ids)}


def _page(store: Store, rows: list[sqlite3.Row], with_actions: bool) -> list[dict[str, Any]]:
    """The profiles of one page of `profiles` rows, as a user would see them in Braze."""
    ids = [row["id"] for row in rows]
    aliases = _grouped(store, "SELECT profile, name, label FROM aliases WHERE profile IN ({marks}) "
                              "ORDER BY label, name", ids)
    deprecated = _grouped(store, "SELECT profile, external_id FROM deprecated_ids WHERE profile IN ({marks}) "
                                 "ORDER BY seq, external_id", ids)
    groups = _grouped(store, "SELECT profile, group_id, state FROM subscriptions WHERE profile IN ({marks}) "
                             "ORDER BY group_id", ids)
    actions: dict[str, Any] = {}
    for table, keys in (("events", EVENT_KEYS), ("purchases", PURCHASE_KEYS)):
        if with_actions:
            actions[table] = (keys, _grouped(store, f"SELECT profile, seq, body FROM {table} "
                                                    "WHERE profile IN ({marks}) ORDER BY id", ids))
        else:
            actions[table] = _counts(store, table, ids)
    out = []
    for row in rows:
        pid = row["id"]
        profile: dict[str, Any] = {
            "braze_id": row["braze_id"], "external_id": row["external_id"],
            "deprecated_external_ids": [r["external_id"] for r in deprecated.get(pid, [])],
            "aliases": [{"alias_name": a["name"], "alias_label": a["label"]} for a in aliases.get(pid, [])],
            "email": row["email"], "phone": row["phone"], "attributes": json.loads(row["attributes"]),
            "subscriptions": {g["group_id"]: g["state"] for g in groups.get(pid, [])},
        }
        for table in ("events", "purchases"):
            if with_actions:
                keys, found = actions[table]
                profile[table] = [action_item(a["seq"], a["body"], row["external_id"], row["braze_id"], keys)
                                  for a in found.get(pid, [])]
            else:
                profile[table] = actions[table].get(pid, 0)
        profile["applied"] = row["applied"]
        out.append(profile)
    return out


def iter_profiles(store: Store, with_actions: bool = True, limit: int | None = None,
                  offset: int = 0) -> Iterator[dict[str, Any]]:
    """Every profile in creation order, from the `offset`-th, at most `limit` of them; read a page at a time.

    With `with_actions` false, "events" and "purchases" are counts instead of lists.
    """
    left = limit
    last: int | None = None
    while left is None or left > 0:
        size = PAGE if left is None else min(PAGE, left)
        with store.lock:
            if last is None:
                rows = store.db.execute("SELECT * FROM profiles ORDER BY id LIMIT ? OFFSET ?",
                                        (size, offset)).fetchall()
            else:
                rows = store.db.execute("SELECT * FROM profiles WHERE id > ? ORDER BY id LIMIT ?",
                                        (last, size)).fetchall()
            page = _page(store, rows, with_actions) if rows else []
        yield from page
        if len(rows) < size:
            return
        last = rows[-1]["id"]
        left = None if left is None else left - len(rows)


def profile(store: Store, pid: int, with_actions: bool = True) -> dict[str, Any] | None:
    """One profile by its row id, or None."""
    with store.lock:
        rows = store.db.execute("SELECT * FROM profiles WHERE id = ?", (pid,)).fetchall()
        return _page(store, rows, with_actions)[0] if rows else None


def subscriptions(store: Store, group_id: str | None = None) -> list[dict[str, Any]]:
    """Every stored subscription-group state (of one group, or all), by group then profile."""
    with store.lock:
        rows = store.db.execute(
            "SELECT s.group_id, s.state, s.seq, s.double_opt_in, p.braze_id, p.external_id, p.email, p.phone "
            "FROM subscriptions s JOIN profiles p ON p.id = s.profile WHERE ?1 IS NULL OR s.group_id = ?1 "
            "ORDER BY s.group_id, p.id", (group_id,)).fetchall()
    return [{"group_id": r["group_id"], "state": r["state"], "seq": r["seq"],
             "use_double_opt_in_logic": bool(r["double_opt_in"]), "braze_id": r["braze_id"],
             "external_id": r["external_id"], "email": r["email"], "phone": r["phone"]} for r in rows]


def merges(store: Store, limit: int | None = None) -> list[dict[str, Any]]:
    """The merge updates received, in arrival order, with what became of each."""
    with store.lock:
        rows = store.db.execute("SELECT * FROM merges ORDER BY id LIMIT ?",
                                (-1 if limit is None else limit,)).fetchall()
    out = []
    for row in rows:
        update = json.loads(row["body"])
        out.append({"seq": row["seq"], "index": row["position"], "identifier_to_merge": update["identifier_to_merge"],
                    "identifier_to_keep": update["identifier_to_keep"], "status": row["status"],
                    "outcome": row["outcome"], "merged_braze_id": row["merged"], "kept_braze_id": row["kept"]})
    return out


def renames(store: Store, limit: int | None = None) -> list[dict[str, Any]]:
    """External-id renames and removals applied, in order: {"seq", "kind", "old", "new", "braze_id"}."""
    with store.lock:
        rows = store.db.execute("SELECT * FROM renames ORDER BY id LIMIT ?",
                                (-1 if limit is None else limit,)).fetchall()
    return [{"seq": r["seq"], "kind": r["kind"], "old": r["old"], "new": r["new"], "braze_id": r["braze_id"]}
            for r in rows]


def extra_counts(store: Store) -> dict[str, int]:
    """How many subscription states, merges (pending too) and deprecated external ids the store holds."""
    with store.lock:
        one = store.db.execute(
            "SELECT (SELECT COUNT(*) FROM subscriptions), (SELECT COUNT(*) FROM merges), "
            "(SELECT COUNT(*) FROM merges WHERE status = 'pending'), (SELECT COUNT(*) FROM deprecated_ids)").fetchone()
    return {"subscriptions": one[0], "merges": one[1], "merges_pending": one[2], "deprecated_external_ids": one[3]}
