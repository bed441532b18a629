"""Opening inputs: missing paths, directories, no path at all, the example data files."""

from __future__ import annotations

from pathlib import Path

import pytest
from source_helpers import spec

from connector.config import load_config
from connector.errors import InputError, InvalidRow
from connector.sources import open_source

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "json"])
def test_missing_path(tmp_path: Path, fmt: str) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(InputError) as info:
        open_source(spec(fmt, missing))
    assert str(info.value) == f"input file not found: {missing}"


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "json"])
def test_directory(tmp_path: Path, fmt: str) -> None:
    with pytest.raises(InputError) as info:
        open_source(spec(fmt, tmp_path))
    assert str(info.value) == f"the input path is a directory, not a file: {tmp_path}"


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json", "sqlite"])
def test_no_path(fmt: str) -> None:
    with pytest.raises(InputError, match="no input given: set input.path in the config or pass --input"):
        open_source(spec(fmt, None, query="SELECT 1"))


@pytest.mark.parametrize("config", sorted((ROOT / "examples").glob("*.yml")), ids=lambda p: p.name)
def test_example_data_files_read_cleanly(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    settings = load_config(config, environ={"BRAZE_API_KEY": "k"})
    with open_source(settings.input) as source:
        rows = list(source)
    assert rows and all(not isinstance(row, InvalidRow) for _, row in rows)
    assert [number for number, _ in rows] == list(range(1, len(rows) + 1))
