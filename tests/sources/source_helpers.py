"""Helpers for the source tests (imported by name; pytest puts this folder on sys.path)."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

from connector.config import InputSettings
from connector.sources import open_source


def spec(fmt: str, path: str | Path | None, *, columns: dict[str, str] | None = None, query: str | None = None,
         delimiter: str | None = None, encoding: str = "utf-8") -> InputSettings:
    if delimiter is None and fmt in ("csv", "tsv"):
        delimiter = "\t" if fmt == "tsv" else ","
    return InputSettings(format=fmt, path=None if path is None else str(path), query=query, delimiter=delimiter,
                         encoding=encoding, columns=MappingProxyType(columns or {}))


def read_all(settings: InputSettings, **kwargs: Any) -> tuple[list[str] | None, list[tuple[int, Any]]]:
    with open_source(settings, **kwargs) as source:
        return source.columns, list(source)


def write_bytes(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path
