"""The parquet input: files written by pyarrow here, nested columns, folders of parts, bad files."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from source_helpers import read_all, spec

from connector.errors import InputError, InvalidRow
from connector.sources import describe_input, open_source


def parquet(path: Path, fetch_size: int = 10000):
    from dataclasses import replace

    return replace(spec("parquet", path), fetch_size=fetch_size)


@pytest.fixture()
def typed_file(tmp_path: Path) -> Path:
    table = pa.table({
        "external_id": pa.array(["u1", "u2", "u3"]),
        "points": pa.array([10, None, 2**62], pa.int64()),
        "small": pa.array([1, 2, 3], pa.int8()),
        "ratio": pa.array([0.5, None, float("nan")], pa.float64()),
        "price": pa.array([Decimal("9.90"), Decimal("10.00"), None], pa.decimal128(6, 2)),
        "vip": pa.array([True, False, None]),
        "seen_ns": pa.array([1_700_000_000_123_456_789, None, 0], pa.timestamp("ns")),
        "seen_tz": pa.array([1_700_000_000_000_000, None, 0], pa.timestamp("us", tz="Asia/Tokyo")),
        "born": pa.array([date(1990, 5, 17), None, date(2000, 1, 1)], pa.date32()),
        "tags": pa.array([["a", "b"], [], None], pa.list_(pa.string())),
        "address": pa.array([{"city": "Tokyo", "zip": 100, "geo": {"lat": 35.6}}, None,
                             {"city": None, "zip": None, "geo": None}]),
        "prefs": pa.array([[("email", True), ("sms", False)], None, []], pa.map_(pa.string(), pa.bool_())),
        "events": pa.array([[{"at": 1_700_000_000_000_000_001, "n": 1}], None, []],
                           pa.list_(pa.struct([("at", pa.timestamp("ns", tz="UTC")), ("n", pa.int32())]))),
        "country": pa.array(["JP", "US", "JP"]).dictionary_encode(),
    })
    path = tmp_path / "users.parquet"
    pq.write_table(table, path, row_group_size=2)
    return path


def test_types_and_nested_columns_arrive_as_structures(typed_file: Path) -> None:
    columns, got = read_all(parquet(typed_file, fetch_size=1))
    assert columns == ["external_id", "points", "small", "ratio", "price", "vip", "seen_ns", "seen_tz", "born",
                       "tags", "address", "prefs", "events", "country"]
    assert got[0] == (1, {
        "external_id": "u1", "points": 10, "small": 1, "ratio": 0.5, "price": 9.9, "vip": True,
        "seen_ns": datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=timezone.utc),
        "seen_tz": datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc),
        "born": date(1990, 5, 17), "tags": ["a", "b"],
        "address": {"city": "Tokyo", "zip": 100, "geo": {"lat": 35.6}},
        "prefs": {"email": True, "sms": False},
        "events": [{"at": datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc), "n": 1}],
        "country": "JP",
    })
    assert got[1] == (2, {"external_id": "u2", "points": None, "small": 2, "ratio": None, "price": 10, "vip": False,
                          "seen_ns": None, "seen_tz": None, "born": None, "tags": [], "address": None,
                          "prefs": None, "events": None, "country": "US"})
    number, verdict = got[2]
    assert number == 3 and isinstance(verdict, InvalidRow) and verdict.column == "ratio" and "NaN" in verdict.reason
    assert verdict.values["external_id"] == "u3" and verdict.values["points"] == 2**62


def test_binary_and_duration_columns_make_rows_invalid(tmp_path: Path) -> None:
    path = tmp_path / "odd.parquet"
    pq.write_table(pa.table({"id": [1, 2], "raw": pa.array([None, b"\x00\x01"], pa.binary()),
                             "took": pa.array([None, 5], pa.duration("ns"))}), path)
    got = read_all(parquet(path))[1]
    assert got[0] == (1, {"id": 1, "raw": None, "took": None})
    assert isinstance(got[1][1], InvalidRow) and got[1][1].column == "raw" and "binary data (2 bytes)" in got[1][1].reason


def test_a_folder_of_parts_is_read_in_path_order_with_hive_columns(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    for country, ids in (("US", [3, 4]), ("JP", [1, 2]), ("FR", [])):
        part = folder / f"country={country}"
        part.mkdir(parents=True)
        pq.write_table(pa.table({"id": pa.array(ids, pa.int64())}), part / "part-00000.snappy.parquet")
    pq.write_table(pa.table({"id": pa.array([5], pa.int64())}), folder / "country=US" / "part-00001.parquet")
    (folder / "_SUCCESS").write_text("")
    (folder / "country=US" / ".part-00000.snappy.parquet.crc").write_bytes(b"crc")
    (folder / "_temporary").mkdir()
    (folder / "_temporary" / "junk").write_text("not parquet")
    with open_source(parquet(folder, fetch_size=1)) as source:
        assert source.columns == ["id", "country"]
        assert source.progress() == 0.0
        got = list(source)
        assert source.progress() == 1.0
        assert source.describe() == {"format": "parquet", "path": str(folder), "files": 4, "rows": 5}
    assert got == [(1, {"id": 1, "country": "JP"}), (2, {"id": 2, "country": "JP"}),
                   (3, {"id": 3, "country": "US"}), (4, {"id": 4, "country": "US"}), (5, {"id": 5, "country": "US"})]
    assert describe_input(parquet(folder))["files"] == 4


def test_parts_with_different_columns_are_read_under_their_union(tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    pq.write_table(pa.table({"id": pa.array([1], pa.int32()), "a": ["x"]}), folder / "part-0.parquet")
    pq.write_table(pa.table({"id": pa.array([2], pa.int64()), "b": [True]}), folder / "part-1.parquet")
    columns, got = read_all(parquet(folder))
    assert columns == ["id", "a", "b"]
    assert got == [(1, {"id": 1, "a": "x", "b": None}), (2, {"id": 2, "a": None, "b": True})]


def test_parts_whose_columns_cannot_be_reconciled(tmp_path: Path) -> None:
    folder = tmp_path / "clash"
    folder.mkdir()
    pq.write_table(pa.table({"id": [1]}), folder / "a.parquet")
    pq.write_table(pa.table({"id": ["text"]}), folder / "b.parquet")
    with pytest.raises(InputError, match="do not share a schema"):
        open_source(parquet(folder))


def test_many_rows_stream_by_batch(tmp_path: Path) -> None:
    path = tmp_path / "many.parquet"
    pq.write_table(pa.table({"n": pa.array(range(50_000), pa.int64())}), path, row_group_size=7_000)
    with open_source(parquet(path, fetch_size=1_000)) as source:
        count = 0
        for number, row in source:
            count += 1
            assert row == {"n": number - 1}
            if number == 25_000:
                assert source.progress() == 0.5
    assert count == 50_000


@pytest.mark.parametrize("make, words", [
    (lambda tmp: tmp / "missing.parquet", "input file not found"),
    (lambda tmp: (tmp / "empty").mkdir() or tmp / "empty", "holds no Parquet parts"),
    (lambda tmp: (tmp / "text.parquet").write_text("not parquet at all") and tmp / "text.parquet", "not a Parquet file"),
])
def test_inputs_that_are_not_parquet(tmp_path: Path, make, words: str) -> None:
    with pytest.raises(InputError, match=words):
        open_source(parquet(make(tmp_path)))


def test_a_folder_with_a_stray_file_names_it(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    pq.write_table(pa.table({"id": [1]}), folder / "part-0.parquet")
    (folder / "README.txt").write_text("hello")
    with pytest.raises(InputError) as caught:
        open_source(parquet(folder))
    assert "README.txt" in str(caught.value)


def test_standard_input_is_refused() -> None:
    with pytest.raises(InputError, match="cannot be read from standard input"):
        open_source(spec("parquet", "-"))
