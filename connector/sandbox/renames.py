"""/users/external_ids/rename and /remove: checked and applied entry by entry, with Braze's per-entry errors."""

from __future__ import annotations

from typing import Any, Callable

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
Judged = tuple[str | None, int | None]   # (why the entry fails, or None; the profile it acts on)


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


def _remove_problem(value: Any, applier: Applier | None) -> tuple[str | None, int | None]:
    """Why this id cannot be removed (None when it can), and its profile."""
    if not isinstance(value, str) or not value:
        return NOT_A_STRING, None
    if applier is None:
        return None, None
    pid, primary = _primary_of(applier, value)
    if pid is None or primary:
        return (PRIMARY if primary else NOT_DEPRECATED_UNKNOWN), None
    return None, pid


def _log(applier: Applier, kind: str, old: str, new: str | None, pid: int) -> None:
    braze_id = applier.db.execute("SELECT braze_id FROM profiles WHERE id = ?", (pid,)).fetchone()[0]
    applier.db.execute("INSERT INTO renames (seq, kind, old, new, braze_id) VALUES (?, ?, ?, ?, ?)",
                       (applier.seq, kind, old, new, braze_id))
    applier.touch(pid)


def _apply_rename(applier: Applier, entry: dict[str, Any], pid: int) -> str:
    current, new = entry["current_external_id"], entry["new_external_id"]
    applier.record("external_id_renames", entry)
    applier.db.execute("UPDATE profiles SET external_id = ? WHERE id = ?", (new, pid))
    applier.db.execute("INSERT INTO deprecated_ids VALUES (?, ?, ?)", (current, pid, applier.seq))
    _log(applier, "rename", current, new, pid)
    return str(current)


def _apply_remove(applier: Applier, value: str, pid: int) -> str:
    applier.record("external_ids", value)
    applier.db.execute("DELETE FROM deprecated_ids WHERE external_id = ?", (value,))
    _log(applier, "remove", value, None, pid)
    return value


def _each(entries: list[Any], applier: Applier | None, judge: Callable[[Any, Applier | None], Judged],
          apply: Callable[[Applier, Any, int], str], done_key: str, errors_key: str) -> Answer:
    """Judge and apply the entries one by one, in order (a later entry sees what the earlier ones did)."""
    done: list[Any] = []
    errors: list[list[Any]] = []
    for index, entry in enumerate(entries):
        problem, pid = judge(entry, applier)
        if problem:
            errors.append([index, problem])
        elif applier is None or pid is None:
            done.append(entry["current_external_id"] if isinstance(entry, dict) else entry)
        else:
            done.append(apply(applier, entry, pid))
    return Answer(200, {"message": "success", done_key: done, errors_key: errors}, accepted=len(done),
                  rejected=len(errors), applied=applier.applied if applier else 0)


def rename(body: dict[str, Any], applier: Applier | None) -> Answer:
    """POST /users/external_ids/rename: 200 with the renamed current ids and `[index, reason]` per failure."""
    entries = _entries(body, "external_id_renames")
    if isinstance(entries, Answer):
        return entries
    return _each(entries, applier, _rename_problem, _apply_rename, "external_ids", "rename_errors")


def remove(body: dict[str, Any], applier: Applier | None) -> Answer:
    """POST /users/external_ids/remove: 200 with the removed ids and `[index, reason]` per failure."""
    entries = _entries(body, "external_ids")
    if isinstance(entries, Answer):
        return entries
    return _each(entries, applier, _remove_problem, _apply_remove, "removed_ids", "removal_errors")
