"""/users/external_ids/rename and /remove: checked and applied entry by entry, with Braze's per-entry errors."""

from __future__ import annotations

from typing import Any

from . import rules
from .answers import Answer, bad
from .mutate import Applier

MAX_ENTRIES = 50
RENAME_KEYS = frozenset({"current_external_id", "new_external_id"})
NOT_AN_ENTRY = "a rename is an object with string 'current_external_id' and 'new_external_id'"
SAME = "'current_external_id' and 'new_external_id' are the same"
UNKNOWN = "'current_external_id' is not the external_id of any user"
DEPRECATED = "'current_external_id' is a deprecated external_id; rename from the primary one"
TAKEN = "'new_external_id' is already in use (as a primary or a deprecated external_id)"
NOT_DEPRECATED_UNKNOWN = "no user has this deprecated external_id"
PRIMARY = "this is a primary external_id; only deprecated ones can be removed"
NOT_A_STRING = "an external_id is a string"


def _entries(body: dict[str, Any], key: str) -> list[Any] | Answer:
    entries = body.get(key)
    if entries is None or entries == []:
        return bad(f"Valid data must be provided in the '{key}' field.")
    if not isinstance(entries, list):
        return bad(f"'{key}' must be an array")
    if len(entries) > MAX_ENTRIES:
        return bad(f"a single request may not contain more than {MAX_ENTRIES} entries in '{key}'")
    return entries


def _primary_of(applier: Applier, external_id: str) -> tuple[int | None, bool]:
    """(the profile, whether `external_id` is its primary id), or (None, False) when nobody has it."""
    row = applier.db.execute("SELECT id FROM profiles WHERE external_id = ?", (external_id,)).fetchone()
    if row is not None:
        return int(row[0]), True
    row = applier.db.execute("SELECT profile FROM deprecated_ids WHERE external_id = ?", (external_id,)).fetchone()
    return (int(row[0]), False) if row is not None else (None, False)


def _rename_problem(entry: Any, applier: Applier | None) -> tuple[str | None, int | None]:
    """Why this rename fails (None when it can be done), and the profile it renames."""
    if not isinstance(entry, dict) or set(entry) != RENAME_KEYS:
        return NOT_AN_ENTRY, None
    current, new = entry["current_external_id"], entry["new_external_id"]
    for value in (current, new):
        reason = rules.check_external_id(value)
        if reason:
            return (reason if reason != "'external_id' must be a string" else NOT_AN_ENTRY), None
    if current == new:
        return SAME, None
    if applier is None:
        return None, None
    pid, primary = _primary_of(applier, current)
    if pid is None:
        return UNKNOWN, None
    if not primary:
        return DEPRECATED, None
    if _primary_of(applier, new)[0] is not None:
        return TAKEN, None
    return None, pid


def _braze_id(applier: Applier, pid: int) -> str:
    return str(applier.db.execute("SELECT braze_id FROM profiles WHERE id = ?", (pid,)).fetchone()[0])


def rename(body: dict[str, Any], applier: Applier | None) -> Answer:
    """POST /users/external_ids/rename: 200 with the renamed current ids and `[index, reason]` per failure."""
    entries = _entries(body, "external_id_renames")
    if isinstance(entries, Answer):
        return entries
    renamed: list[str] = []
    errors: list[list[Any]] = []
    for index, entry in enumerate(entries):   # in order: a later entry sees the renames before it
        problem, pid = _rename_problem(entry, applier)
        if problem:
            errors.append([index, problem])
            continue
        renamed.append(entry["current_external_id"])
        if applier is None or pid is None:
            continue
        applier.record("external_id_renames", entry)
        current, new = entry["current_external_id"], entry["new_external_id"]
        applier.db.execute("UPDATE profiles SET external_id = ? WHERE id = ?", (new, pid))
        applier.db.execute("INSERT INTO deprecated_ids VALUES (?, ?, ?)", (current, pid, applier.seq))
        applier.db.execute("INSERT INTO renames (seq, kind, old, new, braze_id) VALUES (?, 'rename', ?, ?, ?)",
                           (applier.seq, current, new, _braze_id(applier, pid)))
        applier.touch(pid)
    return Answer(200, {"message": "success", "external_ids": renamed, "rename_errors": errors},
                  accepted=len(renamed), rejected=len(errors), applied=applier.applied if applier else 0)


def remove(body: dict[str, Any], applier: Applier | None) -> Answer:
    """POST /users/external_ids/remove: 200 with the removed ids and `[index, reason]` per failure."""
    entries = _entries(body, "external_ids")
    if isinstance(entries, Answer):
        return entries
    removed: list[str] = []
    errors: list[list[Any]] = []
    for index, value in enumerate(entries):
        if not isinstance(value, str) or not value:
            errors.append([index, NOT_A_STRING])
            continue
        pid, primary = _primary_of(applier, value) if applier is not None else (0, False)
        if pid is None or primary:
            errors.append([index, PRIMARY if primary else NOT_DEPRECATED_UNKNOWN])
            continue
        removed.append(value)
        if applier is None:
            continue
        applier.record("external_ids", value)
        applier.db.execute("DELETE FROM deprecated_ids WHERE external_id = ?", (value,))
        applier.db.execute("INSERT INTO renames (seq, kind, old, new, braze_id) VALUES (?, 'remove', ?, NULL, ?)",
                           (applier.seq, value, _braze_id(applier, pid)))
        applier.touch(pid)
    return Answer(200, {"message": "success", "removed_ids": removed, "removal_errors": errors},
                  accepted=len(removed), rejected=len(errors), applied=applier.applied if applier else 0)
