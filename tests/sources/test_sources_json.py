"""JSON Lines and JSON arrays: objects only, streaming, broken tails, stdin, invalid bytes."""

from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path

import pytest
from source_helpers import read_all, spec, write_bytes

from connector.errors import InputError, InvalidRow
from connector.sources import open_source


def test_jsonl_rows_keep_their_types(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a.jsonl", b'{"id": 1, "tags": ["a"], "x": null}\n\n  \n{"id": "2", "ok": true}\n')
    columns, rows = read_all(spec("jsonl", path))
    assert columns is None
    assert rows == [(1, {"id": 1, "tags": ["a"], "x": None}), (2, {"id": "2", "ok": True})]


def test_jsonl_lines_that_are_not_objects_are_invalid_rows(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a.jsonl", b'{"id": 1}\n[1, 2]\n{"id": \n"text"\n{"id": 5}\n')
    _, rows = read_all(spec("jsonl", path))
    assert rows[0] == (1, {"id": 1}) and rows[4] == (5, {"id": 5})
    reasons = [(n, r.column, r.reason) for n, r in rows[1:4]]
    assert reasons == [
        (2, None, "not a JSON object: found an array"),
        (3, None, "not a JSON object: invalid JSON at column 7 (Expecting value)"),
        (4, None, "not a JSON object: found a string"),
    ]


def test_jsonl_invalid_utf8_and_bom(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a.jsonl", b'\xef\xbb\xbf{"name": "caf\xe9"}\n')
    assert read_all(spec("jsonl", path)) == (None, [(1, {"name": "caf\udce9"})])


def test_jsonl_from_stdin() -> None:
    stdin = io.BytesIO(b'{"id": 1}\n{"id": 2}\n')
    assert read_all(spec("jsonl", "-"), stdin=stdin) == (None, [(1, {"id": 1}), (2, {"id": 2})])


def test_json_array_rows(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a.json", b'\xef\xbb\xbf [ {"id": 1, "p": {"a": [1]}} ,\n{"id": 2}, 3, null ]\n')
    columns, rows = read_all(spec("json", path))
    assert columns is None
    assert rows[:2] == [(1, {"id": 1, "p": {"a": [1]}}), (2, {"id": 2})]
    assert [(n, r.reason) for n, r in rows[2:]] == [(3, "not a JSON object: found a number"),
                                                    (4, "not a JSON object: found null")]


@pytest.mark.parametrize("body", [b"", b"  \n", b"[]", b" [ \n ] \n"])
def test_json_empty_inputs_have_no_rows(tmp_path: Path, body: bytes) -> None:
    assert read_all(spec("json", write_bytes(tmp_path, "a.json", body))) == (None, [])


def test_json_object_where_an_array_is_expected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="a JSON object where an array is expected"):
        open_source(spec("json", write_bytes(tmp_path, "a.json", b'{"id": 1}')))
    with pytest.raises(InputError, match="is not a JSON array"):
        open_source(spec("json", write_bytes(tmp_path, "b.json", b'"text"')))


@pytest.mark.parametrize("body, good, message", [
    (b'[{"id": 1}, {"id": 2}, {"id": 3, "x": tru', 2, "the JSON array is broken at row 3 (Expecting value)"),
    (b'[{"id": 1}, {"id": 2', 1, "the JSON array is broken at row 2"),
    (b'[{"id": 1}, {"id": 2},', 2, "the JSON array is truncated at row 3"),
    (b'[{"id": 1}, {"id": 2}', 2, "the JSON array is truncated after row 2"),
    (b'[{"id": 1} {"id": 2}]', 1, "the JSON array is broken after row 1 (expected ',' or ']')"),
    (b'[{"id": 1}] [', 1, "the input has content after the end of the JSON array"),
    (b'[{"id": 1}, ]', 1, "the JSON array is broken at row 2 (Expecting value)"),
])
def test_json_broken_tail_fails_after_the_good_rows(tmp_path: Path, body: bytes, good: int, message: str) -> None:
    seen = []
    with open_source(spec("json", write_bytes(tmp_path, "a.json", body))) as source:
        with pytest.raises(InputError) as info:
            for number, row in source:
                seen.append(number)
    assert seen == list(range(1, good + 1))
    assert str(info.value).startswith(message)


def test_json_values_split_across_read_chunks_parse_exactly(tmp_path: Path) -> None:
    rows = [{"id": i, "n": 10**(i % 15) + i, "f": i / 7, "s": "é" * (i % 50), "b": i % 3 == 0, "z": None}
            for i in range(8000)]
    rows.append({"big": "x" * 300_000})
    text = json.dumps(rows, separators=(",", ":"))
    _, got = read_all(spec("json", write_bytes(tmp_path, "a.json", text.encode())))
    assert [row for _, row in got] == rows


def test_json_array_streams(tmp_path: Path) -> None:
    row = json.dumps({"id": "u" * 20, "attrs": {"k": list(range(20))}})
    path = write_bytes(tmp_path, "big.json", ("[" + ",\n".join([row] * 40_000) + "]").encode())
    assert path.stat().st_size > 3_000_000
    with open_source(spec("json", path)) as source:
        iterator = iter(source)
        next(iterator)
        share = source.progress()
        assert share is not None and share < 0.05  # the first row came without reading the file
        tracemalloc.start()
        count = 1 + sum(1 for _ in iterator)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert count == 40_000
    assert peak < 1_000_000  # a few read chunks, not the 3 MB file


def test_json_from_stdin() -> None:
    stdin = io.BytesIO(b'[{"id": 1}]')
    assert read_all(spec("json", "-"), stdin=stdin) == (None, [(1, {"id": 1})])
    assert not stdin.closed


def test_json_invalid_utf8_reaches_the_row_as_surrogates(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a.json", b'[{"name": "\xff\xfe"}]')
    _, rows = read_all(spec("json", path))
    assert rows == [(1, {"name": "\udcff\udcfe"})]
    assert not isinstance(rows[0][1], InvalidRow)
