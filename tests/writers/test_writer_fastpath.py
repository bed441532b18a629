"""The fast path (writers/fastpath.py) against the general path, row by row, on generated CSV rows.

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
from connector.modes import make_writer
from connector.writers import WriterOptions

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
NAME = ["", "purchase", "x" * 256, "é", "\udcff", " "]
TIME = ["", "2026-11-01T10:00:00Z", "2026-11-01T10:00:00.5+02:00", "2026-11-01", "1790000000", "1e20",
        "2026-13-01T00:00:00Z", "soon", " 2026-11-01T10:00:00Z"]
CURRENCY = ["", "USD", "eur", "US", "€€€", "USDX"]
PRICE = ["", "9.99", "0", "-1", "1e400", "nan", "1_0", "abc", "12"]
QUANTITY = ["", "1", "100", "101", "0", "2.0", " 3 ", "x"]
FIXED = {"name": NAME, "time": TIME, "product_id": NAME, "currency": CURRENCY, "price": PRICE,
         "quantity": QUANTITY}

POOLS = {"string": TEXT, "long": LONG, "double": DOUBLE, "boolean": BOOLEAN, "timestamp": TIMESTAMP,
         "json": JSONISH}
ORDINARY = {"string": "Ann", "long": "42", "double": "2.5", "boolean": "true", "timestamp": "",
            "json": "", "external_id": "u1", "email": "a@example.com", "gender": "F", "name": "purchase",
            "time": "2026-11-01T10:00:00Z", "product_id": "sku-1", "currency": "USD", "price": "9.99",
            "quantity": "2"}


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
    if column in FIXED and kind == "string":
        return rng.choice(FIXED[column])
    return rng.choice(POOLS[kind])


HEADERS = [
    # (record type, header with declared types; "string" columns are not declared)
    ("user_profile_attributes", {"external_id": "string", "email": "string", "first_name": "string",
                                 "points": "long", "vip": "boolean", "score": "double", "country": "string"}),
    ("user_profile_attributes", {"first_name": "string", "external_id": "string", "gender": "string",
                                 "seen": "timestamp", "extra": "json", "phone": "long", "points": "long"}),
    ("custom_events", {"time": "string", "external_id": "string", "name": "string", "sku": "string",
                       "qty": "long", "amount": "double", "gift": "boolean", "email": "string"}),
    ("custom_events", {"external_id": "string", "name": "string", "time": "timestamp", "extra": "json",
                       "phone": "long", "note": "string"}),
    ("purchases", {"external_id": "string", "product_id": "string", "currency": "string", "price": "string",
                   "quantity": "string", "time": "string", "size": "string", "vip": "boolean"}),
    ("purchases", {"external_id": "string", "product_id": "string", "currency": "string", "price": "double",
                   "quantity": "long", "time": "string"}),
]
ARRAYS = {"user_profile_attributes": "attributes", "custom_events": "events", "purchases": "purchases"}


@pytest.mark.parametrize("null_values", ["skip", "unset"])
@pytest.mark.parametrize("update_existing_only", [False, True])
@pytest.mark.parametrize("layout", range(len(HEADERS)))
def test_fast_path_agrees_with_the_general_path(tmp_path, layout, null_values, update_existing_only):
    record_type, typed = HEADERS[layout]
    header = list(typed)
    columns = {c: k for c, k in typed.items() if k != "string"}
    rng = random.Random(f"{layout}-{null_values}-{update_existing_only}")
    ordinary = [[ORDINARY.get(c, ORDINARY[typed[c]]) for c in header] for _ in range(5)]
    rows = ordinary + [[cell_for(c, typed[c], rng) for c in header] for _ in range(3000)]
    writer = make_writer("user_track", record_type,
                         WriterOptions(null_values=null_values, update_existing_only=update_existing_only))
    with source_of(tmp_path, header, rows, columns) as source:
        writer.check_columns(source.columns)
        plan = writer.compile_cells(source.columns, source.declared())
        assert plan is not None and plan.array == ARRAYS[record_type]
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


@pytest.mark.parametrize("record_type, header, options, declared", [
    ("user_profile_attributes", ["braze_id", "first_name"], {}, {}),
    ("user_profile_attributes", ["external_id", "alias_name", "alias_label"], {}, {}),
    ("user_profile_attributes", ["external_id", "_merge_objects"], {}, {}),
    ("user_profile_attributes", ["external_id", "subscription_groups"], {}, {}),
    ("user_profile_attributes", ["external_id", "prefs"], {"pre_formatted_fields": frozenset({"prefs"})}, {}),
    ("user_profile_attributes", ["email", "first_name"], {}, {}),
    ("user_profile_attributes", ["note", "external_id"], {}, {1: ("long", int)}),   # "007" goes as "7"
    ("custom_events", ["external_id", "name", "time", "properties"], {}, {}),
    ("custom_events", ["external_id", "name", "time", "app_id"], {}, {}),
    ("custom_events", ["external_id", "name", "time", "_update_existing_only"], {}, {}),
    ("custom_events", ["braze_id", "name", "time"], {}, {}),
    ("custom_events", ["external_id", "name", "time", "p"], {"pre_formatted_fields": frozenset({"p"})}, {}),
    ("custom_events", ["external_id", "name", "time", *[f"p{i}" for i in range(40)]], {}, {}),  # size unsure
    ("purchases", ["alias_name", "alias_label", "product_id", "currency", "price", "time"], {}, {}),
])
def test_no_fast_path_for_headers_it_does_not_cover(record_type, header, options, declared):
    writer = make_writer("user_track", record_type, WriterOptions(**options))
    writer.check_columns(header)
    assert writer.compile_cells(header, declared) is None


def test_the_memo_of_converted_cells_is_bounded():
    from connector.writers.fastpath import MEMO_CELL, MEMO_SIZE, MEMO_TOTAL, encode_fields, field_parts
    from connector.writers.structures import attribute_value

    [field] = field_parts(["a"], {}, [("a", attribute_value)], lambda convert, kind: True)
    for n in range(MEMO_SIZE * 3):
        assert encode_fields([f"v{n}"], [field], False) == f',"a":"v{n}"'
    assert len(field.memo) == MEMO_SIZE
    long_cell = "x" * (MEMO_CELL + 1)
    wide = field_parts([f"c{i}" for i in range(1000)], {}, [(f"c{i}", attribute_value) for i in range(1000)],
                       lambda convert, kind: True)
    assert wide[0].room == MEMO_TOTAL // 1000
    encode_fields([long_cell] * 1000, wide, False)
    assert all(not f.memo for f in wide)
