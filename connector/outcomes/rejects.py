"""The rejected-rows file: every row not delivered, one JSON object a line; and merging workers' parts."""

from __future__ import annotations

import datetime as _dt
import heapq
import json
import os
import threading
from typing import Any, Iterator, Mapping

from connector.errors import OutputError
from connector.outcomes import Settlement


def _jsonable(value: Any) -> Any:
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    return str(value)


class RejectFile:
    """Writes `{row, outcome, reason, values}` per row not delivered; created only when needed.
    A write that fails (a full disk) raises OutputError once; the file is then left as it is."""

    def __init__(self, path: str | None, shown: str | None = None) -> None:
        self._path = path
        self._shown = shown or path
        self._file: Any = None
        self._broken = False
        self._lock = threading.Lock()

    @property
    def path(self) -> str | None:
        """The file's path, once something was written to it; else None."""
        return self._path if self._file is not None else None

    def settled(self, settlement: Settlement) -> None:
        if not settlement.refused or self._path is None or self._broken:
            return
        with self._lock:
            try:
                for r in settlement.refused:
                    if settlement.removal is not None:      # not an input row (docs/mirror.md)
                        self._write({"row": None, "removal": settlement.removal, "outcome": r.outcome,
                                     "reason": r.reason, "values": r.entry.values()})
                        continue
                    self._write({"row": r.entry.row, "outcome": r.outcome, "reason": r.reason,
                                 "values": r.entry.values()})
            except OSError as exc:
                self._broken = True
                raise OutputError(f"cannot write the rejected-rows file {self._shown}: {exc.strerror}") from None

    def _write(self, record: Mapping[str, Any]) -> None:
        if self._file is None:
            assert self._path is not None
            folder = os.path.dirname(self._path)
            if folder:
                os.makedirs(folder, exist_ok=True)
            self._file = open(self._path, "w", encoding="utf-8")
        self._file.write(json.dumps(record, default=_jsonable) + "\n")

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                try:
                    self._file.close()
                except OSError as exc:
                    if not self._broken:
                        self._broken = True
                        raise OutputError(f"cannot write the rejected-rows file {self._shown}: "
                                          f"{exc.strerror}") from None


def reject_parts(reject_file: str, workers: int) -> list[str]:
    """The rejected-rows file of each worker, merged into `reject_file` at the end."""
    return [f"{reject_file}.worker{k}" for k in range(workers)]


def _row_of(line: str) -> int:
    prefix = '{"row": '
    if line.startswith(prefix):
        end = line.find(",", len(prefix))
        if end > 0 and line[len(prefix):end].isdigit():
            return int(line[len(prefix):end])
    return int(json.loads(line)["row"])


def _sorted_lines(path: str) -> Iterator[tuple[int, str]]:
    with open(path, encoding="utf-8") as f:
        lines = [(_row_of(line), line) for line in f if line.strip()]
    lines.sort(key=lambda pair: pair[0])
    return iter(lines)


def merge_rejects(parts: list[str], target: str) -> str | None:
    """Merge the workers' rejected-rows parts into `target`, sorted by row; remove the parts.

    Returns `target`, or None when no part was written (then `target` is not touched)."""
    written = [p for p in parts if os.path.exists(p)]
    if not written:
        return None
    runs = [_sorted_lines(p) for p in written]
    with open(target, "w", encoding="utf-8") as out:
        for _, line in heapq.merge(*runs, key=lambda pair: pair[0]):
            out.write(line if line.endswith("\n") else line + "\n")
    for p in written:
        os.remove(p)
    return target
