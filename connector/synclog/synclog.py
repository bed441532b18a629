"""The sync log: one row per input row per run, in the user's database, written off the hot path.

`SyncLog` is a sink of the Outcomes seam. `settled` keeps of each row only its number and user key
(and values, when asked) and appends that to a list under a lock: no thread is woken per batch,
and the rows' cells and bodies are not kept. Every FLUSH_S seconds (or when FLUSH_ROWS rows wait)
a forwarder thread hands the list to the writer process (syncproc.py) through a pipe: the
packing, the JSON and the database's time are spent there, not under this process's GIL. When
more than MAX_WAITING rows wait, the producers wait (memory stays bounded), at most PUT_WAIT_S; a writer
that gives up, or takes nothing for that long, is one warning line and the run goes on without
the log (docs/sync-log.md). A SIGKILL of this process leaves what the pipe had been handed.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from typing import Any, Mapping

import connector
from connector.config.settings import SyncLogSettings
from connector.errors import JobError
from connector.keys import KeyColumns, row_key
from connector.outcomes import Settlement
from connector.synclog.syncdb import SyncDatabase
from connector.synclog.syncflush import Compact, compact
from connector.synclog.syncproc import send
from connector.rows import Entry

log = logging.getLogger("braze_export")

FLUSH_S = 0.2
FLUSH_ROWS = 10_000         # handed over when this many rows wait, or FLUSH_S after the last hand-over
MAX_WAITING = 30_000        # rows settled and not yet handed over: bounds memory
PUT_WAIT_S = 60.0           # the run waits at most this long for a log that has fallen behind
CLOSE_WAIT_S = 120.0        # for the writer process to write what it was handed


class SyncLog:
    """Hands every settled row of one run to the sync log's writer process (thread-safe `settled`)."""

    def __init__(self, db: SyncDatabase, settings: SyncLogSettings, *, run_id: str, mode: str,
                 record_type: str | None, keys: KeyColumns) -> None:
        self._db, self._keys, self._values = db, keys, settings.include_values
        db.connect().close()            # JobError now when the database is down at the start
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(connector.__file__)))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH"))
                                                           if p)}
        self._proc = subprocess.Popen([sys.executable, "-m", "connector.synclog.syncproc"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, env=env, close_fds=True)
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._pipe = self._proc.stdin
        send(self._pipe, {"url": settings.url.reveal(), "table": settings.table, "runs_table": settings.runs_table,
                          "include_values": settings.include_values,
                          "common": {"run_id": run_id, "mode": mode, "record_type": record_type}})
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)    # the forwarder: rows to hand over, or the end
        self._room = threading.Condition(self._lock)    # the producers: the forwarder took the rows
        self._waiting: list[Compact] = []
        self._count = 0
        self._closing = False
        self._error: JobError | None = None
        self._written = 0
        self._closed = False
        self._forwarder = threading.Thread(target=self._forward, name="sync-log", daemon=True)
        self._reader = threading.Thread(target=self._listen, args=(self._proc.stdout,), name="sync-log-reader",
                                        daemon=True)
        self._forwarder.start()
        self._reader.start()

    # -- the producers' side (delivery's threads, the reading thread) -----------------------------
    def settled(self, settlement: Settlement) -> None:
        rows = len(settlement.delivered) + len(settlement.refused)
        item = compact(settlement, self._key_of, self._values)    # the entries (cells, bodies) are not kept
        with self._lock:
            if self._error is not None or self._closing:
                return
            self._waiting.append(item)
            self._count += rows
            if self._count >= FLUSH_ROWS:
                self._wake.notify()
            if self._count < MAX_WAITING:
                return
            if self._room.wait_for(lambda: self._count < MAX_WAITING or self._error is not None, PUT_WAIT_S):
                return
        self._give_up(JobError(f"sync log ({self._db.where()}): the database took no rows for {PUT_WAIT_S:.0f} s"))

    def close(self) -> None:
        """Hand over what waits, let the writer finish, close the database (once; bounded in time)."""
        if self._closed:
            return
        self._closed = True
        with self._lock:
            self._closing = True
            self._wake.notify()
        self._forwarder.join(CLOSE_WAIT_S)
        try:
            self._proc.wait(CLOSE_WAIT_S)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._give_up(JobError(f"sync log ({self._db.where()}): the last rows could not be written in time"))
        self._reader.join(CLOSE_WAIT_S)
        self._db.close()

    def report(self) -> dict[str, Any]:
        """What the report says of the log: its table, the rows it holds of this run, its error."""
        out: dict[str, Any] = {"table": self._db.rows.fullname, "rows_written": self._written}
        if self._error is not None:
            out["error"] = str(self._error)
        return out

    # -- the forwarder thread and the reader of the writer's answers ------------------------------
    def _take(self) -> tuple[list[Compact], bool]:
        with self._lock:
            if not self._closing and self._count < FLUSH_ROWS:
                self._wake.wait(FLUSH_S)
            taken, self._waiting, self._count = self._waiting, [], 0
            self._room.notify_all()
            return taken, self._closing

    def _forward(self) -> None:
        try:
            while True:     # ends once close() has asked and nothing waits (a daemon thread besides)
                taken, closing = self._take()
                if taken and self._error is None:
                    send(self._pipe, taken)
                if closing and not taken:
                    break
        except OSError:         # the writer process is gone
            self._give_up(JobError(f"sync log ({self._db.where()}): the writer process ended unexpectedly"))
        finally:
            try:
                self._pipe.close()      # the end of its input: the writer finishes and says how far it got
            except OSError:
                pass

    def _key_of(self, entry: Entry) -> str | None:
        """The user key of a row the pump did not key (invalid rows, rows the state's gate handed on)."""
        row = entry.values()
        return row_key(row, self._keys) if isinstance(row, Mapping) else None

    def _listen(self, stream: Any) -> None:
        for line in stream:     # ends when the writer process closes its stdout (it exits)
            try:
                said = json.loads(line)
            except ValueError:
                continue
            if "error" in said:
                self._give_up(JobError(str(said["error"])))
            if "written" in said:
                self._written = int(said["written"])

    def _give_up(self, error: JobError) -> None:
        with self._lock:
            if self._error is not None:
                return
            self._error = error
            self._waiting, self._count = [], 0
            self._room.notify_all()
        log.warning("%s; the run goes on without the sync log", error)
