"""The sync log: one row per input row per run, in the user's database, written off the hot path.

`SyncLog` is a sink of the Outcomes seam. `settled` only appends the settlement to a list under a
lock: no thread is woken per batch, so the reading and delivery threads keep the GIL. A writer
thread wakes every FLUSH_S seconds (or when FLUSH_ROWS rows wait), takes the whole list and
writes it in one statement (syncflush.py), one transaction a flush: a process killed with SIGKILL
leaves every row of every flush committed before it. When more than MAX_WAITING rows wait, the
producers wait for the writer (memory stays bounded), at most PUT_WAIT_S. A write that fails is
retried on a new connection; when it still fails, or the database takes nothing for PUT_WAIT_S,
the log gives up with one warning line and the run goes on without it (docs/sync-log.md).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Mapping

from connector.errors import JobError
from connector.keys import KeyColumns, row_key
from connector.outcomes import Settlement
from connector.outcomes.syncdb import SyncDatabase
from connector.outcomes.syncflush import Flush, write
from connector.rows import Entry

log = logging.getLogger("braze_export")

FLUSH_S = 0.2
FLUSH_ROWS = 10_000         # a flush is written when this many rows wait, or FLUSH_S after the last
MAX_WAITING = 30_000        # rows settled and not yet taken by the writer: bounds memory
PUT_WAIT_S = 60.0           # the run waits at most this long for a log that has fallen behind
RETRY_WAITS_S = (0.5, 2.0)  # before the 2nd and 3rd try of a flush
CLOSE_WAIT_S = 120.0


class SyncLog:
    """Writes every settled row of one run to the sync log's rows table (thread-safe `settled`)."""

    def __init__(self, db: SyncDatabase, *, run_id: str, mode: str, record_type: str | None, keys: KeyColumns,
                 include_values: bool, sleep: Callable[[float], None] = time.sleep) -> None:
        self._db, self._keys, self._values = db, keys, include_values
        self._common = {"run_id": run_id, "mode": mode, "record_type": record_type}
        self._sleep = sleep
        self._conn: Any = db.connect()          # JobError now when the database is down at the start
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)    # the writer: rows to write, or the end
        self._room = threading.Condition(self._lock)    # the producers: the writer took the rows
        self._waiting: list[Settlement] = []
        self._count = 0                 # rows in _waiting
        self._closing = False
        self._error: JobError | None = None
        self._written = 0
        self._closed = False
        self._thread = threading.Thread(target=self._write, name="sync-log", daemon=True)
        self._thread.start()

    # -- the producers' side (delivery's threads, the reading thread) -----------------------------
    def settled(self, settlement: Settlement) -> None:
        rows = len(settlement.delivered) + len(settlement.refused)
        with self._lock:
            if self._error is not None or self._closing:
                return
            self._waiting.append(settlement)
            self._count += rows
            if self._count >= FLUSH_ROWS:
                self._wake.notify()
            if self._count < MAX_WAITING:
                return
            if self._room.wait_for(lambda: self._count < MAX_WAITING or self._error is not None, PUT_WAIT_S):
                return
        self._give_up(JobError(f"sync log ({self._db.where()}): the database took no rows for {PUT_WAIT_S:.0f} s"))

    def close(self) -> None:
        """Write what waits, stop the writer, close the database (once; bounded in time)."""
        if self._closed:
            return
        self._closed = True
        with self._lock:
            self._closing = True
            self._wake.notify()
        self._thread.join(CLOSE_WAIT_S)
        if self._thread.is_alive():     # stuck in the database: left to end with the process
            self._give_up(JobError(f"sync log ({self._db.where()}): the last rows could not be written in time"))
            return
        self._release()
        self._db.close()

    def report(self) -> dict[str, Any]:
        """What the report says of the log: its table, the rows it holds of this run, its error."""
        out: dict[str, Any] = {"table": self._db.rows.fullname, "rows_written": self._written}
        if self._error is not None:
            out["error"] = str(self._error)
        return out

    # -- the writer thread -------------------------------------------------------------------------
    def _take(self) -> tuple[list[Settlement], bool]:
        """The settlements waiting (after at most FLUSH_S), and whether the log is closing."""
        with self._lock:
            if not self._closing and self._count < FLUSH_ROWS:
                self._wake.wait(FLUSH_S)
            taken, self._waiting, self._count = self._waiting, [], 0
            self._room.notify_all()
            return taken, self._closing

    def _write(self) -> None:
        while True:     # ends once close() has asked and nothing waits (the thread is a daemon besides)
            taken, closing = self._take()
            if taken and self._error is None:
                flush = Flush(self._db.target.backend, self._key_of, self._values)
                for settlement in taken:
                    flush.add(settlement)
                    if len(flush) >= FLUSH_ROWS:
                        self._flush(flush)
                        flush = Flush(self._db.target.backend, self._key_of, self._values)
                if len(flush):
                    self._flush(flush)
            if closing and not taken:
                return

    def _key_of(self, entry: Entry) -> str | None:
        """The user key of a row the pump did not key (invalid rows, rows the state's gate handed on)."""
        row = entry.values()
        return row_key(row, self._keys) if isinstance(row, Mapping) else None

    def _flush(self, flush: Flush) -> None:
        import sqlalchemy

        error: JobError | None = None
        for attempt in range(len(RETRY_WAITS_S) + 1):
            if self._error is not None:
                return
            if attempt:
                self._sleep(RETRY_WAITS_S[attempt - 1])
            try:
                if self._conn is None:
                    self._conn = self._db.connect()
                with self._conn.begin():
                    write(self._db, self._conn, self._common, flush)
            except JobError as exc:             # could not reconnect
                error = exc
            except sqlalchemy.exc.SQLAlchemyError as exc:
                error = self._db.error(exc, "writing rows")
                self._release()
            else:
                self._written += len(flush)
                return
        assert error is not None
        self._give_up(error)

    def _give_up(self, error: JobError) -> None:
        with self._lock:
            if self._error is not None:
                return
            self._error = error
            self._waiting, self._count = [], 0
            self._room.notify_all()
        log.warning("%s; the run goes on without the sync log, which holds %d rows of it", error, self._written)

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - a broken connection may fail to close; nothing to keep
                pass
