"""Time normalisation and the shared value conversions, tested directly."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from connector.errors import InvalidRow
from connector.writers.times import BAD_TIME, to_time
from connector.writers.values import identifier, parse_json, scalar, to_bool

JST = timezone(timedelta(hours=9))


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        (datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05Z"),
        (datetime(2024, 1, 2, 3, 4, 5, 120000), "2024-01-02T03:04:05.120000Z"),
        (datetime(2024, 1, 2, 9, 0, tzinfo=JST), "2024-01-02T00:00:00Z"),
        (datetime(2024, 1, 2, tzinfo=timezone.utc), "2024-01-02T00:00:00Z"),
        (date(2024, 1, 2), "2024-01-02T00:00:00Z"),
        ("2024-01-02T03:04:05", "2024-01-02T03:04:05Z"),
        ("2024-01-02 03:04:05", "2024-01-02T03:04:05Z"),
        ("2024-01-02T03:04:05.5", "2024-01-02T03:04:05.500000Z"),
        ("2024-01-02 03:04:05.123456789", "2024-01-02T03:04:05.123456Z"),
        ("2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z"),
        ("2024-01-02T12:04:05+09:00", "2024-01-02T03:04:05Z"),
        ("2024-01-01T23:00:00-05:00", "2024-01-02T04:00:00Z"),
        ("2024-01-02T03:04:05.000+0000", "2024-01-02T03:04:05Z"),
        ("2024-01-02 03:04:05.123 UTC", "2024-01-02T03:04:05.123000Z"),
        ("2024-01-02", "2024-01-02T00:00:00Z"),
        (" 2024-01-02T03:04:05Z ", "2024-01-02T03:04:05Z"),
        (1704164645, "2024-01-02T03:04:05Z"),
        (0, "1970-01-01T00:00:00Z"),
        (-86400, "1969-12-31T00:00:00Z"),
        (1704164645.25, "2024-01-02T03:04:05.250000Z"),
        ("1704164645", "2024-01-02T03:04:05Z"),
        ("1704164645.5", "2024-01-02T03:04:05.500000Z"),
    ],
)
def test_times_normalise_to_iso_8601_utc(value, sent):
    assert to_time("time", value) == sent


@pytest.mark.parametrize(
    "value",
    ["yesterday", "", "2024-01-02x03:04:05", "2024-13-01", "2024-1-2", "02/01/2024", True, [2024], {"t": 1}, "1e9",
     # the canonical form's fast path still checks digits and ranges
     "2024-13-02T03:04:05Z", "2024-02-30T03:04:05Z", "2024-01-02T24:04:05Z", "2024-01-02T03:04:6xZ",
     "2024-01-02T03:04:05+1Z", "２０２４-01-02T03:04:05Z"],
)
def test_bad_times_are_invalid(value):
    with pytest.raises(InvalidRow) as caught:
        to_time("time", value)
    assert (caught.value.column, caught.value.reason) == ("time", BAD_TIME)


def test_bad_time_reason_text():
    assert BAD_TIME == (
        "not a time: expected ISO 8601 (2024-01-31T12:00:00Z, 2024-01-31 12:00:00, 2024-01-31) or Unix epoch seconds"
    )


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (float("nan"), "NaN or Infinity is not allowed"),
        (10**13, "epoch seconds out of range (milliseconds, perhaps?)"),
        ("99999999999999", "epoch seconds out of range (milliseconds, perhaps?)"),
        (datetime(1, 1, 1, 0, 0, tzinfo=JST), "time out of range"),
    ],
)
def test_time_out_of_range(value, reason):
    with pytest.raises(InvalidRow) as caught:
        to_time("time", value)
    assert (caught.value.column, caught.value.reason) == ("time", reason)


@pytest.mark.parametrize(
    ("value", "result"),
    [(True, True), (False, False), (1, True), (0, False), ("true", True), ("FALSE", False), ("1", True), (" 0 ", False)],
)
def test_to_bool(value, result):
    assert to_bool("c", value) is result


@pytest.mark.parametrize("value", ["yes", "", 2, 1.0, None, "t"])
def test_to_bool_refuses_other_values(value):
    with pytest.raises(InvalidRow, match="must be a boolean: true, false, 1 or 0"):
        to_bool("c", value)


def test_identifier_rules():
    assert identifier("braze_id", "") is None
    assert identifier("external_id", 5) == "5"
    with pytest.raises(InvalidRow, match="an identifier must be text or an integer"):
        identifier("braze_id", False)


def test_scalar_passes_plain_values_and_checks_the_rest():
    assert [scalar("c", v) for v in ("a", 1, 1.5, True, [1], {"a": 1})] == ["a", 1, 1.5, True, [1], {"a": 1}]
    assert scalar("c", date(2024, 1, 2)) == "2024-01-02"
    assert scalar("c", (1, 2)) == [1, 2]


def test_parse_json_messages():
    assert parse_json("c", '{"a": [1]}') == {"a": [1]}
    with pytest.raises(InvalidRow) as caught:
        parse_json("c", "{'a': 1}")
    assert str(caught.value) == "column c: not valid JSON (Expecting property name enclosed in double quotes at line 1 column 2)"
    with pytest.raises(InvalidRow) as caught:
        parse_json("c", "[" * 100000)
    assert caught.value.reason == "not valid JSON (nested too deeply)"
