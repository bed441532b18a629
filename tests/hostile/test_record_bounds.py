"""The readers' bounds on one record (connector/sources/bounds.py), over real files: a record over
max_record_bytes or nested too deep is an invalid row and the reader goes on at the next record;
where no next record can be found, an InputError."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connector.config import InputSettings
from connector.errors import InputError, InvalidRow
from connector.sources import open_source
from connector.sources.bounds import MAX_DEPTH, RESYNC_CHARS, too_deep
from connector.sources.convert import CellError, to_json

LIMIT = 1024


def _rows(path: Path | str, fmt: str, limit: int = LIMIT, **extra: Any) -> list[tuple[int, Any]]:
    spec = InputSettings(format=fmt, path=str(path), query=None, delimiter={"csv": ",", "tsv": "\t"}.get(fmt),
                         encoding="utf-8", columns=extra.pop("columns", {}), max_record_bytes=limit)
    with open_source(spec) as source:
        return [(n, row.reason if isinstance(row, InvalidRow) else row) for n, row in source]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


TOO_LARGE = f"the record is larger than max_record_bytes ({LIMIT} bytes)"
TOO_DEEP = f"a value is nested deeper than {MAX_DEPTH} levels of arrays and objects"


# -- csv / tsv ---------------------------------------------------------------------------------
def test_a_csv_record_of_exactly_the_bound_passes_and_one_byte_more_is_an_invalid_row(tmp_path):
    line = "u1," + "x" * (LIMIT - 4) + "\n"            # LIMIT bytes with its line break
    assert len(line.encode()) == LIMIT
    path = _write(tmp_path, "u.csv", "external_id,a\n" + line + "u2," + "y" * (LIMIT - 3) + "\nu3,z\n")
    rows = _rows(path, "csv")
    assert rows[0] == (1, {"external_id": "u1", "a": "x" * (LIMIT - 4)})
    assert rows[1:] == [(2, TOO_LARGE), (3, {"external_id": "u3", "a": "z"})]


def test_the_bound_counts_utf8_bytes_not_characters(tmp_path):
    cell = "é" * (LIMIT // 2 - 1)       # two bytes each: 1026 bytes with "u1," and the line break, 515 characters
    path = _write(tmp_path, "u.csv", f"external_id,a\nu1,{cell}\nu2,ok\n")
    assert _rows(path, "csv") == [(1, TOO_LARGE), (2, {"external_id": "u2", "a": "ok"})]


def test_an_oversized_quoted_record_over_many_lines_is_skipped_to_its_end(tmp_path):
    cell = '"' + 'a line, with ""quotes""\n' * 200 + '"'
    path = _write(tmp_path, "u.csv", f'external_id,a\nu1,{cell}\nu2,"two\nlines"\nu3,c\n')
    assert _rows(path, "csv") == [(1, TOO_LARGE), (2, {"external_id": "u2", "a": "two\nlines"}),
                                  (3, {"external_id": "u3", "a": "c"})]


def test_a_tsv_line_over_the_bound_is_skipped_to_its_line_break(tmp_path):
    path = _write(tmp_path, "u.tsv", "external_id\ta\nu1\t" + '"' * 3000 + "\nu2\tb\n")
    assert _rows(path, "tsv") == [(1, TOO_LARGE), (2, {"external_id": "u2", "a": "b"})]


def test_a_header_over_the_bound_is_an_input_error(tmp_path):
    path = _write(tmp_path, "u.csv", ",".join(f"column_{i}" for i in range(200)) + "\nu1\n")
    with pytest.raises(InputError, match=r"the header line is larger than max_record_bytes \(1024 bytes\)"):
        _rows(path, "csv")


def test_dev_zero_as_csv_is_an_input_error_read_within_the_bound():
    with pytest.raises(InputError, match="the header line is larger than max_record_bytes"):
        _rows("/dev/zero", "csv")


def test_a_json_cell_nested_too_deep_is_an_invalid_row(tmp_path):
    deep, fine = "[" * 5000 + "]" * 5000, "[" * MAX_DEPTH + "]" * MAX_DEPTH
    path = _write(tmp_path, "u.csv", f"external_id,a\nu1,{deep}\nu2,{fine}\n")
    rows = _rows(path, "csv", limit=1 << 20, columns={"a": "json"})
    assert rows[0] == (1, f"is JSON nested deeper than {MAX_DEPTH} levels")
    assert rows[1][0] == 2 and isinstance(rows[1][1], dict)


# -- jsonl -------------------------------------------------------------------------------------
def test_a_jsonl_line_over_the_bound_is_an_invalid_row_and_the_next_line_is_read(tmp_path):
    big = json.dumps({"external_id": "u1", "a": "x" * 5 * LIMIT})
    path = _write(tmp_path, "u.jsonl", '{"external_id": "u0"}\n' + big + '\n\n{"external_id": "u2"}\n')
    assert _rows(path, "jsonl") == [(1, {"external_id": "u0"}), (2, TOO_LARGE), (3, {"external_id": "u2"})]


def test_a_50_mb_jsonl_line_is_skipped_at_the_default_bound(tmp_path):
    path = tmp_path / "big.jsonl"
    with open(path, "w") as f:
        f.write('{"external_id": "u1", "a": "' + "x" * 50_000_000 + '"}\n{"external_id": "u2"}\n')
    rows = _rows(path, "jsonl", limit=4 * 1024 * 1024)
    assert rows == [(1, "the record is larger than max_record_bytes (4194304 bytes)"), (2, {"external_id": "u2"})]


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 900, 5000])
def test_a_jsonl_value_nested_too_deep_is_an_invalid_row(tmp_path, depth):
    deep = '{"external_id": "u1", "a": ' + "[" * depth + "]" * depth + "}"
    fine = '{"external_id": "u2", "a": ' + '[{"b": ' * (MAX_DEPTH // 2) + "1" + "}]" * (MAX_DEPTH // 2) + "}"
    rows = _rows(_write(tmp_path, "u.jsonl", f"{deep}\n{fine}\n"), "jsonl", limit=1 << 20)
    assert rows[0] == (1, TOO_DEEP) and rows[1][0] == 2 and isinstance(rows[1][1], dict)


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path):
    text = json.dumps({"external_id": "u1", "a": "[" * 500 + '"\\' + "{" * 500})
    assert not too_deep(text)
    assert _rows(_write(tmp_path, "u.jsonl", text + "\n"), "jsonl", limit=1 << 20) == [(1, json.loads(text))]


def test_dev_zero_as_jsonl_is_an_invalid_row_then_an_input_error_when_skipping_on():
    spec = InputSettings(format="jsonl", path="/dev/zero", query=None, delimiter=None, encoding="utf-8",
                         columns={}, max_record_bytes=LIMIT)
    with open_source(spec) as source:
        rows = iter(source)
        number, row = next(rows)
        assert number == 1 and isinstance(row, InvalidRow) and row.reason == TOO_LARGE
        with pytest.raises(InputError, match=f"row 1: the record has no end within {RESYNC_CHARS >> 30} GB"):
            next(rows)


# -- json array --------------------------------------------------------------------------------
def test_json_array_elements_over_a_bound_are_invalid_rows_and_the_array_goes_on(tmp_path):
    big = {"external_id": "u1", "a": 'x"]},{[\\' * LIMIT}          # brackets and quotes inside a string
    deep = {"external_id": "u3", "a": 0}
    text = json.dumps([{"external_id": "u0"}, big, {"external_id": "u2"}, deep, 7, {"external_id": "u4"}])
    text = text.replace('"a": 0', '"a": ' + "[" * 5000 + "]" * 5000)
    rows = _rows(_write(tmp_path, "u.json", text), "json", limit=4 * LIMIT)
    assert rows == [(1, {"external_id": "u0"}), (2, f"the record is larger than max_record_bytes ({4 * LIMIT} bytes)"),
                    (3, {"external_id": "u2"}), (4, TOO_DEEP), (5, "not a JSON object: found a number"),
                    (6, {"external_id": "u4"})]


def test_a_json_array_element_nested_beyond_the_bound_but_within_the_stack_is_refused(tmp_path):
    text = '[{"external_id": "u1", "a": ' + "[" * 200 + "]" * 200 + '}, {"external_id": "u2"}]'
    assert _rows(_write(tmp_path, "u.json", text), "json") == [(1, TOO_DEEP), (2, {"external_id": "u2"})]


def test_a_broken_json_array_is_still_an_input_error(tmp_path):
    path = _write(tmp_path, "u.json", '[{"external_id": "u1"}, {"external_id": u2}, {"external_id": "u3"}]')
    with pytest.raises(InputError, match="the JSON array is broken at row 2"):
        _rows(path, "json")


def test_a_json_array_of_an_endless_string_is_an_input_error_not_a_memory_error(tmp_path):
    path = tmp_path / "u.json"
    with open(path, "w") as f:
        f.write('[{"external_id": "u1", "a": "' + "x" * 3_000_000)          # never closed
    with pytest.raises(InputError, match="the JSON array is truncated at row 1"):
        _rows(path, "json", limit=LIMIT)


# -- convert -----------------------------------------------------------------------------------
def test_to_json_refuses_deep_text_before_parsing_it():
    with pytest.raises(CellError, match="nested deeper than 64 levels"):
        to_json("[" * 100_000)
    assert to_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
