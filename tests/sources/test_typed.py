"""connector/sources/typed.py: database and Parquet values -> the values writers take, or why not."""

from __future__ import annotations

import ipaddress
import json
import math
import uuid
from collections import OrderedDict
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import Enum

import pytest

from connector.errors import InvalidRow
from connector.sources.typed import MAX_DEPTH, ValueProblem, plain, plain_mapping, plain_row
from connector.writers.values import scalar

TOKYO = timezone(timedelta(hours=9))


class Colour(str, Enum):
    RED = "red"


@pytest.mark.parametrize("value, expected", [
    (None, None), ("text", "text"), ("", ""), (True, True), (False, False), (0, 0), (2**63 - 1, 2**63 - 1),
    (1.5, 1.5), (-0.0, -0.0),
    (Decimal("12"), 12), (Decimal("12.000"), 12), (Decimal("-3.00"), -3), (Decimal("1E+3"), 1000),
    (Decimal("12345678901234567890"), 12345678901234567890), (Decimal("1.5E+3"), 1500),
    (Decimal("1.50"), 1.5), (Decimal("-0.125"), -0.125),
    (date(2024, 2, 29), date(2024, 2, 29)),
    (time(13, 5, 9), "13:05:09"), (time(13, 5, 9, 120, tzinfo=TOKYO), "13:05:09.000120+09:00"),
    (uuid.UUID("12345678-1234-5678-1234-567812345678"), "12345678-1234-5678-1234-567812345678"),
    (ipaddress.ip_address("10.0.0.1"), "10.0.0.1"), (ipaddress.ip_network("10.0.0.0/8"), "10.0.0.0/8"),
    (Colour.RED, "red"),
])
def test_scalars(value, expected) -> None:
    result = plain(value)
    assert result == expected and type(result) is type(expected)


def test_integers_stay_integers_and_fractions_become_numbers() -> None:
    assert type(plain(Decimal("7.0"))) is int and type(plain(Decimal("7.1"))) is float
    assert type(plain(7)) is int and type(plain(7.0)) is float   # a float stays a number, as JSON 7.0


def test_timestamps_are_utc_and_naive_ones_are_taken_as_utc() -> None:
    aware = plain(datetime(2024, 1, 2, 9, 30, tzinfo=TOKYO))
    assert aware == datetime(2024, 1, 2, 0, 30, tzinfo=timezone.utc) and aware.tzinfo is timezone.utc
    naive = plain(datetime(2024, 1, 2, 9, 30, 15, 250))
    assert naive == datetime(2024, 1, 2, 9, 30, 15, 250, tzinfo=timezone.utc)
    assert scalar("t", naive) == "2024-01-02T09:30:15.000250Z"   # what the writers then send


@pytest.mark.parametrize("value, words", [
    (float("nan"), "is NaN"), (float("inf"), "is infinite"), (float("-inf"), "is infinite"),
    (Decimal("NaN"), "NaN or infinite decimal"), (Decimal("Infinity"), "NaN or infinite decimal"),
    (b"\x00\x01", "binary data (2 bytes)"), (bytearray(b"abc"), "binary data (3 bytes)"),
    (memoryview(b"abcd"), "binary data (4 bytes)"),
    (timedelta(days=1), "is an interval"),
    (object(), "has a type braze-export cannot send (object)"),
    (complex(1, 2), "(complex)"),
])
def test_values_that_cannot_be_sent(value, words) -> None:
    with pytest.raises(ValueProblem) as caught:
        plain(value)
    assert words in str(caught.value)


def test_structures_are_converted_all_the_way_down() -> None:
    value = {"a": [Decimal("1"), Decimal("2.5"), None, {"when": datetime(2024, 5, 1, 12, tzinfo=TOKYO)}],
             "b": ("x", True), 3: "int key", True: "bool key", Decimal("1.5"): "decimal key"}
    assert plain(value) == {"a": [1, 2.5, None, {"when": datetime(2024, 5, 1, 3, tzinfo=timezone.utc)}],
                            "b": ["x", True], "3": "int key", "true": "bool key", "1.5": "decimal key"}
    assert plain(OrderedDict(k=1)) == {"k": 1} and plain({1, 1}) == [1]
    assert json.dumps(plain({"n": [Decimal("0.1")]})) == '{"n": [0.1]}'


@pytest.mark.parametrize("value, words", [
    ({"deep": [1, float("nan")]}, "is NaN"),
    ([b"bytes inside"], "binary data"),
    ({None: 1}, "a key of type NoneType"),
    ({(1, 2): 1}, "a key of type tuple"),
])
def test_a_bad_value_inside_a_structure(value, words) -> None:
    with pytest.raises(ValueProblem) as caught:
        plain(value)
    assert words in str(caught.value)


def test_nesting_is_bounded() -> None:
    ok: list = []
    for _ in range(MAX_DEPTH - 1):
        ok = [ok]
    assert plain(ok) is not None
    with pytest.raises(ValueProblem, match="nested deeper"):
        plain([[ok]])


def test_plain_row_names_the_first_bad_column_and_keeps_the_rest_for_the_reject_file() -> None:
    names = ["external_id", "score", "photo", "ratio"]
    assert plain_row(names, ("u1", Decimal("3"), None, 0.5)) == {"external_id": "u1", "score": 3, "photo": None,
                                                                  "ratio": 0.5}
    verdict = plain_row(names, ("u2", Decimal("2.5"), b"\xff", float("nan")))
    assert isinstance(verdict, InvalidRow) and verdict.column == "photo" and "binary data" in verdict.reason
    assert verdict.values == {"external_id": "u2", "score": 2.5, "photo": None, "ratio": None}
    json.dumps(verdict.values, allow_nan=False)   # what the rejected-rows file gets is valid JSON


def test_plain_mapping_converts_in_place_or_says_why_not() -> None:
    row = {"id": Decimal("5"), "tags": ["a"], "at": datetime(2024, 1, 1)}
    assert plain_mapping(row) is row and row == {"id": 5, "tags": ["a"], "at": datetime(2024, 1, 1, tzinfo=timezone.utc)}
    verdict = plain_mapping({"id": 1, "x": float("inf")})
    assert isinstance(verdict, InvalidRow) and verdict.column == "x" and verdict.values == {"id": 1, "x": None}


def test_every_value_plain_returns_is_one_the_writers_take() -> None:
    samples = [None, "s", 1, True, 1.5, Decimal("2"), Decimal("2.5"), datetime(2024, 1, 1), date(2024, 1, 1),
               time(1, 2), uuid.uuid4(), [Decimal("1")], {"k": Decimal("1.5")}]
    for value in samples:
        converted = plain(value)
        if converted is not None:
            scalar("c", converted)   # raises InvalidRow for a value the writers refuse
        assert not (isinstance(converted, float) and math.isnan(converted))
