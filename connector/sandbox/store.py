"""The sandbox's SQLite store: profiles and what hangs on them, the merge queue, and the logs of what arrived."""

from __future__ import annotations

import json
import sqlite3
import threading
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS profiles (
    id INTEGER PRIMARY KEY, braze_id TEXT UNIQUE NOT NULL, external_id TEXT UNIQUE,
    email TEXT, phone TEXT, attributes TEXT NOT NULL DEFAULT '{}',
    applied INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS profiles_email ON profiles (email);
CREATE INDEX IF NOT EXISTS profiles_phone ON profiles (phone);
CREATE TABLE IF NOT EXISTS aliases (
    label TEXT NOT NULL, name TEXT NOT NULL, profile INTEGER NOT NULL, PRIMARY KEY (label, name));
CREATE INDEX IF NOT EXISTS aliases_profile ON aliases (profile);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, profile INTEGER NOT NULL, seq INTEGER NOT NULL, name TEXT, body TEXT);
CREATE INDEX IF NOT EXISTS events_profile ON events (profile);
CREATE TABLE IF NOT EXISTS purchases (
    id INTEGER PRIMARY KEY, profile INTEGER NOT NULL, seq INTEGER NOT NULL, body TEXT);
CREATE INDEX IF NOT EXISTS purchases_profile ON purchases (profile);
CREATE TABLE IF NOT EXISTS received (
    id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, path TEXT, array TEXT, body TEXT);
CREATE TABLE IF NOT EXISTS requests (
    seq INTEGER PRIMARY KEY, path TEXT, status INTEGER, body TEXT, response TEXT, time REAL);
CREATE TABLE IF NOT EXISTS deprecated_ids (
    external_id TEXT PRIMARY KEY, profile INTEGER NOT NULL, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS deprecated_ids_profile ON deprecated_ids (profile);
CREATE TABLE IF NOT EXISTS subscriptions (
    profile INTEGER NOT NULL, group_id TEXT NOT NULL, state TEXT NOT NULL, seq INTEGER NOT NULL,
    double_opt_in INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (profile, group_id));
CREATE TABLE IF NOT EXISTS merges (
    id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, position INTEGER NOT NULL, body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending', outcome TEXT, merged TEXT, kept TEXT);
CREATE INDEX IF NOT EXISTS merges_status ON merges (status, id);
CREATE TABLE IF NOT EXISTS renames (
    id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, kind TEXT NOT NULL, old TEXT NOT NULL, new TEXT,
    braze_id TEXT NOT NULL);
"""
DATA_TABLES = ("profiles", "aliases", "events", "purchases", "received", "requests", "deprecated_ids",
               "subscriptions", "merges", "renames")
COUNTED = ("profiles", "events", "purchases", "received", "requests")
EVENT_KEYS = ("name", "time", "app_id", "properties")
PURCHASE_KEYS = ("product_id", "currency", "price", "quantity", "time", "app_id", "properties")


def dumps(value: Any) -> str:
    """Compact JSON text, as stored."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def action_item(seq: int, body: str, external_id: str | None, braze_id: str,
                keys: tuple[str, ...]) -> dict[str, Any]:
    """One stored event or purchase as it is shown: its request, its profile's ids and its fields."""
    fields = json.loads(body)
    item: dict[str, Any] = {"seq": seq, "external_id": external_id, "braze_id": braze_id}
    item.update({k: fields[k] for k in keys if k in fields})
    return item


class Store:
    """One SQLite connection, guarded by `lock`; writers hold the lock for a whole request."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path or ":memory:"
        self.lock = threading.RLock()
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        if self.path != ":memory:":
            self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.executescript(SCHEMA)
        self.tick = self.db.execute("SELECT COALESCE(MAX(updated), 0) FROM profiles").fetchone()[0]

    def last_seq(self) -> int:
        """The highest request sequence number already stored (a reopened file continues from it)."""
        with self.lock:
            return self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM requests").fetchone()[0]

    def close(self) -> None:
        with self.lock:
            self.db.close()

    def clear(self) -> None:
        """Remove every profile and every log entry."""
        with self.lock:
            for table in DATA_TABLES:
                self.db.execute(f"DELETE FROM {table}")

    def log_request(self, seq: int, path: str, status: int | None, body: Any, response: Any,
                    arrived: float) -> None:
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO requests VALUES (?, ?, ?, ?, ?, ?)",
                            (seq, path, status, dumps(body), dumps(response), arrived))

    # --- reads -----------------------------------------------------------------------------
    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self.db.execute(sql, args).fetchall()

    def received(self, path: str | None = None) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM received WHERE ?1 IS NULL OR path = ?1 ORDER BY id", (path,))
        return [{"seq": r["seq"], "path": r["path"], "array": r["array"], "object": json.loads(r["body"])}
                for r in rows]

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM requests WHERE ?1 IS NULL OR path = ?1 ORDER BY seq", (path,))
        return [{"seq": r["seq"], "path": r["path"], "status": r["status"], "body": json.loads(r["body"]),
                 "response": json.loads(r["response"]), "time": r["time"]} for r in rows]

    def find_profile(self, external_id: str | None = None, alias: Any = None, braze_id: str | None = None,
                     email: str | None = None, phone: str | None = None) -> int | None:
        """The row id of the profile with that identifier (a deprecated external_id still identifies its
        profile; email or phone: an identified profile first, then the most recently updated)."""
        if external_id is not None:
            rows = self._rows("SELECT id FROM profiles WHERE external_id = ?1 UNION ALL "
                              "SELECT profile FROM deprecated_ids WHERE external_id = ?1", (external_id,))
        elif braze_id is not None:
            rows = self._rows("SELECT id FROM profiles WHERE braze_id = ?", (braze_id,))
        elif alias is not None:
            label, name = (alias["alias_label"], alias["alias_name"]) if isinstance(alias, dict) else alias
            rows = self._rows("SELECT profile FROM aliases WHERE label = ? AND name = ?", (label, name))
        elif email is not None or phone is not None:
            column, value = ("email", email) if email is not None else ("phone", phone)
            rows = self._rows(f"SELECT id FROM profiles WHERE {column} = ? ORDER BY external_id IS NULL, "
                              "updated DESC", (value,))
        else:
            return None
        return rows[0][0] if rows else None

    def _actions(self, table: str, profile: int | None, keys: tuple[str, ...],
                 name: str | None = None) -> list[dict[str, Any]]:
        rows = self._rows(f"SELECT t.seq, t.body, p.external_id, p.braze_id FROM {table} t "
                          f"JOIN profiles p ON p.id = t.profile WHERE (?1 IS NULL OR t.profile = ?1) "
                          f"AND (?2 IS NULL OR json_extract(t.body, '$.name') = ?2) ORDER BY t.id",
                          (profile, name))
        return [action_item(r["seq"], r["body"], r["external_id"], r["braze_id"], keys) for r in rows]

    def events(self, name: str | None = None, profile: int | None = None) -> list[dict[str, Any]]:
        return self._actions("events", profile, EVENT_KEYS, name)

    def purchases(self, profile: int | None = None) -> list[dict[str, Any]]:
        return self._actions("purchases", profile, PURCHASE_KEYS)

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {table: self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in COUNTED}
