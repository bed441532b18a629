"""The fast path: CSV cells straight to JSON bytes, for the rows where it surely agrees.

A writer may compile, once per job, a `CellPlan` for the input's header: the request array, and a
function from one row's raw cells to (user key, the object encoded as UTF-8 JSON bytes), or None
when the row must take the general path (the source's row dict -> `writer.build` -> the batch encoder),
which then builds it or names its problem. The fast path never reports a problem itself, so
every message stays the general path's, and it takes only rows whose bytes it produces exactly
as the general path would (`tests/writers/test_writer_cells.py` compares the two on generated rows).

What it saves per row: the row dict, the body dict and the generic JSON encoder's walk over it.
"""

from __future__ import annotations

from json.encoder import encode_basestring
from typing import Any, Callable, Collection, Mapping, NamedTuple, Optional, Sequence

from connector import keys
from connector.errors import InvalidRow
from connector.writers.values import MAX_EXTERNAL_ID_BYTES, MAX_TEXT

CellEncoder = Callable[[Sequence[str]], Optional[tuple[str, bytes]]]
Part = Callable[[str], str]          # a non-empty cell -> its value as JSON text, or Unsure
# The source's declared columns, by index: (type, its converter from a cell, raising ValueError).
Declared = Mapping[int, tuple[str, Callable[[str], Any]]]
WriterConvert = Callable[[str, Any], Any]       # a writer's converter: (column, value) -> value

# Per column, up to this many distinct short cells keep their JSON text: flags, countries, plans
# and other columns of few values skip their conversion; columns of many values stop filling it.
# Bounded per job too, so that a header of a thousand columns stays within a few MB.
MEMO_SIZE = 512
MEMO_TOTAL = 16384
MEMO_CELL = 40      # characters: longer cells are not kept

# An external_id of at most this many characters, all ASCII, is within Braze's byte limit.
SHORT_EXTERNAL_ID = MAX_EXTERNAL_ID_BYTES // 4


class CellPlan(NamedTuple):
    """A writer's fast path for one header: every object it makes goes in `array`."""

    array: str
    encode: CellEncoder       # cells -> (the user's key, the object as JSON bytes), or None


class Field(NamedTuple):
    """One field of the body and how its cell becomes JSON."""

    at: int                   # the cell's position in the row
    before: str               # the JSON text before the value: `,"name":`
    part: Part                # the cell -> its value as JSON text
    memo: dict[str, str]      # cell -> before + its JSON text, for the first distinct short cells
    room: int                 # how many cells the memo keeps at most


class Unsure(Exception):
    """This cell (so its row) takes the general path."""


def text_part(cell: str) -> str:
    """Text sent as it is: the general path's check_text, less the UTF-8 check, which the
    encoder makes once on the whole object."""
    if len(cell) > MAX_TEXT:
        raise Unsure
    return encode_basestring(cell)


def scalar_json(out: Any) -> str:
    """A converted scalar as the batch encoder writes it (ensure_ascii off, compact)."""
    t = type(out)
    if t is str:
        return encode_basestring(out)
    if t is bool:
        return "true" if out else "false"
    if t is int:
        return int.__repr__(out)
    if t is float:
        return float.__repr__(out)   # finite: the writers' converters refuse NaN and Infinity
    raise Unsure                     # structures and anything else: the general path


# A plain attribute of these declared types is sent as the source typed it: to_long's range is
# within Braze's, to_double refuses Infinity and NaN, so the writer's converter changes nothing.
_TYPED_JSON: dict[str, Callable[[Any], str]] = {
    "long": int.__repr__,
    "double": float.__repr__,
    "boolean": lambda b: "true" if b else "false",
}


def typed_part(to_json: Callable[[Any], str], declared: Callable[[str], Any]) -> Part:
    """A plain attribute of a declared long, double or boolean column."""

    def part(cell: str) -> str:
        try:
            return to_json(declared(cell))
        except ValueError:
            raise Unsure from None

    return part


def value_part(column: str, declared: Callable[[str], Any] | None, convert: WriterConvert) -> Part:
    """A cell through the source's declared conversion (if any), then the writer's converter."""

    def part(cell: str) -> str:
        try:
            value = cell if declared is None else declared(cell)
            return scalar_json(convert(column, value))
        except (ValueError, InvalidRow):
            raise Unsure from None

    return part


def field_parts(header: Sequence[str], declared: Declared,
                fields: Sequence[tuple[str, WriterConvert]],
                as_is: Callable[[WriterConvert, str], bool]) -> list[Field]:
    """The fields of the body, in its order, each with its cell's position and its part.

    as_is(convert, type): whether the writer's converter sends a value of that declared type
    ("string" when undeclared) unchanged, text after check_text, as attribute_value does.
    """
    index = {name: i for i, name in enumerate(header)}
    room = min(MEMO_SIZE, MEMO_TOTAL // max(1, len(fields)))
    parts = []
    for column, convert in fields:
        i = index[column]
        kind, typed = declared.get(i, ("string", None))
        part: Part
        if not as_is(convert, kind):
            part = value_part(column, typed, convert)
        elif typed is None:
            part = text_part
        elif kind in _TYPED_JSON:
            part = typed_part(_TYPED_JSON[kind], typed)
        else:
            part = value_part(column, typed, convert)
        parts.append(Field(i, "," + encode_basestring(column) + ":", part, {}, room))
    return parts


def encode_fields(cells: Sequence[str], fields: Sequence[Field], unset: bool) -> str:
    """`,"name":value` of each field whose cell is set (`null` for an empty one when unset);
    raises Unsure when a cell is."""
    text = ""
    for i, before, part, memo, room in fields:
        cell = cells[i]
        if cell:
            known = memo.get(cell)
            if known is None:
                known = before + part(cell)
                if len(memo) < room and len(cell) <= MEMO_CELL:
                    memo[cell] = known
            text += known
        elif unset:
            text += before + "null"
    return text


def external_id_at(header: Sequence[str], declared: Declared, not_fast: Collection[str]) -> int | None:
    """Where external_id is, when the header can have a fast path: it has external_id, not
    declared with a type (the general path sends a typed one as its str()), and none of the
    columns `not_fast` (the writer's, plus its pre-formatted ones). Else None."""
    if "external_id" not in header or any(name in not_fast for name in header):
        return None
    at = list(header).index("external_id")
    return None if at in declared else at


def external_id_encoder(at: int, rest: Callable[[Sequence[str]], str], update_existing_only: bool) -> CellEncoder:
    """The encoder of objects that open with the row's external_id (cell `at`): `rest` makes the
    JSON text after it (raising Unsure to leave the row to the general path), and the object ends
    with `_update_existing_only: true` when the option is on."""
    tail = ',"_update_existing_only":true}' if update_existing_only else "}"
    prefix = keys.make("external_id", "")

    def encode(cells: Sequence[str]) -> tuple[str, bytes] | None:
        external_id = cells[at]
        if not short_external_id(external_id):
            return None
        try:
            body = ('{"external_id":' + encode_basestring(external_id) + rest(cells) + tail).encode("utf-8")
        except (Unsure, UnicodeEncodeError):
            return None
        return prefix + external_id, body

    return encode


def short_external_id(cell: str) -> bool:
    """An external_id the general path accepts as it is, without measuring its UTF-8 bytes."""
    return bool(cell) and len(cell) <= SHORT_EXTERNAL_ID and cell.isascii()
