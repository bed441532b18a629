"""user_merge: one row merges one profile into another (/users/merge `merge_updates`); it cannot be undone.

The profile to merge is named by merge_external_id, merge_alias_name+merge_alias_label,
merge_email or merge_phone; the profile to keep by the keep_* columns alike. An email or phone
carries Braze's `prioritization` (which of the profiles with it is meant): the row's
`merge_prioritization` / `keep_prioritization`, else its `prioritization`, else the default of
its side (DEFAULT_PRIORITIZATION).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from connector import keys
from connector.errors import InvalidRow
from connector.writers.base import Item, PlainWriter
from connector.writers.contacts import Found, Way, check_pairs, key_columns, one_of, pick, require_one
from connector.writers.header import check_names, ignored_note
from connector.writers.values import parse_json

MODE = "user_merge"
SIDES = ("merge", "keep")
PRIORITIES = ("identified", "unidentified", "most_recently_updated", "least_recently_updated")
# Merge an unidentified (anonymous) profile into the identified one: Braze's own example, and the
# one that never merges away a profile that has an external_id unless a row says so.
DEFAULT_PRIORITIZATION: Mapping[str, tuple[str, ...]] = {
    "merge": ("unidentified", "most_recently_updated"), "keep": ("identified", "most_recently_updated")}
BAD_PRIORITIZATION = ("must be a JSON array (or comma-separated names) of identified or unidentified (not both), "
                      "most_recently_updated, least_recently_updated")


def ways(side: str) -> tuple[Way, ...]:
    """The columns that name one side's profile, in Braze's order."""
    return (Way("external_id", (f"{side}_external_id",)), Way(keys.ALIAS, (f"{side}_alias_name", f"{side}_alias_label")),
            Way("email", (f"{side}_email",)), Way("phone", (f"{side}_phone",)))


WAYS: Mapping[str, tuple[Way, ...]] = {side: ways(side) for side in SIDES}
KEYS = key_columns(WAYS["keep"])     # a merge is ordered by the profile it keeps
PRIORITY_COLUMNS = ("prioritization", "merge_prioritization", "keep_prioritization")


def prioritization(column: str, v: Any) -> list[str]:
    """A prioritization from a list, a JSON array's text, or comma-separated names."""
    if isinstance(v, str):
        text = v.strip()
        v = parse_json(column, text) if text.startswith("[") else [p.strip() for p in text.split(",")]
    if type(v) is not list or not v or any(p not in PRIORITIES for p in v) or len(set(v)) != len(v) \
            or {"identified", "unidentified"} <= set(v):
        raise InvalidRow(column, BAD_PRIORITIZATION)
    return list(v)


def _identifier(row: Mapping[str, Any], side: str) -> tuple[Found, dict[str, Any]]:
    found = pick(row, WAYS[side])
    if found is None:
        raise InvalidRow(None, f"no profile to {side}: {one_of(WAYS[side])}")
    if found.kind == keys.ALIAS:
        name, label = found.value
        return found, {"user_alias": {"alias_name": name, "alias_label": label}}
    ident: dict[str, Any] = {found.kind: found.value}
    if found.kind in ("email", "phone"):
        for column in (f"{side}_prioritization", "prioritization"):
            v = row.get(column)
            if v is not None and v != "":
                ident["prioritization"] = prioritization(column, v)
                break
        else:
            ident["prioritization"] = list(DEFAULT_PRIORITIZATION[side])
    return found, ident


class MergeWriter(PlainWriter):
    """Rows -> `merge_updates` of /users/merge: {identifier_to_merge, identifier_to_keep}."""

    _used = tuple(c for side in SIDES for w in WAYS[side] for c in w.columns) + PRIORITY_COLUMNS

    def check_columns(self, columns: Sequence[str]) -> list[str]:
        """HeaderError without a column for each side, or with half an alias; a note for the others."""
        present = check_names(columns, track=False)
        for side in SIDES:
            check_pairs(present, WAYS[side])
            require_one(present, WAYS[side], f"profile-to-{side}", MODE)
        return ignored_note(columns, self._used, MODE)

    def build(self, row: Mapping[str, Any]) -> Item:
        """{"identifier_to_merge": {...}, "identifier_to_keep": {...}}; InvalidRow for a profile
        merged into itself (the same identifier on both sides, and the same prioritization)."""
        merged, to_merge = _identifier(row, "merge")
        kept, to_keep = _identifier(row, "keep")
        if to_merge == to_keep:
            same = "and prioritization " if "prioritization" in to_keep else ""
            raise InvalidRow(kept.column, f"the same {kept.kind} {same}as {merged.column}: a profile cannot be "
                                          f"merged into itself")
        return Item("merge_updates", {"identifier_to_merge": to_merge, "identifier_to_keep": to_keep}, kept.key)


def _shown(ident: Mapping[str, Any]) -> str:
    if "user_alias" in ident:
        alias = ident["user_alias"]
        return f"user_alias {alias['alias_label']}:{alias['alias_name']}"
    kind = next(k for k in ident if k != "prioritization")
    text = f"{kind} {ident[kind]}"
    return text + f" ({', '.join(ident['prioritization'])})" if "prioritization" in ident else text


def describe(body: Mapping[str, Any]) -> str:
    """One line a dry run shows for an update: 'merge email a@x.io (unidentified, ...) into external_id u1'."""
    return f"merge {_shown(body['identifier_to_merge'])} into {_shown(body['identifier_to_keep'])}"
