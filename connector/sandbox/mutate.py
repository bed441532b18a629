"""Applying accepted objects to the sandbox's store with Braze's semantics (create, update, merge, delete)."""

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

    def touch(self, pid: int) -> None:
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
        found = self.store.find_profile(**{column: obj[column]})
        if found is not None or not create:
            return found
        pid = self._create()
        self.db.execute(f"UPDATE profiles SET {column} = ? WHERE id = ?", (obj[column], pid))
        return pid

    def with_contact(self, column: str, value: str) -> list[int]:
        """Every profile whose email (or phone) is `value`; an email/phone-only profile is created if none."""
        pids = [int(r[0]) for r in self.db.execute(f"SELECT id FROM profiles WHERE {column} = ? ORDER BY id",
                                                    (value,))]
        if pids:
            return pids
        pid = self._create()
        self.db.execute(f"UPDATE profiles SET {column} = ?, attributes = ? WHERE id = ?",
                        (value, dumps({column: value}), pid))
        return [pid]

    def subscribe(self, pid: int, group_id: str, state: str, double_opt_in: bool = False) -> None:
        """Set one subscription group's state on a profile; setting the state it already has changes nothing."""
        cur = self.db.execute(
            "INSERT INTO subscriptions VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (profile, group_id) DO UPDATE "
            "SET state = ?3, seq = ?4, double_opt_in = ?5 WHERE state != ?3 OR double_opt_in != ?5",
            (pid, group_id, state, self.seq, int(double_opt_in)))
        if cur.rowcount:
            self.touch(pid)

    def attributes(self, obj: dict[str, Any]) -> None:
        default_only = "user_alias" in obj  # an alias is update-only unless false is sent
        pid = self.resolve(obj, create=not obj.get("_update_existing_only", default_only))
        if pid is None:
            return
        row = self.db.execute("SELECT attributes FROM profiles WHERE id = ?", (pid,)).fetchone()
        attrs = apply_attributes(json.loads(row[0]), obj)
        for group in attrs.pop("subscription_groups", None) or []:  # a state per group, kept apart
            self.subscribe(pid, group["subscription_group_id"], group["subscription_state"])
        self.db.execute("UPDATE profiles SET attributes = ?, email = ?, phone = ? WHERE id = ?",
                        (dumps(attrs), attrs.get("email"), attrs.get("phone"), pid))
        self.touch(pid)

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
        self.touch(pid)

    def _has_label(self, pid: int, label: str) -> bool:
        return bool(self.db.execute("SELECT 1 FROM aliases WHERE profile = ? AND label = ?",
                                    (pid, label)).fetchall())

    def new_alias(self, entry: dict[str, Any]) -> None:
        """alias/new: add the alias to an external_id's profile, or create an alias-only profile."""
        if self.store.find_profile(alias=entry) is not None:
            return
        if entry.get("external_id") is None:
            self.touch(self._create(alias=entry))
            return
        pid = self.store.find_profile(external_id=entry["external_id"])
        if pid is None or self._has_label(pid, entry["alias_label"]):
            return
        self.db.execute("INSERT INTO aliases VALUES (?, ?, ?)", (entry["alias_label"], entry["alias_name"], pid))
        self.touch(pid)

    def identify(self, entry: dict[str, Any]) -> None:
        """identify: the alias-only profile gets the external_id, or is merged into its profile."""
        anon = self.store.find_profile(alias=entry["user_alias"])
        if anon is None:
            return
        row = self.db.execute("SELECT external_id FROM profiles WHERE id = ?", (anon,)).fetchone()
        if row["external_id"] is not None:
            return
        target = self.store.find_profile(external_id=entry["external_id"])
        if target is None:
            self.db.execute("UPDATE profiles SET external_id = ? WHERE id = ?", (entry["external_id"], anon))
            self.touch(anon)
            return
        labels = [r[0] for r in self.db.execute("SELECT label FROM aliases WHERE profile = ?", (anon,))]
        if any(self._has_label(target, label) for label in labels):
            return
        self.merge(anon, target)

    def merge(self, merged: int, kept: int) -> None:
        """Fold profile `merged` into `kept`: the kept profile's values win where both have one; attributes,
        subscription states and alias labels only `merged` has are copied; events and purchases move;
        `merged` (with its external ids, primary and deprecated) disappears."""
        rows = {r["id"]: r for r in self.db.execute("SELECT id, attributes, applied FROM profiles WHERE id IN (?, ?)",
                                                     (merged, kept))}
        attrs = {**json.loads(rows[merged]["attributes"]), **json.loads(rows[kept]["attributes"])}
        for table in ("events", "purchases"):
            self.db.execute(f"UPDATE {table} SET profile = ? WHERE profile = ?", (kept, merged))
        self.db.execute("UPDATE aliases SET profile = ?1 WHERE profile = ?2 AND label NOT IN "
                        "(SELECT label FROM aliases WHERE profile = ?1)", (kept, merged))
        self.db.execute("INSERT OR IGNORE INTO subscriptions SELECT ?, group_id, state, seq, double_opt_in "
                        "FROM subscriptions WHERE profile = ?", (kept, merged))
        self._drop(merged)
        self.db.execute("UPDATE profiles SET attributes = ?, email = ?, phone = ?, applied = applied + ? "
                        "WHERE id = ?", (dumps(attrs), attrs.get("email"), attrs.get("phone"),
                                         rows[merged]["applied"], kept))
        self.touch(kept)

    def _drop(self, pid: int) -> None:
        for table, column in (("events", "profile"), ("purchases", "profile"), ("aliases", "profile"),
                              ("subscriptions", "profile"), ("deprecated_ids", "profile"), ("profiles", "id")):
            self.db.execute(f"DELETE FROM {table} WHERE {column} = ?", (pid,))

    def delete(self, array: str, entry: Any) -> None:
        """delete: the profile, its aliases, deprecated ids, subscription states, events and purchases."""
        if array == "external_ids":
            pid = self.store.find_profile(external_id=entry)
        elif array == "braze_ids":
            pid = self.store.find_profile(braze_id=entry)
        else:
            pid = self.store.find_profile(alias=entry)
        if pid is None:
            return
        self._drop(pid)
        self.applied += 1
