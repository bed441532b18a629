"""CSV and TSV: header, empty cells, declared types, ragged rows, BOM, invalid bytes, quoting."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path

import pytest
from source_helpers import read_all, spec, write_bytes

from connector.errors import HeaderError, InvalidRow
from connector.sources import open_source


def test_rows_are_dicts_numbered_from_one_with_empty_cells_as_none(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a.csv", b"id,name,city\n1,Ann,\n2,,Oslo\n")
    columns, rows = read_all(spec("csv", path))
    assert columns == ["id", "name", "city"]
    assert rows == [(1, {"id": "1", "name": "Ann", "city": None}), (2, {"id": "2", "name": None, "city": "Oslo"})]


def test_declared_types_are_converted(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a.csv", (
        "n,x,b,t,j,s\n"
        '-42,1.5e3,TRUE,2024-05-01T09:15:00+02:00,"{""a"": [1, null]}",007\n'
        "+7,.5,no,1714557600,true,x\n"
        "0,3,Yes,2024-05-01,[],\n"
        ",,,,,\n"
    ).encode())
    types = {"n": "long", "x": "double", "b": "boolean", "t": "timestamp", "j": "json", "s": "string"}
    _, rows = read_all(spec("csv", path, columns=types))
    assert rows[0] == (1, {"n": -42, "x": 1500.0, "b": True, "t": datetime(2024, 5, 1, 7, 15, tzinfo=timezone.utc),
                           "j": {"a": [1, None]}, "s": "007"})
    assert rows[1] == (2, {"n": 7, "x": 0.5, "b": False, "t": datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc),
                           "j": True, "s": "x"})
    assert rows[2][1]["t"] == datetime(2024, 5, 1, tzinfo=timezone.utc) and rows[2][1]["b"] is True
    assert rows[3] == (4, {"n": None, "x": None, "b": None, "t": None, "j": None, "s": None})


@pytest.mark.parametrize("kind, cell, reason", [
    ("long", "1.0", "'1.0' is not a long"),
    ("long", "1_000", "'1_000' is not a long"),
    ("long", "9223372036854775808", "'9223372036854775808' is out of range for a long"),
    ("double", "nan", "'nan' is not a double"),
    ("double", "1e999", "'1e999' is out of range for a double"),
    ("boolean", "maybe", "'maybe' is not a boolean (true/false, 1/0, yes/no)"),
    ("timestamp", "yesterday", "'yesterday' is not a timestamp (ISO 8601 or epoch seconds)"),
    ("timestamp", "1714557600000", "'1714557600000' is not a timestamp (ISO 8601 or epoch seconds)"),
    ("json", "{oops", "'{oops' is not valid JSON"),
    ("long", "x" * 100, repr("x" * 37 + "...") + " is not a long"),
])
def test_a_cell_that_does_not_parse_is_an_invalid_row(tmp_path: Path, kind: str, cell: str, reason: str) -> None:
    path = write_bytes(tmp_path, "a.csv", f"id,v\n1,{cell}\n2,\n".encode())
    _, rows = read_all(spec("csv", path, columns={"v": kind}))
    assert rows[0][0] == 1 and isinstance(rows[0][1], InvalidRow)
    assert (rows[0][1].column, rows[0][1].reason) == ("v", reason)
    assert rows[1] == (2, {"id": "2", "v": None})


def test_ragged_rows_are_invalid_and_reading_goes_on(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a.csv", b"a,b,c\n1,2\n1,2,3,4\n1,2,3\n")
    _, rows = read_all(spec("csv", path))
    assert [(n, str(r)) for n, r in rows[:2]] == [(1, "row has 2 fields, the header has 3"),
                                                  (2, "row has 4 fields, the header has 3")]
    assert rows[2] == (3, {"a": "1", "b": "2", "c": "3"})


def test_bom_is_stripped_and_multiline_quoted_cells_work(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a.csv", b'\xef\xbb\xbfid,note\r\n1,"line one\r\nline, two ""quoted"""\r\n2,x\r\n')
    columns, rows = read_all(spec("csv", path))
    assert columns == ["id", "note"]
    assert rows == [(1, {"id": "1", "note": 'line one\r\nline, two "quoted"'}), (2, {"id": "2", "note": "x"})]


def test_invalid_utf8_reaches_the_row_as_surrogates(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a.csv", b"id,name\n1,caf\xe9\n2,ok\n")
    _, rows = read_all(spec("csv", path))
    assert rows[0] == (1, {"id": "1", "name": "caf\udce9"})
    assert rows[1] == (2, {"id": "2", "name": "ok"})


def test_other_encodings(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a.csv", "id,name\n1,café\n".encode("latin-1"))
    _, rows = read_all(spec("csv", path, encoding="latin-1"))
    assert rows == [(1, {"id": "1", "name": "café"})]


def test_empty_file_and_header_only_file(tmp_path: Path) -> None:
    assert read_all(spec("csv", write_bytes(tmp_path, "e.csv", b""))) == (None, [])
    assert read_all(spec("csv", write_bytes(tmp_path, "b.csv", b"\xef\xbb\xbf"))) == (None, [])
    assert read_all(spec("csv", write_bytes(tmp_path, "h.csv", b"id,name\n"))) == (["id", "name"], [])
    assert read_all(spec("csv", write_bytes(tmp_path, "h2.csv", b"id,name"))) == (["id", "name"], [])


def test_blank_lines_are_ignored_and_not_numbered(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a.csv", b"\nid\n1\n\n2\n")
    columns, rows = read_all(spec("csv", path))
    assert columns == ["id"] and rows == [(1, {"id": "1"}), (2, {"id": "2"})]


def test_duplicate_header_names_are_kept_in_columns(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a.csv", b"id,id,n\n1,2,3\n")
    columns, rows = read_all(spec("csv", path, columns={"id": "long"}))
    assert columns == ["id", "id", "n"] and rows == [(1, {"id": 2, "n": "3"})]


def test_a_declared_column_missing_from_the_header_is_a_header_error(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a.csv", b"id\n1\n")
    with pytest.raises(HeaderError, match="not in the input's header: score, vip"):
        open_source(spec("csv", path, columns={"score": "long", "vip": "boolean", "id": "string"}))


def test_broken_csv_quoting_is_an_invalid_row(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a.csv", b'id,v\n1,"a"b\n2,ok\n')
    _, rows = read_all(spec("csv", path))
    assert isinstance(rows[0][1], InvalidRow) and rows[0][1].reason.startswith("not valid CSV")
    assert rows[1] == (2, {"id": "2", "v": "ok"})


def test_tsv_has_no_quoting_and_custom_delimiters_work(tmp_path: Path) -> None:
    tsv = write_bytes(tmp_path, "a.tsv", b'id\tsize\n1\t5" screen\n')
    assert read_all(spec("tsv", tsv)) == (["id", "size"], [(1, {"id": "1", "size": '5" screen'})])
    semi = write_bytes(tmp_path, "a.csv", b'id;v\n1;"a;b"\n')
    assert read_all(spec("csv", semi, delimiter=";")) == (["id", "v"], [(1, {"id": "1", "v": "a;b"})])


def test_stdin(tmp_path: Path) -> None:
    stdin = io.BytesIO(b"id,n\n1,2\n")
    with open_source(spec("csv", "-", columns={"n": "long"}), stdin=stdin) as source:
        assert source.progress() is None
        assert list(source) == [(1, {"id": "1", "n": 2})]
    assert not stdin.closed  # stdin belongs to the caller


def test_progress_reaches_one(tmp_path: Path) -> None:
    body = b"id,text\n" + b"".join(b"%d,%s\n" % (i, b"x" * 100) for i in range(3000))
    with open_source(spec("csv", write_bytes(tmp_path, "a.csv", body))) as source:
        first = source.progress()
        assert first is not None and 0 < first < 0.5
        assert sum(1 for _ in source) == 3000
        assert source.progress() == 1.0
