"""Identifiers of the subscription, merge and rename modes: external ids, emails, E.164 phones, one of several."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from connector import keys
from connector.errors import HeaderError, InvalidRow
from connector.writers.values import identifier

_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
NOT_EMAIL = "not an email address (name@domain.tld)"
NOT_E164 = "not a phone number in E.164 format (+, the country code and the number, at most 15 digits)"


def external_id(column: str, v: Any) -> str | None:
    """An external id's text (at most 987 bytes), or None when empty; errors name `column`."""
    try:
        return identifier("external_id", v)
    except InvalidRow as exc:
        raise InvalidRow(column, exc.reason) from None


def email(column: str, v: Any) -> str | None:
    """An email address as Braze takes it (name@domain.tld, no spaces), or None when empty."""
    text = identifier(column, v)
    if text is not None and not _EMAIL.fullmatch(text):
        raise InvalidRow(column, NOT_EMAIL)
    return text


def phone(column: str, v: Any) -> str | None:
    """A phone number in E.164 (+15555550100), or None when empty."""
    text = identifier(column, v)
    if text is not None and not _E164.fullmatch(text):
        raise InvalidRow(column, NOT_E164)
    return text


def _plain(column: str, v: Any) -> str | None:
    return identifier(column, v)


_CONVERT: Mapping[str, Callable[[str, Any], "str | None"]] = {
    "external_id": external_id, "email": email, "phone": phone, keys.ALIAS: _plain}


@dataclass(frozen=True)
class Way:
    """One way a row can name a user: a kind and its columns (two for an alias: name, label)."""

    kind: str
    columns: tuple[str, ...]

    @property
    def shown(self) -> str:
        return "+".join(self.columns)


@dataclass(frozen=True)
class Found:
    """The identifier a row gives: its kind, the column it came from, its value, and the user key."""

    kind: str
    column: str
    value: Any                  # text, or (name, label) for an alias
    key: keys.UserKey


def one_of(ways: Sequence[Way]) -> str:
    """'give exactly one of a, b+c or d'."""
    names = [w.shown for w in ways]
    return f"give exactly one of {', '.join(names[:-1])} or {names[-1]}"


def _value(row: Mapping[str, Any], way: Way) -> Any:
    convert = _CONVERT[way.kind]
    if len(way.columns) == 1:
        v = row.get(way.columns[0])
        return None if v is None else convert(way.columns[0], v)
    name_col, label_col = way.columns
    raw_name, raw_label = row.get(name_col), row.get(label_col)
    name = None if raw_name is None else identifier(name_col, raw_name)
    label = None if raw_label is None else identifier(label_col, raw_label)
    if name is None and label is None:
        return None
    if name is None:
        raise InvalidRow(name_col, f"empty while {label_col} is set (a user alias is the pair)")
    if label is None:
        raise InvalidRow(label_col, f"empty while {name_col} is set (a user alias is the pair)")
    return name, label


def pick(row: Mapping[str, Any], ways: Sequence[Way]) -> Found | None:
    """The one identifier the row gives among `ways`, None when it gives none; InvalidRow for
    two of them (naming the second), a half alias, or a value of the wrong form."""
    found: Found | None = None
    for way in ways:
        value = _value(row, way)
        if value is None:
            continue
        if found is not None:
            raise InvalidRow(way.columns[0], f"{found.column} is set too: {one_of(ways)}")
        key = keys.alias(*value) if way.kind == keys.ALIAS else keys.make(way.kind, value)
        found = Found(way.kind, way.columns[0], value, key)
    return found


def key_columns(ways: Sequence[Way]) -> keys.KeyColumns:
    """The ways as the KeyColumns of a card (connector/keys.py)."""
    return tuple((w.kind, w.columns) for w in ways)


def check_pairs(present: set[str], ways: Sequence[Way]) -> None:
    """HeaderError for half an alias pair in the header."""
    for way in ways:
        if len(way.columns) == 2:
            a, b = way.columns
            for name, other in ((a, b), (b, a)):
                if name in present and other not in present:
                    raise HeaderError(f"column {name} needs a column {other} beside it (a user alias is the pair)")


def require_one(present: set[str], ways: Sequence[Way], what: str, mode: str) -> None:
    """HeaderError when the header has no column of any of the ways."""
    if not any(set(w.columns) <= present for w in ways):
        names = [w.shown for w in ways]
        raise HeaderError(f"no {what} column: {mode} needs {', '.join(names[:-1])} or {names[-1]}")
