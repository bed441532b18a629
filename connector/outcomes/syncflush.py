"""One flush of the sync log: settlements as groups and rows, written in one statement.

What the rows of one settlement share (outcome, reason, error type, attempts, times) is one
group. Each row is packed into one string: its group in 6 digits, the row number, `:`, the user
key (`kind:value`; an alias's label and name joined by U+001F), built by one f-string a row, so
the writer thread holds the GIL as little as it can. On SQLite and PostgreSQL the flush is two JSON
parameters of one INSERT ... SELECT that the database unpacks itself with substr (one round
trip; the GIL is released while it works). With `include_values` a row is `[packed, values]`. A
flush that cannot be packed safely (a NUL, NaN or text that is not UTF-8 in the values, a key
holding U+001F) is written in the explicit form: `[row, identifier_type, identifier, alias_label,
group, values]`, the key split in Python, the text made safe. Other engines get executemany.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from typing import Any, Callable

from connector.outcomes import Settlement
from connector.outcomes.rejects import _jsonable
from connector.outcomes.syncdb import SyncDatabase, time_text
from connector.rows import Entry

GROUP = ("outcome", "reason", "error_type", "attempts", "sent_at", "acknowledged_at")
NOT_SENT = "not sent in this run: delivered by an earlier run, or unchanged, or a duplicate (state_file)"
GROUP_DIGITS = 6           # groups per flush < 10**6: FLUSH_ROWS bounds them
_NO_ID = (None, None, None)
_PG_TYPES = {"attempts": "INTEGER", "sent_at": "TIMESTAMPTZ", "acknowledged_at": "TIMESTAMPTZ"}
_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")      # an escaped NUL in JSON text (not an escaped backslash)


def identifier(key: str | None) -> tuple[str | None, str | None, str | None]:
    """(identifier_type, identifier, alias_label) of a user key: ('external_id', 'u1', None), or
    ('user_alias', name, label) for an alias."""
    if key is None:
        return _NO_ID
    kind, _, value = key.partition(":")
    if kind == "alias":
        label, _, name = value.partition("\x00")
        return ("user_alias", name, label)
    return (kind, value, None)


class Flush:
    """The rows waiting to be written: `groups` (GROUP's fields) and `rows` (packed strings, or
    [packed, values] with include_values)."""

    def __init__(self, backend: str, key_of: Callable[[Entry], str | None], include_values: bool) -> None:
        self.backend, self.values = backend, include_values
        self._key_of = key_of
        self.groups: list[tuple[Any, ...]] = []
        self.rows: list[Any] = []

    def __len__(self) -> int:
        return len(self.rows)

    def _group(self, fields: tuple[Any, ...]) -> str:
        self.groups.append(fields)
        return f"{len(self.groups) - 1:0{GROUP_DIGITS}d}"

    def add(self, s: Settlement) -> None:
        attempts, backend = s.attempts, self.backend
        sent, acked = time_text(s.sent_at, backend), time_text(s.answered_at, backend)
        if s.delivered:
            entries = s.delivered
            gid = self._group(("delivered", None if attempts else NOT_SENT, None, attempts, sent, acked))
            if all([e.key for e in entries]) and not self.values:      # the hot path
                self.rows.extend([f"{gid}{e.row}:{e.key}" for e in entries])
            else:
                for e in entries:
                    self._one(e, gid)
        for r in s.refused:
            self._one(r.entry, self._group((r.outcome, r.reason, r.error_type, attempts, sent, acked)))

    def _one(self, e: Entry, gid: str) -> None:
        key = e.key if e.key is not None else self._key_of(e)
        packed = f"{gid}{e.row}:{key or ''}"
        self.rows.append([packed, e.values()] if self.values else packed)

    def explicit(self) -> list[list[Any]]:
        """The rows as [row, identifier_type, identifier, alias_label, group(, values)]."""
        out = []
        for item in self.rows:
            packed, values = (item[0], item[1]) if self.values else (item, None)
            number, _, key = packed[GROUP_DIGITS:].partition(":")
            row = [int(number), *identifier(key or None), int(packed[:GROUP_DIGITS])]
            out.append(row + [values] if self.values else row)
        return out


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_jsonable)


def clean(value: Any) -> Any:
    """NUL as U+FFFD (PostgreSQL's text cannot hold it), lone surrogates as U+FFFD, NaN and
    Infinity as text, tuples as lists."""
    if isinstance(value, str):
        if value.isascii() and "\x00" not in value:
            return value
        return value.replace("\x00", "\ufffd").encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, dict):
        return {str(clean(k)): clean(v) for k, v in value.items()}
    return value


def _dumps(value: Any) -> str | None:
    """value as JSON, or None when it holds what JSON or UTF-8 cannot say (NaN, a lone surrogate)."""
    try:
        text = _json(value)
        text.encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        return None
    return text


def payloads(flush: Flush) -> tuple[bool, str, str]:
    """(explicit, the rows' JSON, the groups' JSON) of a flush."""
    groups = _dumps(flush.groups)
    if groups is None or "\\u0000" in groups:
        groups = _json(clean(flush.groups))
    rows = _dumps(flush.rows)
    if rows is not None and "\\u001f" not in rows:
        if "\\u0000" not in rows:
            return False, rows, groups
        if not flush.values:        # only keys hold text: an alias's NUL (or a NUL in an id) becomes U+001F
            return False, _NUL.sub(r"\1\\u001f", rows), groups
    return True, _json(clean(flush.explicit())), groups


def _packed_columns(pg: bool, packed: str) -> list[str]:
    """row, identifier_type, identifier, alias_label from a packed string, in SQL. A U+001F past an
    alias's separator stands for a NUL (payloads() made it so): shown as U+FFFD, as clean() does."""
    find, sep, bad = ("strpos", "chr(31)", "chr(65533)") if pg else ("instr", "char(31)", "char(65533)")
    colon = f"{find}({packed}, ':')"
    key = f"substr({packed}, {colon} + 1)"
    kind = (f"NULLIF(split_part({key}, ':', 1), '')" if pg else      # PostgreSQL's substr refuses a length < 0
            f"NULLIF(substr({key}, 1, {find}({key}, ':') - 1), '')")
    value = f"substr({key}, {find}({key}, ':') + 1)"
    number = f"CAST(substr({packed}, {GROUP_DIGITS + 1}, {colon} - {GROUP_DIGITS + 1}) AS {'BIGINT' if pg else 'INTEGER'})"
    name = f"replace(substr({value}, {find}({value}, {sep}) + 1), {sep}, {bad})"
    return [number, f"CASE {kind} WHEN 'alias' THEN 'user_alias' ELSE {kind} END",
            f"CASE WHEN {kind} = 'alias' THEN {name} ELSE NULLIF(replace({value}, {sep}, {bad}), '') END",
            f"CASE WHEN {kind} = 'alias' THEN "
            f"{f'split_part({value}, {sep}, 1)' if pg else f'substr({value}, 1, {find}({value}, {sep}) - 1)'} END"]


def statement(db: SyncDatabase, explicit: bool, values: bool) -> str:
    """The INSERT ... SELECT of one flush, for SQLite or PostgreSQL."""
    preparer = db.engine.dialect.identifier_preparer
    pg = db.target.backend == "postgresql"

    def pick(i: int, value: str = "r.value") -> str:
        return f"({value} ->> {i})" if pg else f"json_extract({value}, '$[{i}]')"

    if explicit:
        number = f"CAST({pick(0)} AS BIGINT)" if pg else pick(0)
        who, gid, at_values = [number, pick(1), pick(2), pick(3)], pick(4), 5
    else:
        packed = pick(0) if values else "r.value"
        who = _packed_columns(pg, packed)
        gid, at_values = f"substr({packed}, 1, {GROUP_DIGITS})", 1
    if values:
        row_values = (f"CASE WHEN json_typeof(r.value -> {at_values}) = 'null' THEN NULL "
                      f"ELSE CAST(r.value -> {at_values} AS TEXT) END") if pg else pick(at_values)
    else:
        row_values = "NULL"
    fields = [f"CAST({pick(i, 'value')} AS {_PG_TYPES[f]}) AS {f}" if pg and f in _PG_TYPES
              else f"{pick(i, 'value')} AS {f}" for i, f in enumerate(GROUP)]
    picks = [":run_id", *who, ":mode", ":record_type", *(f"g.{f}" for f in GROUP), row_values]
    columns = ", ".join(preparer.quote(c) for c in db.rows.columns.keys())
    table = preparer.format_table(db.rows)
    if pg:
        elements = "json_array_elements" if explicit or values else "json_array_elements_text"
        groups = (f"WITH g AS (SELECT CAST(o - 1 AS INTEGER) AS gid, {', '.join(fields)} "
                  f"FROM json_array_elements(CAST(:groups AS JSON)) WITH ORDINALITY AS x(value, o)) ")
        source = f"FROM {elements}(CAST(:rows AS JSON)) AS r(value) JOIN g ON g.gid = CAST({gid} AS INTEGER)"
    else:   # r outer, g through the automatic index SQLite builds on its gid
        groups = f"WITH g AS MATERIALIZED (SELECT CAST(key AS INTEGER) AS gid, {', '.join(fields)} FROM json_each(:groups)) "
        source = f"FROM json_each(:rows) AS r CROSS JOIN g WHERE g.gid = CAST({gid} AS INTEGER)"
    return f"{groups}INSERT INTO {table} ({columns}) SELECT {', '.join(picks)} {source}"


def write(db: SyncDatabase, conn: Any, common: dict[str, Any], flush: Flush) -> None:
    """Write the flush in the connection's open transaction."""
    import sqlalchemy

    if db.fast:
        explicit, rows, groups = payloads(flush)
        conn.execute(sqlalchemy.text(statement(db, explicit, flush.values)), {**common, "rows": rows, "groups": groups})
        return
    conn.execute(db.rows.insert(), records(flush, common))


def records(flush: Flush, common: dict[str, Any]) -> list[dict[str, Any]]:
    """The flush's rows as SQLAlchemy takes them for executemany (other engines)."""
    out = []
    groups = [dict(zip(GROUP, g)) for g in flush.groups]
    for row in clean(flush.explicit()):
        number, kind, ident, label, gid = row[:5]
        record = {**common, "row": number, "identifier_type": kind, "identifier": ident, "alias_label": label,
                  **groups[gid], "row_values": _json(row[5]) if flush.values and row[5] is not None else None}
        for name in ("sent_at", "acknowledged_at"):
            record[name] = None if record[name] is None else _dt.datetime.fromisoformat(record[name])
        out.append(record)
    return out
