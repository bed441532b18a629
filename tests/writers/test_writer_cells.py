"""The fast path (writers/cells.py) against the general path, row by row, on generated CSV rows.

For every row the fast path takes, its bytes, key and array must be exactly what the general
path (source row dict -> writer.build -> the batch encoder) makes of the same row; a row the
general path refuses must never be taken. Ordinary rows must be taken, or the fast path is dead.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from types import MappingProxyType

import pytest

from connector.config import InputSettings
from connector.errors import InvalidRow
from connector.sources import open_source
from connector.writers import WriterOptions, make_writer

ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode

TEXT = ["", "Ann", "José", "日本語", "a\"b\\c", "tab\there", "new\nline", "\x01ctl", "\udcff", "x" * 255,
        "x" * 256, "é" * 255, "é" * 256, " ", "null", "true", "12"]
LONG = ["", "0", "7", "007", "-5", "+3", " 5 ", "1_000", "9223372036854775807", "9223372036854775808",
        "99999999999999999999", "١٢", "1.5", "abc", "-0"]
DOUBLE = ["", "1.5", "-0.0", ".5", "5.", "1e16", "1e400", "nan", "inf", "2", " 3.25 ", "1e-7", "x"]
BOOLEAN = ["", "true", "false", "TRUE", " yes ", "No", "0", "1", "2", "t"]
TIMESTAMP = ["", "2024-05-01T10:00:00Z", "1714557600", "2024-05-01", "yesterday"]
JSONISH = ["", "5", "\"s\"", "[1,2]", "{\"a\":1}", "1e400", "true", "null", "{", "18446744073709551616"]
EXTERNAL_ID = ["", "u1", "user-00000001", "x" * 246, "x" * 247, "y" * 988, "用户", "\udcff", " ", "u 2"]
EMAIL = ["", "a@example.com", "ü@example.com", "x" * 256, "\udcff"]
GENDER = ["", "m", "F", "x"]

POOLS = {"string": TEXT, "long": LONG, "double": DOUBLE, "boolean": BOOLEAN, "timestamp": TIMESTAMP,
         "json": JSONISH}
ORDINARY = {"string": "Ann", "long": "42", "double": "2.5", "boolean": "true", "timestamp": "",
            "json": "", "external_id": "u1", "email": "a@example.com", "gender": "F"}


def source_of(tmp_path: Path, header: list[str], rows: list[list[str]], columns: dict[str, str]):
    path = tmp_path / "rows.csv"
    with open(path, "w", newline="", encoding="utf-8", errors="surrogateescape") as f:
        csv.writer(f).writerows([header, *rows])
    spec = InputSettings(format="csv", path=str(path), query=None, delimiter=",", encoding="utf-8",
                         columns=MappingProxyType(columns))
    return open_source(spec)


def general(source, writer, cells):
    """(array, body bytes, key) the general path makes of the cells, or None if it refuses them."""
    values = source.row_of(cells)
    if isinstance(values, InvalidRow):
        return None
    try:
        item = writer.build(values)
    except InvalidRow:
        return None
    return item.array, ENCODE(item.body).encode("utf-8"), item.key


def cell_for(column: str, kind: str, rng: random.Random) -> str:
    if column == "external_id":
        return rng.choice(EXTERNAL_ID)
    if column in ("email", "phone"):
        return rng.choice(EMAIL)
    if column == "gender":
        return rng.choice(GENDER)
    return rng.choice(POOLS[kind])


HEADERS = [
    # (header with declared types; "string" columns are not declared)
    {"external_id": "string", "email": "string", "first_name": "string", "points": "long",
     "vip": "boolean", "score": "double", "country": "string"},
    {"first_name": "string", "external_id": "string", "gender": "string", "seen": "timestamp",
     "extra": "json", "phone": "long", "points": "long"},
]


@pytest.mark.parametrize("null_values", ["skip", "unset"])
@pytest.mark.parametrize("update_existing_only", [False, True])
@pytest.mark.parametrize("layout", range(len(HEADERS)))
def test_fast_path_agrees_with_the_general_path(tmp_path, layout, null_values, update_existing_only):
    typed = HEADERS[layout]
    header = list(typed)
    columns = {c: k for c, k in typed.items() if k != "string"}
    rng = random.Random(f"{layout}-{null_values}-{update_existing_only}")
    ordinary = [[ORDINARY.get(c, ORDINARY[typed[c]]) for c in header] for _ in range(5)]
    rows = ordinary + [[cell_for(c, typed[c], rng) for c in header] for _ in range(3000)]
    writer = make_writer("user_track", "user_profile_attributes",
                         WriterOptions(null_values=null_values, update_existing_only=update_existing_only))
    with source_of(tmp_path, header, rows, columns) as source:
        writer.check_columns(source.columns)
        plan = writer.compile_cells(source.columns, source.declared())
        assert plan is not None and plan.array == "attributes"
        taken = 0
        for n, cells in source.cells():
            fast = plan.encode(cells)
            expected = general(source, writer, cells)
            if n <= len(ordinary):
                assert fast is not None, f"row {n}: an ordinary row left the fast path"
            if fast is None:
                continue
            taken += 1
            assert expected is not None, f"row {n}: the fast path took a row the general path refuses: {cells!r}"
            key, body = fast
            assert (plan.array, body, key) == expected, f"row {n}: {cells!r}"
    assert taken > len(ordinary)


@pytest.mark.parametrize("header, options, declared", [
    (["braze_id", "first_name"], {}, {}),
    (["external_id", "alias_name", "alias_label"], {}, {}),
    (["external_id", "_merge_objects"], {}, {}),
    (["external_id", "subscription_groups"], {}, {}),
    (["external_id", "prefs"], {"pre_formatted_fields": frozenset({"prefs"})}, {}),
    (["email", "first_name"], {}, {}),
    (["note", "external_id"], {}, {1: ("long", int)}),   # "007" is sent as "7": the general path
])
def test_no_fast_path_for_headers_it_does_not_cover(header, options, declared):
    writer = make_writer("user_track", "user_profile_attributes", WriterOptions(**options))
    writer.check_columns(header)
    assert writer.compile_cells(header, declared) is None
