"""Times for Braze: datetimes, ISO 8601 text and Unix epoch seconds, sent as ISO 8601 in UTC."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from connector.errors import InvalidRow

BAD_TIME = (
    "not a time: expected ISO 8601 (2024-01-31T12:00:00Z, 2024-01-31 12:00:00, 2024-01-31) "
    "or Unix epoch seconds"
)
_EPOCH = datetime(1970, 1, 1)
_UTC_SUFFIXES = (" UTC", " utc", "UTC")


def format_datetime(dt: datetime) -> str:
    """YYYY-MM-DDTHH:MM:SS[.ffffff]Z in UTC; a naive datetime is taken as UTC."""
    if dt.tzinfo is not None:
        offset = dt.utcoffset()
        dt = dt.replace(tzinfo=None)
        if offset:
            try:
                dt = dt - offset
            except OverflowError:
                raise InvalidRow(None, "time out of range") from None
    return dt.isoformat() + "Z"


def to_time(column: str, v: Any) -> str:
    """The ISO 8601 UTC text of a time value, or InvalidRow."""
    t = type(v)
    if t is str:
        return _from_text(column, v)
    if t is datetime:
        return _formatted(column, v)
    if t is int or t is float:
        return _from_epoch(column, v)
    if isinstance(v, bool):
        raise InvalidRow(column, BAD_TIME)
    if isinstance(v, datetime):
        return _formatted(column, v)
    if isinstance(v, date):
        return v.isoformat() + "T00:00:00Z"
    if isinstance(v, (int, float)):
        return _from_epoch(column, v)
    raise InvalidRow(column, BAD_TIME)


def _formatted(column: str, dt: datetime) -> str:
    try:
        return format_datetime(dt)
    except InvalidRow:
        raise InvalidRow(column, "time out of range") from None


def _from_epoch(column: str, seconds: float) -> str:
    """Unix epoch seconds (an int or float) as ISO 8601 UTC."""
    if seconds - seconds != 0:
        raise InvalidRow(column, "NaN or Infinity is not allowed")
    try:
        return format_datetime(_EPOCH + timedelta(seconds=seconds))
    except OverflowError:
        raise InvalidRow(column, "epoch seconds out of range (milliseconds, perhaps?)") from None


def _canonical(text: str) -> bool:
    """Already YYYY-MM-DDTHH:MM:SSZ, the form sent (the common case: pass it through)."""
    return (len(text) == 20 and text[19] == "Z" and text[10] == "T" and text[4] == "-"
            and text[7] == "-" and text[13] == ":" and text[16] == ":" and text.isascii())


def _from_text(column: str, text: str) -> str:
    """ISO 8601 text (no zone = UTC, ' UTC' accepted) or digit text as epoch seconds."""
    if _canonical(text):
        try:
            datetime.fromisoformat(text[:19])     # checks the digits and the ranges
        except ValueError:
            raise InvalidRow(column, BAD_TIME) from None
        return text
    s = text.strip()
    if s.isascii() and s.isdigit():
        return _from_epoch(column, int(s))
    if s.endswith(_UTC_SUFFIXES):
        s = s[:-3].rstrip() + "+00:00"
    elif s.count(".") == 1 and s.isascii() and s.replace(".", "", 1).isdigit():
        return _from_epoch(column, float(s))
    # fromisoformat takes any character between date and time; ISO 8601 allows only T or a space.
    if len(s) < 10 or (len(s) > 10 and s[4] == "-" and s[10] not in "Tt "):
        raise InvalidRow(column, BAD_TIME)
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        raise InvalidRow(column, BAD_TIME) from None
    return _formatted(column, dt)


def to_date_text(v: datetime | date) -> str:
    """YYYY-MM-DD of a datetime (in UTC) or a date."""
    if isinstance(v, datetime):
        return format_datetime(v)[:10]
    return v.isoformat()

