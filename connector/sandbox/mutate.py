"""Applying accepted objects to the sandbox's store with Braze's semantics (create, update, identify, delete)."""

from __future__ import annotations

import json
import secrets
from typing import Any

from .attributes import apply_attributes
from .store import Store, dumps


class Applier:
    """The store writes of one request; the caller holds `store.lock` around the whole request."""

    def __init__(self, store: Store, seq: int, path: str) -> None:
        self.store = store
        self.db = store.db
        self.seq = seq
        self.path = path
        self.applied = 0

    def record(self, array: str, obj: Any) -> None:
        """Log an accepted object in arrival order."""
        self.db.execute("INSERT INTO received (seq, path, array, body) VALUES (?, ?, ?, ?)",
                        (self.seq, self.path, array, dumps(obj)))

    def _touch(self, pid: int) -> None:
        self.store.tick += 1
        self.applied += 1
        self.db.execute("UPDATE profiles SET applied = applied + 1, updated = ? WHERE id = ?",
                        (self.store.tick, pid))

    def _create(self, external_id: str | None = None, alias: dict[str, Any] | None = None) -> int:
        cur = self.db.execute("INSERT INTO profiles (braze_id, external_id) VALUES (?, ?)",
                              (secrets.token_hex(12), external_id))
        pid = int(cur.lastrowid or 0)
        if alias is not None:
            self.db.execute("INSERT INTO aliases VALUES (?, ?, ?)",
                            (alias["alias_label"], alias["alias_name"], pid))
        return pid

    def resolve(self, obj: dict[str, Any], create: bool) -> int | None:
        """The profile an object is for, created when allowed and missing."""
        find = self.store.find_profile
        if "external_id" in obj:
            pid = find(external_id=obj["external_id"])
            return pid if pid is not None or not create else self._create(external_id=obj["external_id"])
        if "braze_id" in obj:
            return find(braze_id=obj["braze_id"])
        if "user_alias" in obj:
            pid = find(alias=obj["user_alias"])
            return pid if pid is not None or not create else self._create(alias=obj["user_alias"])
        column = "email" if obj.get("email") else "phone"
        rows = self.db.execute(f"SELECT id FROM profiles WHERE {column} = ? ORDER BY external_id IS NULL, "
                               f"updated DESC LIMIT 1", (obj[column],)).fetchall()
        if rows:
            return int(rows[0][0])
        if not create:
            return None
        pid = self._create()
        self.db.execute(f"UPDATE profiles SET {column} = ? WHERE id = ?", (obj[column], pid))
        return pid

    def attributes(self, obj: dict[str, Any]) -> None:
        default_only = "user_alias" in obj  # an alias is update-only unless false is sent
        pid = self.resolve(obj, create=not obj.get("_update_existing_only", default_only))
        if pid is None:
            return
        row = self.db.execute("SELECT attributes FROM profiles WHERE id = ?", (pid,)).fetchone()
        attrs = apply_attributes(json.loads(row[0]), obj)
        self.db.execute("UPDATE profiles SET attributes = ?, email = ?, phone = ? WHERE id = ?",
                        (dumps(attrs), attrs.get("email"), attrs.get("phone"), pid))
        self._touch(pid)

    def action(self, table: str, obj: dict[str, Any]) -> None:
        """An event or a purchase; for an alias it never creates a profile."""
        create = "user_alias" not in obj and not obj.get("_update_existing_only", False)
        pid = self.resolve(obj, create=create)
        if pid is None:
            return
        if table == "events":
            self.db.execute("INSERT INTO events (profile, seq, name, body) VALUES (?, ?, ?, ?)",
                            (pid, self.seq, obj["name"], dumps(obj)))
        else:
            self.db.execute("INSERT INTO purchases (profile, seq, body) VALUES (?, ?, ?)",
                            (pid, self.seq, dumps(obj)))
        self._touch(pid)

    def _has_label(self, pid: int, label: str) -> bool:
        return bool(self.db.execute("SELECT 1 FROM aliases WHERE profile = ? AND label = ?",
                                    (pid, label)).fetchall())

    def new_alias(self, entry: dict[str, Any]) -> None:
        """alias/new: add the alias to an external_id's profile, or create an alias-only profile."""
        if self.store.find_profile(alias=entry) is not None:
            return
        if entry.get("external_id") is None:
            self._touch(self._create(alias=entry))
            return
        pid = self.store.find_profile(external_id=entry["external_id"])
        if pid is None or self._has_label(pid, entry["alias_label"]):
            return
        self.db.execute("INSERT INTO aliases VALUES (?, ?, ?)", (entry["alias_label"], entry["alias_name"], pid))
        self._touch(pid)

    def identify(self, entry: dict[str, Any]) -> None:
        """identify: the alias-only profile gets the external_id, or is merged into its profile."""
        anon = self.store.find_profile(alias=entry["user_alias"])
        if anon is None:
            return
        row = self.db.execute("SELECT external_id, attributes FROM profiles WHERE id = ?", (anon,)).fetchone()
        if row["external_id"] is not None:
            return
        target = self.store.find_profile(external_id=entry["external_id"])
        if target is None:
            self.db.execute("UPDATE profiles SET external_id = ? WHERE id = ?", (entry["external_id"], anon))
            self._touch(anon)
            return
        labels = [r[0] for r in self.db.execute("SELECT label FROM aliases WHERE profile = ?", (anon,))]
        if any(self._has_label(target, label) for label in labels):
            return
        self._merge(anon, json.loads(row["attributes"]), target)

    def _merge(self, anon: int, anon_attrs: dict[str, Any], target: int) -> None:
        row = self.db.execute("SELECT attributes, applied FROM profiles WHERE id = ?", (target,)).fetchone()
        attrs = {**anon_attrs, **json.loads(row["attributes"])}
        applied = self.db.execute("SELECT applied FROM profiles WHERE id = ?", (anon,)).fetchone()[0]
        for table in ("events", "purchases"):
            self.db.execute(f"UPDATE {table} SET profile = ? WHERE profile = ?", (target, anon))
        self.db.execute("UPDATE aliases SET profile = ? WHERE profile = ?", (target, anon))
        self.db.execute("DELETE FROM profiles WHERE id = ?", (anon,))
        self.db.execute("UPDATE profiles SET attributes = ?, email = ?, phone = ?, applied = applied + ? "
                        "WHERE id = ?", (dumps(attrs), attrs.get("email"), attrs.get("phone"), applied, target))
        self._touch(target)

    def delete(self, array: str, entry: Any) -> None:
        """delete: the profile, its aliases, events and purchases."""
        if array == "external_ids":
            pid = self.store.find_profile(external_id=entry)
        elif array == "braze_ids":
            pid = self.store.find_profile(braze_id=entry)
        else:
            pid = self.store.find_profile(alias=entry)
        if pid is None:
            return
        for table, column in (("events", "profile"), ("purchases", "profile"), ("aliases", "profile"),
                              ("profiles", "id")):
            self.db.execute(f"DELETE FROM {table} WHERE {column} = ?", (pid,))
        self.applied += 1
