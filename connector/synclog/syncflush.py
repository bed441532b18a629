"""One flush of the sync log: settlements as groups and rows, written in one statement.

What the rows of one settlement share (outcome, reason, error type, attempts, times) is one
group. Each row is packed into one string: its group in 6 digits, the row number, `:`, the user
key (`kind:value`; an alias's label and name joined by U+001F), built by one f-string a row, so
the writer process (syncproc.py) spends little on it. On SQLite and PostgreSQL the flush is two
JSON parameters of one INSERT ... SELECT that the database unpacks itself with substr (one round
trip, each expression computed once a row). With `include_values` a row is `[packed, values]`. A
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
from connector.synclog.syncdb import SyncDatabase, time_text
from connector.rows import Entry

GROUP = ("outcome", "reason", "error_type", "attempts", "sent_at", "acknowledged_at")
NOT_SENT = "not sent in this run: delivered by an earlier run, or unchanged, or a duplicate (state_file)"
GROUP_DIGITS = 6           # groups per flush < 10**6: synclog.MAX_WAITING bounds them
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


Compact = tuple[int, "float | None", "float | None", list[int], "list[str | None]", "list[Any] | None",
                list[tuple[int, "str | None", str, str, "str | None", Any]]]


def compact(s: Settlement, key_of: Callable[[Entry], str | None], include_values: bool) -> Compact:
    """What the log keeps of a settlement, as it crosses to the writer process: (attempts, sent_at,
    answered_at, delivered rows, their keys, their values or None, refusals as (row, key, outcome,
    reason, error_type, values)). Rows the pump did not key are keyed by `key_of`."""
    entries = s.delivered
    keys = [e.key for e in entries]
    if not all(keys):
        keys = [k if k is not None else key_of(e) for k, e in zip(keys, entries)]
    values = [e.values() for e in entries] if include_values else None
    refused = [(r.entry.row, r.entry.key if r.entry.key is not None else key_of(r.entry), r.outcome, r.reason,
                r.error_type, r.entry.values() if include_values else None) for r in s.refused]
    return (s.attempts, s.sent_at, s.answered_at, [e.row for e in entries], keys, values, refused)


class Flush:
    """The rows waiting to be written: `groups` (GROUP's fields) and `rows` (packed strings, or
    [packed, values] with include_values), from compact settlements."""

    def __init__(self, backend: str, include_values: bool) -> None:
        self.backend, self.values = backend, include_values
        self.groups: list[tuple[Any, ...]] = []
        self.rows: list[Any] = []

    def __len__(self) -> int:
        return len(self.rows)

    def _group(self, fields: tuple[Any, ...]) -> str:
        self.groups.append(fields)
        return f"{len(self.groups) - 1:0{GROUP_DIGITS}d}"

    def add(self, item: Compact) -> None:
        attempts, sent_at, answered_at, numbers, keys, values, refused = item
        sent, acked = time_text(sent_at, self.backend), time_text(answered_at, self.backend)
        if numbers:
            gid = self._group(("delivered", None if attempts else NOT_SENT, None, attempts, sent, acked))
            if values is None and all(keys):      # the hot path
                self.rows.extend([f"{gid}{n}:{k}" for n, k in zip(numbers, keys)])
            else:
                for i, n in enumerate(numbers):
                    self._one(n, keys[i], gid, None if values is None else values[i])
        for n, key, outcome, reason, error_type, value in refused:
            self._one(n, key, self._group((outcome, reason, error_type, attempts, sent, acked)), value)

    def _one(self, n: int, key: str | None, gid: str, values: Any) -> None:
        packed = f"{gid}{n}:{key or ''}"
        self.rows.append([packed, values] if self.values else packed)

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


def _user_columns(pg: bool, key: str) -> list[str]:
    """identifier_type, identifier, alias_label from a key column `key` ('kind:value', an alias's label
    and name joined by U+001F), in SQL. A U+001F past an alias's separator stands for a NUL
    (payloads() made it so): shown as U+FFFD, as clean() does."""
    find, sep, bad = ("strpos", "chr(31)", "chr(65533)") if pg else ("instr", "char(31)", "char(65533)")
    alias = f"substr({key}, 1, 6) = 'alias:'"
    kind = (f"NULLIF(split_part({key}, ':', 1), '')" if pg else      # PostgreSQL's substr refuses a length < 0
            f"NULLIF(substr({key}, 1, {find}({key}, ':') - 1), '')")
    label = f"split_part(substr({key}, 7), {sep}, 1)" if pg else f"substr({key}, 7, {find}({key}, {sep}) - 7)"
    return [f"CASE WHEN {alias} THEN 'user_alias' ELSE {kind} END",
            f"CASE WHEN {alias} THEN replace(substr({key}, {find}({key}, {sep}) + 1), {sep}, {bad}) "
            f"ELSE NULLIF(replace(substr({key}, {find}({key}, ':') + 1), {sep}, {bad}), '') END",
            f"CASE WHEN {alias} THEN {label} END"]


def statement(db: SyncDatabase, explicit: bool, values: bool) -> str:
    """The INSERT ... SELECT of one flush, for SQLite or PostgreSQL: `g`, the groups; `p`, each row
    with its group's fields (SQLite materializes both, so no expression is computed twice a row)."""
    preparer = db.engine.dialect.identifier_preparer
    pg = db.target.backend == "postgresql"

    def pick(i: int, value: str = "r.value") -> str:
        return f"({value} ->> {i})" if pg else f"json_extract({value}, '$[{i}]')"

    if explicit:
        own = [f"{pick(0)} AS n", f"{pick(1)} AS kind", f"{pick(2)} AS ident", f"{pick(3)} AS label"]
        who, gid, at_values = ["kind", "ident", "label"], pick(4), 5
    else:
        packed = pick(0) if values else "r.value"
        colon = f"{'strpos' if pg else 'instr'}({packed}, ':')"
        own = [f"substr({packed}, {GROUP_DIGITS + 1}, {colon} - {GROUP_DIGITS + 1}) AS n",
               f"substr({packed}, {colon} + 1) AS k"]
        who, gid, at_values = _user_columns(pg, "k"), f"substr({packed}, 1, {GROUP_DIGITS})", 1
    if values:
        own.append((f"CASE WHEN json_typeof(r.value -> {at_values}) = 'null' THEN NULL "
                    f"ELSE CAST(r.value -> {at_values} AS TEXT) END AS v") if pg else f"{pick(at_values)} AS v")
    fields = [f"CAST({pick(i, 'value')} AS {_PG_TYPES[f]}) AS {f}" if pg and f in _PG_TYPES
              else f"{pick(i, 'value')} AS {f}" for i, f in enumerate(GROUP)]
    own += [f"g.{f}" for f in GROUP]
    picks = [":run_id", f"CAST(n AS {'BIGINT' if pg else 'INTEGER'})", *who, ":mode", ":record_type", *GROUP,
             "v" if values else "NULL"]
    columns = ", ".join(preparer.quote(c) for c in db.rows.columns.keys())
    table = preparer.format_table(db.rows)
    if pg:
        elements = "json_array_elements" if explicit or values else "json_array_elements_text"
        groups = (f"g AS (SELECT CAST(o - 1 AS INTEGER) AS gid, {', '.join(fields)} "
                  f"FROM json_array_elements(CAST(:groups AS JSON)) WITH ORDINALITY AS x(value, o))")
        rows = (f"p AS (SELECT {', '.join(own)} FROM {elements}(CAST(:rows AS JSON)) AS r(value) "
                f"JOIN g ON g.gid = CAST({gid} AS INTEGER))")
    else:   # r outer, g through the automatic index SQLite builds on its gid
        groups = f"g AS MATERIALIZED (SELECT CAST(key AS INTEGER) AS gid, {', '.join(fields)} FROM json_each(:groups))"
        rows = (f"p AS MATERIALIZED (SELECT {', '.join(own)} FROM json_each(:rows) AS r CROSS JOIN g "
                f"WHERE g.gid = CAST({gid} AS INTEGER))")
    return f"WITH {groups}, {rows} INSERT INTO {table} ({columns}) SELECT {', '.join(picks)} FROM p"


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
