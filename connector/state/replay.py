"""An sql input's rows, checked against what the run before read, block by block (docs/resume.md, "SQL").

A file is known by the hash of its content before a row is read; a query's result is only known
as it streams, and may change between two runs. So its rows are read in blocks (`BLOCK` rows, or
fewer when the next row is `BLOCK_S` late), and each block's *chained* hash (of the hash before
it and of every row in it, as the source gave it) is recorded in the state file **before** the
block's rows go on to be sent: every row a run may have delivered lies within a recorded block,
and a block's hash stands for every row up to its end.

A run of the same query (same config, engine, host, database and text) on a state that knows an
earlier run holds each block until it can compare it with the earlier run's block ending at the
same row:

- the same hash: these are the rows the earlier run read; what it delivered is not sent again;
- another hash, or the result ending short, after an **unfinished** run: the result changed under
  a job that was half done, so the run stops before the block is sent (exit 2 when that is the
  first block, nothing having been sent; else 1). `--restart` sends the new result as a new job;
- another hash after a **finished** run: a new result (tomorrow's data); from the block's first
  row on the earlier record is forgotten and this run's is kept. The rows before it, identical to
  the last run's at the same places, are not sent again.

Rows past the earlier run's last block are new: they are read, recorded and sent as usual.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any, Callable, Iterator

from connector.errors import JobError
from connector.state.store import StateStore

log = logging.getLogger("braze_export")

BLOCK = 1000        # rows per block: what is held in memory before it may be sent
BLOCK_S = 1.0       # a block is closed early when its next row is this late (a slow query)


class ResultChanged(JobError):
    """The query's result is not the one the unfinished run it resumes was reading."""

    def __init__(self, message: str, nothing_sent: bool) -> None:
        super().__init__(message)
        self.exit_code = 2 if nothing_sent else 1


def _chain(previous: bytes, rows: list[tuple[int, Any]]) -> bytes:
    digest = hashlib.blake2b(previous, digest_size=16)
    for _, values in rows:      # repr: the source's own values and types, in column order
        digest.update(repr(values).encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.digest()


class CheckedRows:
    """The source's rows, each block recorded (and compared with the earlier run's) before it is
    handed on. Has the source's `columns` and `progress`; closing stays the source's."""

    def __init__(self, rows: Any, store: StateStore, finished_before: bool,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._rows = rows
        self._store = store
        self._finished_before = finished_before
        self._clock = clock
        self.columns = getattr(rows, "columns", None)
        with store.reading() as db:
            self._earlier = db.execute("SELECT hi, chain FROM blocks WHERE job=? ORDER BY hi",
                                       (store.job,)).fetchall()

    def progress(self) -> float | None:
        progress: Callable[[], float | None] | None = getattr(self._rows, "progress", None)
        return progress() if progress is not None else None

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        earlier = iter(self._earlier)
        expected = next(earlier, None)      # the earlier run's next block: (its last row, its hash)
        held: list[tuple[int, Any]] = []
        chain, started, last = b"", 0.0, 0
        for n, values in self._rows:
            if not held:
                started = self._clock()
            held.append((n, values))
            last = n
            if expected is not None:
                if n < expected[0]:
                    continue
            elif len(held) < BLOCK and self._clock() - started < BLOCK_S:
                continue
            chain = _chain(chain, held)
            if expected is not None and chain == expected[1]:
                expected = next(earlier, None)      # the earlier run's rows: recorded already
            else:
                if expected is not None:
                    self._changed(held[0][0])
                    expected, earlier = None, iter(())
                self._record(n, chain)
            yield from held
            held = []
        if expected is not None:    # the result ended inside, or before, what the earlier run read
            self._changed(held[0][0] if held else last + 1)
        if held:
            self._record(last, _chain(chain, held))
            yield from held

    def _changed(self, first: int) -> None:
        if not self._finished_before:
            raise ResultChanged(
                f"the query's result is not the one the unfinished run of this job was reading: it differs "
                f"from row {first} on (a query without an ORDER BY on a unique key may return its rows in "
                f"another order); run it with --restart to send this result as a new job", nothing_sent=first == 1)
        log.info("state: the query's result differs from the last run's from row %d on: a new result; the rows "
                 "before it were the last run's and what it delivered of them is not sent again", first)
        self._store.forget_from(first)

    def _record(self, last: int, chain: bytes) -> None:
        with self._store.transaction() as db:
            db.execute("INSERT OR REPLACE INTO blocks VALUES(?,?,?)", (self._store.job, last, chain))
