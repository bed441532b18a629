"""Typed conversion of CSV/TSV cells for columns declared in `input.columns`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from connector.sources.bounds import MAX_DEPTH, too_deep

Converter = Callable[[str], Any]

_LONG = re.compile(r"\s*[+-]?\d+\s*")
_DOUBLE = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


class CellError(ValueError):
    """A cell that does not parse as its declared type; the message is the reason."""


def shown(text: str, limit: int = 40) -> str:
    """A cell value quoted for a message, cut to about `limit` characters."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def to_long(text: str) -> int:
    """A strict integer: digits with an optional sign, within 64 bits."""
    if len(text) < 19 and text.isdigit() and text.isascii():   # the common case, surely in range
        return int(text)
    if not _LONG.fullmatch(text):
        raise CellError(f"{shown(text)} is not a long")
    value = int(text)
    if not _LONG_MIN <= value <= _LONG_MAX:
        raise CellError(f"{shown(text)} is out of range for a long")
    return value


def to_double(text: str) -> float:
    """A finite decimal number (no NaN, no Infinity)."""
    if not _DOUBLE.fullmatch(text):
        raise CellError(f"{shown(text)} is not a double")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise CellError(f"{shown(text)} is out of range for a double")
    return value


def to_boolean(text: str) -> bool:
    """true/false, 1/0 or yes/no, in any case."""
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise CellError(f"{shown(text)} is not a boolean (true/false, 1/0, yes/no)")


def to_timestamp(text: str) -> datetime:
    """ISO 8601 (no zone = UTC) or epoch seconds, as an aware UTC datetime."""
    stripped = text.strip()
    try:
        if _DOUBLE.fullmatch(stripped):
            return datetime.fromtimestamp(float(stripped), tz=timezone.utc)
        value = datetime.fromisoformat(stripped)
    except (ValueError, OverflowError, OSError):
        raise CellError(f"{shown(text)} is not a timestamp (ISO 8601 or epoch seconds)") from None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def to_json(text: str) -> Any:
    """Parsed JSON text, nested at most MAX_DEPTH levels."""
    if too_deep(text):
        raise CellError(f"is JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text)
    except ValueError:
        raise CellError(f"{shown(text)} is not valid JSON") from None
    except RecursionError:
        raise CellError(f"is JSON nested deeper than {MAX_DEPTH} levels") from None


CONVERTERS: dict[str, Converter | None] = {
    "string": None,
    "long": to_long,
    "double": to_double,
    "boolean": to_boolean,
    "timestamp": to_timestamp,
    "json": to_json,
}
