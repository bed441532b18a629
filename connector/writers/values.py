"""Checks and conversions of single values that every writer shares (text, numbers, JSON)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from connector.errors import InvalidRow
from connector.writers.times import format_datetime

MAX_TEXT = 255
MAX_EXTERNAL_ID_BYTES = 987
# A request body is at most 4 MB; an object must fit in one with room for `{"attributes":[...]}`.
MAX_OBJECT_BYTES = 4_000_000 - 64
# Bytes one scalar (text <= 255 characters, escaped) can take as JSON, at most.
SCALAR_BOUND = MAX_TEXT * 6 + 2

NOT_UTF8 = "not valid UTF-8 (if the input is in another encoding, say which in input.encoding, e.g. latin-1)"
NOT_FINITE = "NaN or Infinity is not allowed"
_MIN_INT = -(2**63)
_MAX_INT = 2**64 - 1
_BOOLS = {"true": True, "false": False, "1": True, "0": False}


def check_text(column: str | None, v: str) -> str:
    """Text Braze accepts: valid UTF-8 and at most 255 characters."""
    if not v.isascii():
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRow(column, NOT_UTF8) from None
    if len(v) > MAX_TEXT:
        raise InvalidRow(column, f"text longer than {MAX_TEXT} characters ({len(v)})")
    return v


def check_float(column: str | None, v: float) -> float:
    """A float that JSON can carry (not NaN, not Infinity)."""
    if v - v != 0.0:
        raise InvalidRow(column, NOT_FINITE)
    return v


def scalar(column: str | None, v: Any) -> Any:
    """A value sent as it is: text, number, boolean, time (as ISO 8601), or a list/dict (unchecked)."""
    t = type(v)
    if t is str:
        return check_text(column, v)
    if t is int:
        if _MIN_INT <= v <= _MAX_INT:
            return v
        raise InvalidRow(column, "integer out of range (64 bits)")
    if t is bool or t is list or t is dict:
        return v
    if t is float:
        return check_float(column, v)
    if t is datetime:
        return format_datetime(v)
    return _other_scalar(column, v)


def _other_scalar(column: str | None, v: Any) -> Any:
    """The slow path of scalar(): subclasses of the usual types, dates, and unsupported types."""
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, str):
        return check_text(column, str(v))
    if isinstance(v, int):
        return scalar(column, int(v))
    if isinstance(v, float):
        return check_float(column, float(v))
    if isinstance(v, datetime):
        return format_datetime(v)
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return list(v)
    if isinstance(v, dict):
        return dict(v)
    raise InvalidRow(column, f"unsupported value of type {type(v).__name__}")


def text_value(column: str, v: Any) -> str:
    """A value that must be text (an integer is taken as its digits)."""
    if type(v) is str:
        return check_text(column, v)
    if type(v) is int:
        return str(v)
    if isinstance(v, str):
        return check_text(column, str(v))
    raise InvalidRow(column, "must be text")


def identifier(column: str, v: Any) -> str | None:
    """An identifier's text, or None when empty; an integer is sent as its string."""
    if type(v) is str:
        if not v:
            return None
    elif type(v) is int or isinstance(v, str):
        v = str(v)
    else:
        raise InvalidRow(column, "an identifier must be text or an integer")
    if column == "external_id":
        if len(v) > MAX_EXTERNAL_ID_BYTES // 4 or not v.isascii():
            try:
                size = len(v.encode("utf-8"))
            except UnicodeEncodeError:
                raise InvalidRow(column, NOT_UTF8) from None
            if size > MAX_EXTERNAL_ID_BYTES:
                raise InvalidRow(column, f"longer than {MAX_EXTERNAL_ID_BYTES} bytes ({size})")
        return v
    return check_text(column, v)


def to_bool(column: str, v: Any) -> bool:
    """true/false from a boolean, 1/0, or the text true/false/1/0 (any case)."""
    if v is True or v is False:
        return v
    if type(v) is int and (v == 0 or v == 1):
        return v == 1
    if isinstance(v, str):
        found = _BOOLS.get(v.strip().lower())
        if found is not None:
            return found
    raise InvalidRow(column, "must be a boolean: true, false, 1 or 0")


def parse_json(column: str, text: str) -> Any:
    """The structure a JSON text holds."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidRow(column, f"not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    except RecursionError:
        raise InvalidRow(column, "not valid JSON (nested too deeply)") from None


def json_size(column: str | None, v: Any) -> int:
    """Bytes of v as compact UTF-8 JSON; refuses NaN/Infinity and text that is not UTF-8."""
    try:
        text = json.dumps(v, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidRow(column, NOT_UTF8) from None
    except ValueError:
        raise InvalidRow(column, NOT_FINITE) from None
    except TypeError as e:
        raise InvalidRow(column, f"cannot be sent as JSON ({e})") from None
    except RecursionError:
        raise InvalidRow(column, "nested too deeply") from None


def check_object_size(size: int) -> None:
    """Refuse an object that could not fit in one 4 MB request."""
    if size > MAX_OBJECT_BYTES:
        raise InvalidRow(None, f"the object is {size} bytes as JSON; a Braze request holds at most 4 MB")
