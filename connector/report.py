"""The ledger: every row's outcome, the rejected-rows file, the counts and the --report JSON."""

from __future__ import annotations

import datetime as _dt
import json
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from connector.model import Values

OUTCOMES = ("delivered", "skipped", "rejected", "failed")


def _jsonable(value: Any) -> Any:
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class Counts:
    rows_read: int
    rows_delivered: int
    rows_skipped: int
    rows_rejected: int
    rows_failed: int
    requests: int
    retries: int
    requests_unknown_fate: int


class Ledger:
    """Counts each row once into delivered / skipped / rejected / failed; thread-safe.

    Rows not delivered go to the rejected-rows file (JSON Lines: row, outcome, reason, values),
    which is created only when there is something to write.
    """

    def __init__(self, reject_path: str | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._reject_path = reject_path
        self._reject_file: Any = None
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()
        self._n = dict.fromkeys(("read", *OUTCOMES, "requests", "retries", "unknown_fate"), 0)
        self._row_of_cells: Callable[[list[str]], Any] | None = None

    def read_cells_with(self, row_of: Callable[[list[str]], Any]) -> None:
        """How to turn a row's raw CSV cells, given as its values, into the row for the file."""
        self._row_of_cells = row_of

    # -- recording ------------------------------------------------------------------------
    def read(self) -> None:
        self._n["read"] += 1          # called from the reading thread only

    def delivered(self, count: int) -> None:
        with self._lock:
            self._n["delivered"] += count

    def not_delivered(self, outcome: str, rows: Iterable[tuple[int, str, Values]]) -> None:
        """Record rows as skipped, rejected or failed, each with its reason, in the file too."""
        assert outcome in OUTCOMES[1:]
        with self._lock:
            for row, reason, values in rows:
                if type(values) is list and self._row_of_cells is not None:
                    values = self._row_of_cells(values)
                self._n[outcome] += 1
                self._write({"row": row, "outcome": outcome, "reason": reason, "values": values})

    def request(self, unknown_fate: bool = False) -> None:
        with self._lock:
            self._n["requests"] += 1
            self._n["unknown_fate"] += unknown_fate

    def retry(self) -> None:
        with self._lock:
            self._n["retries"] += 1

    def _write(self, record: Mapping[str, Any]) -> None:
        if self._reject_path is None:
            return
        if self._reject_file is None:
            folder = os.path.dirname(self._reject_path)
            if folder:
                os.makedirs(folder, exist_ok=True)
            self._reject_file = open(self._reject_path, "w", encoding="utf-8")
        self._reject_file.write(json.dumps(record, default=_jsonable) + "\n")

    # -- reading --------------------------------------------------------------------------
    def counts(self) -> Counts:
        with self._lock:
            n = dict(self._n)
        return Counts(n["read"], n["delivered"], n["skipped"], n["rejected"], n["failed"],
                      n["requests"], n["retries"], n["unknown_fate"])

    @property
    def reject_file(self) -> str | None:
        return self._reject_path if self._reject_file is not None else None

    def elapsed(self) -> float:
        return self._clock() - self._started

    def close(self) -> None:
        with self._lock:
            if self._reject_file is not None:
                self._reject_file.close()


def status_of(counts: Counts, aborted: bool) -> str:
    if aborted or counts.rows_failed:
        return "failed"
    if counts.rows_delivered == counts.rows_read:
        return "success"
    return "partial"


def build_report(ledger: Ledger, aborted: bool, error: str | None, extra: Mapping[str, Any]) -> dict[str, Any]:
    counts = ledger.counts()
    report: dict[str, Any] = {"status": status_of(counts, aborted)}
    report.update({k: v for k, v in counts.__dict__.items()})
    report["reject_file"] = ledger.reject_file
    report["elapsed_seconds"] = round(ledger.elapsed(), 3)
    if error:
        report["error"] = error
    report.update(extra)
    return report


def write_report(path: str, report: Mapping[str, Any]) -> None:
    """Write atomically, so a scheduler never reads half a report."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
