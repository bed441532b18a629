"""The sync log's writer process: reads settled rows from its stdin, writes them to the database.

`python -m connector.synclog.syncproc` is started by `SyncLog` (synclog.py); its own interpreter
does the packing, the JSON and the waiting on the database, so the run's process keeps its GIL.
The stream is length-prefixed pickles from that trusted parent: first the settings (the URL,
which is a secret, never travels on the command line), then one batch of settlements per
message, each written in one transaction (syncflush.py). End of input — the parent closed it, or
died, even by SIGKILL — means: write nothing more, report, exit; so a parent killed mid-run leaves
every batch it had handed over. It ignores SIGINT and SIGTERM (the parent decides). Lines on
stdout tell the parent: `{"error": ...}` when it gives up (then it reads on, writing nothing),
`{"written": n}` at the end. Messages hold no secret (syncdb scrubs the URL's).
"""

from __future__ import annotations

import json
import pickle
import signal
import struct
import sys
import time
from typing import IO, Any, Callable

from connector.config.settings import Secret, SyncLogSettings
from connector.errors import ConnectorError, JobError
from connector.synclog.syncdb import SyncDatabase, open_database
from connector.synclog.syncflush import Flush, write

HEADER = struct.Struct("!I")
RETRY_WAITS_S = (0.5, 2.0)      # before the 2nd and 3rd try of a batch
MAX_MESSAGE = 1 << 30


def send(stream: IO[bytes], message: Any) -> None:
    """One message: its length, then its pickle."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def receive(stream: IO[bytes]) -> Any:
    """The next message, or None at the end of the stream (a cut message is the end too)."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    data = stream.read(size) if size <= MAX_MESSAGE else b""
    return pickle.loads(data) if len(data) == size else None


class Writer:
    """Writes batches on one connection, reconnecting and retrying; gives up for good after that."""

    def __init__(self, db: SyncDatabase, common: dict[str, Any], include_values: bool,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._db, self._common, self._values, self._sleep = db, common, include_values, sleep
        self._conn: Any = None
        self.written = 0
        self.error: JobError | None = None

    def batch(self, items: list[tuple[Any, ...]]) -> None:
        import sqlalchemy

        flush = Flush(self._db.target.backend, self._values)
        for item in items:
            flush.add(item)
        for attempt in range(len(RETRY_WAITS_S) + 1):
            if attempt:
                self._sleep(RETRY_WAITS_S[attempt - 1])
            try:
                if self._conn is None:
                    self._conn = self._db.connect()
                with self._conn.begin():
                    write(self._db, self._conn, self._common, flush)
            except JobError as exc:             # could not reconnect
                self.error = exc
            except sqlalchemy.exc.SQLAlchemyError as exc:
                self.error = self._db.error(exc, "writing rows")
                self.close()
            else:
                self.written += len(flush)
                self.error = None
                return

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - a broken connection may fail to close; nothing to keep
                pass


def _say(**line: Any) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def main() -> int:
    """Read the settings, then batches until the end of stdin; say what was written."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    stdin = sys.stdin.buffer
    config = receive(stdin)
    if not isinstance(config, dict):
        return 1
    writer: Writer | None = None
    try:
        settings = SyncLogSettings(Secret(config["url"]), config["table"], config["runs_table"],
                                   config["include_values"])
        db = open_database(settings)
        writer = Writer(db, config["common"], settings.include_values)
        failed = False
        while True:     # ends at the end of stdin
            items = receive(stdin)
            if items is None:
                break
            if not failed:
                writer.batch(items)
                if writer.error is not None:
                    failed = True
                    _say(error=str(writer.error))
        writer.close()
        db.close()
    except ConnectorError as exc:
        _say(error=f"sync log: {exc}" if not str(exc).startswith("sync") else str(exc))
    _say(written=writer.written if writer is not None else 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
