"""The sandbox's SQLite store: profiles, aliases, events, purchases, and the logs of what arrived."""

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
"""
DATA_TABLES = ("profiles", "aliases", "events", "purchases", "received", "requests")
EVENT_KEYS = ("name", "time", "app_id", "properties")
PURCHASE_KEYS = ("product_id", "currency", "price", "quantity", "time", "app_id", "properties")


def dumps(value: Any) -> str:
    """Compact JSON text, as stored."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


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
                     email: str | None = None) -> int | None:
        """The row id of the profile with that identifier (email: the most recently updated)."""
        if external_id is not None:
            rows = self._rows("SELECT id FROM profiles WHERE external_id = ?", (external_id,))
        elif braze_id is not None:
            rows = self._rows("SELECT id FROM profiles WHERE braze_id = ?", (braze_id,))
        elif alias is not None:
            label, name = (alias["alias_label"], alias["alias_name"]) if isinstance(alias, dict) else alias
            rows = self._rows("SELECT profile FROM aliases WHERE label = ? AND name = ?", (label, name))
        elif email is not None:
            rows = self._rows("SELECT id FROM profiles WHERE email = ? ORDER BY external_id IS NULL, "
                              "updated DESC", (email,))
        else:
            return None
        return rows[0][0] if rows else None

    def _actions(self, table: str, profile: int | None, keys: tuple[str, ...],
                 name: str | None = None) -> list[dict[str, Any]]:
        rows = self._rows(f"SELECT t.seq, t.body, p.external_id, p.braze_id FROM {table} t "
                          f"JOIN profiles p ON p.id = t.profile WHERE (?1 IS NULL OR t.profile = ?1) "
                          f"AND (?2 IS NULL OR json_extract(t.body, '$.name') = ?2) ORDER BY t.id",
                          (profile, name))
        out = []
        for row in rows:
            body = json.loads(row["body"])
            item = {"seq": row["seq"], "external_id": row["external_id"], "braze_id": row["braze_id"]}
            item.update({k: body[k] for k in keys if k in body})
            out.append(item)
        return out

    def events(self, name: str | None = None, profile: int | None = None) -> list[dict[str, Any]]:
        return self._actions("events", profile, EVENT_KEYS, name)

    def purchases(self, profile: int | None = None) -> list[dict[str, Any]]:
        return self._actions("purchases", profile, PURCHASE_KEYS)

    def profile(self, pid: int) -> dict[str, Any] | None:
        """A profile as a user would see it in Braze."""
        rows = self._rows("SELECT * FROM profiles WHERE id = ?", (pid,))
        if not rows:
            return None
        row = rows[0]
        aliases = self._rows("SELECT name, label FROM aliases WHERE profile = ? ORDER BY label, name", (pid,))
        return {
            "braze_id": row["braze_id"], "external_id": row["external_id"],
            "aliases": [{"alias_name": a["name"], "alias_label": a["label"]} for a in aliases],
            "email": row["email"], "phone": row["phone"], "attributes": json.loads(row["attributes"]),
            "events": self.events(profile=pid), "purchases": self.purchases(profile=pid),
            "applied": row["applied"],
        }

    def profiles(self) -> list[dict[str, Any]]:
        ids = [r[0] for r in self._rows("SELECT id FROM profiles ORDER BY id")]
        return [p for p in (self.profile(i) for i in ids) if p is not None]

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {table: self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                    for table in ("profiles", "events", "purchases", "received", "requests")}
