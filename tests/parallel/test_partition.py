"""The partition filter: every row to exactly one worker, one user to one worker, global row numbers."""

from __future__ import annotations

import collections
import zlib
from pathlib import Path
from types import MappingProxyType

import pytest

from connector.config import InputSettings
from connector.errors import InputError, InvalidRow
from connector.sources import Partition, open_source
from connector.keys import TRACK_KEYS, row_key
from connector.keys import cells_key as _cells_key


def cells_key(header):
    return _cells_key(header, TRACK_KEYS)


def mapping_key(row):
    return row_key(row, TRACK_KEYS)

CSV = (
    "external_id,braze_id,alias_label,alias_name,email,phone,n\n"
    "u1,,,,,,1\n"
    ",b7,,,,,2\n"
    ",,lbl,nm,,,3\n"
    ",,,,a@x.io,,4\n"
    ",,,,,+15550001,5\n"
    ",,,,,,6\n"                      # no identifier: goes by row number
    "u1,,,,,,7\n"
    "ragged,row\n"                   # invalid: goes by row number
    "\n"                             # blank: not a row
    + "".join(f"u{i % 13},,,,,,{i}\n" for i in range(10, 400))
)


def _spec(path: Path, fmt: str) -> InputSettings:
    return InputSettings(format=fmt, path=str(path), query=None, delimiter="," if fmt == "csv" else None,
                         encoding="utf-8", columns=MappingProxyType({}))


def _rows(spec: InputSettings, partition: Partition | None) -> list[tuple[int, object]]:
    with open_source(spec, partition=partition) as source:
        return list(source)


@pytest.mark.parametrize("count", [2, 3, 5])
def test_every_csv_row_goes_to_exactly_one_worker_under_its_global_number(tmp_path: Path, count: int) -> None:
    path = tmp_path / "u.csv"
    path.write_text(CSV)
    spec = _spec(path, "csv")
    whole = _rows(spec, None)
    shares = [_rows(spec, Partition(k, count)) for k in range(count)]
    numbers = [n for share in shares for n, _ in share]
    assert sorted(numbers) == [n for n, _ in whole] == list(range(1, 399))   # disjoint and complete
    by_number = dict(whole)
    for share in shares:
        assert [n for n, _ in share] == sorted(n for n, _ in share)          # input order kept
        for n, values in share:
            if isinstance(values, InvalidRow):
                assert str(values) == str(by_number[n])
            else:
                assert values == by_number[n]


def test_one_user_goes_to_one_worker(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_text(CSV)
    spec = _spec(path, "csv")
    owner: dict[str, set[int]] = collections.defaultdict(set)
    for k in range(2):
        for _, values in _rows(spec, Partition(k, 2)):
            if isinstance(values, dict) and values["external_id"]:
                owner[values["external_id"]].add(k)
    assert len(owner) == 13 and all(len(workers) == 1 for workers in owner.values())
    assert {k for workers in owner.values() for k in workers} == {0, 1}      # both workers get users
    expected = zlib.crc32(b"external_id:u1") % 2
    assert owner["u1"] == {expected}


def test_rows_without_a_key_and_invalid_rows_go_by_row_number(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_text(CSV)
    spec = _spec(path, "csv")
    share = dict(_rows(spec, Partition(6 % 4, 4)))
    assert share[6]["n"] == "6" and share[6]["external_id"] is None
    share = dict(_rows(spec, Partition(8 % 4, 4)))
    assert isinstance(share[8], InvalidRow) and "fields" in str(share[8])


def test_key_is_the_first_identifier_found() -> None:
    key = cells_key(["phone", "email", "alias_name", "alias_label", "braze_id", "external_id", "external_id"])
    assert key(["p", "e", "n", "l", "b", "first", "x"]) == "external_id:x"   # the last duplicate, as in the dict
    assert key(["p", "e", "n", "l", "b", "", ""]) == "braze_id:b"
    assert key(["p", "e", "n", "l", "", "", ""]) == "alias:l\x00n"
    assert key(["p", "e", "", "", "", "", ""]) == "email:e"
    assert key(["p", "", "", "", "", "", ""]) == "phone:p"
    assert key(["", "", "", "", "", "", ""]) is None
    assert cells_key(["name", "time"])(["x", "y"]) is None
    assert mapping_key({"external_id": 7, "email": "e"}) == "external_id:7"
    assert mapping_key({"external_id": None, "email": "e"}) == "email:e"
    assert mapping_key({"alias_label": "l", "alias_name": "n"}) == "alias:l\x00n"
    assert mapping_key({"name": "x"}) is None


@pytest.mark.parametrize("header", [
    ["phone", "email", "alias_name", "alias_label", "braze_id", "external_id", "external_id"],
    ["alias_name", "alias_label", "email"],
    ["name", "time"],
    ["email", "external_id"],
    ["alias_label", "email"],       # half an alias pair: not a key, so email is
])
def test_owns_cells_answers_as_owns_of_the_cells_key(header: list[str]) -> None:
    key = cells_key(header)
    values = ["", "u1", "é", "\udcff", "b7"]
    rows = [[values[(i * 7 + j * 3 + i // 5) % len(values)] for j in range(len(header))] for i in range(200)]
    for count in (2, 3):
        for index in range(count):
            part = Partition(index, count)
            owns = part.owns_cells(header)
            for number, cells in enumerate(rows, 1):
                assert owns(number, cells) == part.owns(number, key(cells)), (number, cells)
            assert owns(4, ["too", "many", "cells", "here", "x", "y", "z", "w"]) == part.owns(4, None)


def test_owns_is_a_stable_crc32() -> None:
    assert Partition(zlib.crc32(b"email:a@x.io") % 3, 3).owns(1, "email:a@x.io")
    assert not Partition((zlib.crc32(b"email:a@x.io") + 1) % 3, 3).owns(1, "email:a@x.io")
    assert Partition(2, 3).owns(5, None) and not Partition(2, 3).owns(6, None)
    with pytest.raises(ValueError):
        Partition(2, 2)


def test_jsonl_rows_are_partitioned_the_same_way(tmp_path: Path) -> None:
    lines = ['{"external_id": "u%d", "n": %d}' % (i % 7, i) for i in range(1, 200)]
    lines[9] = "{not json"
    lines[19] = "[1, 2]"
    lines[29] = '{"n": 30}'
    path = tmp_path / "u.jsonl"
    path.write_text("\n".join(lines[:50]) + "\n\n" + "\n".join(lines[50:]) + "\n")
    spec = _spec(path, "jsonl")
    whole = _rows(spec, None)
    shares = [_rows(spec, Partition(k, 2)) for k in range(2)]
    assert sorted(n for share in shares for n, _ in share) == list(range(1, 200))
    for k, share in enumerate(shares):
        for n, values in share:
            if isinstance(values, dict) and "external_id" in values:
                assert zlib.crc32(f"external_id:{values['external_id']}".encode()) % 2 == k
                assert values["n"] == n
            else:
                assert n in (10, 20, 30) and n % 2 == k
    assert len(whole) == 199


def test_formats_that_cannot_be_split_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "u.json"
    path.write_text('[{"external_id": "u1"}]')
    with pytest.raises(InputError, match="json input cannot be split"):
        open_source(_spec(path, "json"), partition=Partition(0, 2))
