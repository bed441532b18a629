"""What the first rows of a CSV/TSV input suggest: columns that look typed but are sent as text.

A CSV cell is text unless `input.columns` declares its type, so `loyalty_points` would arrive in
Braze as "1250" and `is_vip` as "true". `check` and `preview` read the first rows and say which
undeclared columns hold only integers, numbers or booleans there.
"""

from __future__ import annotations

import itertools
import re
from typing import Collection

from connector.config import InputSettings
from connector.errors import InvalidRow
from connector.sources.delimited import DelimitedSource

SAMPLE_ROWS = 100
_LONG = re.compile(r"[+-]?(0|[1-9][0-9]{0,17})")        # no leading zeros: 007 and zip codes stay text
_DOUBLE = re.compile(r"[+-]?[0-9]+\.[0-9]+")
_BOOLS = frozenset({"true", "false"})


def _kind(values: list[str]) -> str | None:
    if not values:
        return None
    if all(v.lower() in _BOOLS for v in values):
        return "boolean"
    if all(_LONG.fullmatch(v) for v in values):
        return "long"
    if all(_LONG.fullmatch(v) or _DOUBLE.fullmatch(v) for v in values):
        return "double"
    return None


def typed_looking(spec: InputSettings, meant: Collection[str]) -> list[str]:
    """Notes on undeclared columns of a csv/tsv file whose first rows look typed; `meant`: columns the
    mode gives a meaning of its own (identifiers, times, prices), which are left out."""
    if spec.format not in ("csv", "tsv") or not spec.path or spec.path == "-":
        return []
    delimiter = spec.delimiter or ("\t" if spec.format == "tsv" else ",")
    with DelimitedSource(spec.path, delimiter=delimiter, quoting=spec.format == "csv", encoding=spec.encoding,
                         columns=spec.columns) as source:
        header = source.columns or []
        candidates = [c for c in header if c not in spec.columns and c not in meant]
        seen: dict[str, list[str]] = {c: [] for c in candidates}
        for _, row in itertools.islice(iter(source), SAMPLE_ROWS):
            if isinstance(row, InvalidRow):
                continue
            for column in candidates:
                value = row.get(column)
                if isinstance(value, str) and value:
                    seen[column].append(value.strip())
    notes = []
    for column, values in seen.items():
        kind = _kind(values)
        if kind is not None:
            notes.append(f"column {column} looks {kind} in the first rows but is sent as text; declare it in "
                         f"input.columns ({column}: {kind}) to send it as one")
    return notes
