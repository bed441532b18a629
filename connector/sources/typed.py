"""Values of typed sources (databases, Parquet; later Spark) turned into the values writers take.

Pure: it knows Python's types only, not SQLAlchemy's, a driver's or pyarrow's, so any source
that hands out Python values can use it. The rules (docs/sources.md):

    None                         -> None (null)
    str, bool, int               -> as they are
    float                        -> as it is; NaN or infinity makes the row invalid
    Decimal                      -> int when it has no fraction (1.00 -> 1), else float;
                                    NaN, infinity or out of a double's range: invalid
    datetime                     -> an aware datetime in UTC (naive ones are taken as UTC)
    date                         -> as it is (the writers send YYYY-MM-DD)
    time                         -> ISO 8601 text (HH:MM:SS[.ffffff][+HH:MM])
    UUID, IP addresses/networks  -> their text
    list, tuple, set             -> a list, each element converted
    Mapping (JSON, structs)      -> a dict with text keys, each value converted
    bytes, bytearray, memoryview -> invalid: binary data cannot be sent
    timedelta (intervals)        -> invalid: no unit would be right for every user
    anything else                -> invalid, naming the type
"""

from __future__ import annotations

import ipaddress
import math
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable

from connector.errors import InvalidRow
from connector.sources.bounds import MAX_DEPTH   # levels of nested lists and objects; deeper makes the row invalid
PASS = frozenset({str, int, bool, type(None)})  # sent as they are, without a call


class ValueProblem(ValueError):
    """A value that cannot be sent; the message is the reason, in words for a user."""


def _float(value: float) -> float:
    if math.isnan(value):
        raise ValueProblem("is NaN, which Braze cannot take (use NULL, or COALESCE it in the query)")
    if math.isinf(value):
        raise ValueProblem("is infinite, which Braze cannot take")
    return float(value)   # a float subclass (numpy's float64) as a plain float


def _decimal(value: Decimal) -> int | float:
    if not value.is_finite():
        raise ValueProblem("is a NaN or infinite decimal, which Braze cannot take")
    if value == value.to_integral_value():
        return int(value)
    number = float(value)
    if math.isinf(number):
        raise ValueProblem("is a decimal out of the range of a number Braze can take")
    return number


def _datetime(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueProblem("is a timestamp out of range once moved to UTC") from None


def _binary(value: Any) -> Any:
    raise ValueProblem(f"is binary data ({len(value)} bytes), which Braze cannot take; convert it to text "
                       "first (in SQL e.g. encode(col, 'base64') on PostgreSQL, or a CAST to a text type)")


def _interval(value: timedelta) -> Any:
    raise ValueProblem("is an interval (a duration); convert it to a number in the query, "
                       "e.g. EXTRACT(EPOCH FROM col) for seconds")


def _text(value: Any) -> str:
    return str(value)


_SCALARS: dict[type, Callable[[Any], Any]] = {
    float: _float,
    Decimal: _decimal,
    datetime: _datetime,
    date: lambda value: value,
    time: lambda value: value.isoformat(),
    bytes: _binary,
    bytearray: _binary,
    memoryview: lambda value: _binary(value.tobytes()),
    timedelta: _interval,
    uuid.UUID: _text,
    **{kind: _text for kind in (ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Network,
                                ipaddress.IPv6Network, ipaddress.IPv4Interface, ipaddress.IPv6Interface)},
}


def plain(value: Any, depth: int = 0) -> Any:
    """The value a writer takes for `value`; raises ValueProblem when there is none."""
    kind = type(value)
    if kind in PASS:
        return value
    convert = _SCALARS.get(kind)
    if convert is not None:
        return convert(value)
    if depth >= MAX_DEPTH:
        raise ValueProblem(f"is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, Mapping):
        return {_key(key): plain(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(item, depth + 1) for item in value]
    return _subclass(value)


def _key(key: Any) -> str:
    """A structure's key as JSON text: text as it is, numbers and booleans as their JSON text."""
    if type(key) is str:
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, (str, int, float, Decimal, date, uuid.UUID)):
        return str(plain(key))
    raise ValueProblem(f"is a structure with a key of type {type(key).__name__}, which JSON cannot hold")


def _subclass(value: Any) -> Any:
    """Subclasses of the types above (a str-based enum, a driver's own datetime); else unsupported."""
    if isinstance(value, str):
        return str.__str__(value)   # a str-based enum's value, not its name
    if isinstance(value, int):
        return int(value)
    for base, convert in _SCALARS.items():
        if isinstance(value, base):
            return convert(value)
    raise ValueProblem(f"has a type braze-export cannot send ({type(value).__name__}); "
                       "cast it to text or a number in the query")


def plain_row(names: Sequence[str], values: Sequence[Any]) -> dict[str, Any] | InvalidRow:
    """The row dict of one record (names and values in the same order), or the first problem."""
    try:
        return {name: value if type(value) in PASS else plain(value) for name, value in zip(names, values)}
    except ValueProblem:
        return _first_problem(zip(names, values))


def plain_mapping(row: dict[str, Any]) -> dict[str, Any] | InvalidRow:
    """`row` with every value converted in place (a record already keyed by column), or the problem."""
    try:
        for name, value in row.items():
            if type(value) not in PASS:
                row[name] = plain(value)
    except ValueProblem:
        return _first_problem(row.items())
    return row


def _first_problem(pairs: Any) -> InvalidRow:
    """The verdict on a row holding a value that cannot be sent: the first such column and why;
    its `values` (for the rejected-rows file) hold the row, with None for each such value."""
    values: dict[str, Any] = {}
    first: InvalidRow | None = None
    for name, value in pairs:
        try:
            values[name] = plain(value)
        except ValueProblem as problem:
            values[name] = None
            first = first or InvalidRow(name, str(problem))
    verdict = first or InvalidRow(None, "has a value that cannot be sent")
    setattr(verdict, "values", values)  # noqa: B010 - read with getattr by the job, for the rejected-rows file
    return verdict
