"""A dry run's read-only look at a job's audience: the users the state holds that this input does not have.

A dry run writes nothing: the state file is opened read-only (it may not exist yet: then the job
holds nobody), and the users of the rows read go into a temporary table of this connection only.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import urllib.parse
from typing import Iterator

from connector.errors import JobError
from connector.keys import UserKey
from connector.state.audience import PAGE, Figures, Member, peek, unpack_ids
from connector.state.fingerprint import key_hash

log = logging.getLogger("braze_export")


def _in(n: int) -> str:
    return ",".join("?" * n)


class AudienceView:
    """What `Audience` answers for the removals, from a read-only state, for a run that sends nothing."""

    def __init__(self, path: str, config: str, scope: str) -> None:
        self._scope = scope
        self._buffer: list[tuple[bytes]] = []
        self._id: int | None = None
        self._before = 0
        self._db = sqlite3.connect(":memory:")
        if not os.path.exists(path):
            log.info("dry run: on_removed: the state file does not exist yet: nobody would be removed")
        else:
            try:
                self._db.close()
                self._db = sqlite3.connect(f"file:{urllib.parse.quote(os.path.abspath(path))}?mode=ro", uri=True)
                tables = {name for (name,) in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                found = peek(self._db, config) if "audiences" in tables else None
                if found is not None:
                    self._id = found[0]
                    last = self._db.execute("SELECT users FROM audiences WHERE id=?", (self._id,)).fetchone()[0]
                    self._before = last if last is not None else self._db.execute(
                        "SELECT count(*) FROM members WHERE audience=?", (self._id,)).fetchone()[0]
            except sqlite3.Error as exc:
                raise JobError(f"cannot read the state file: {exc}") from None
        self._db.execute("CREATE TEMP TABLE present(user BLOB PRIMARY KEY) WITHOUT ROWID")

    def seen(self, key: UserKey) -> None:
        self._buffer.append((key_hash(self._scope, key),))
        if len(self._buffer) >= PAGE:
            self.flush()

    def flush(self) -> None:
        buffer, self._buffer = self._buffer, []
        if buffer:
            self._db.executemany("INSERT OR IGNORE INTO temp.present VALUES(?)", buffer)

    def figures(self) -> Figures:
        self.flush()
        now = self._db.execute("SELECT count(*) FROM temp.present").fetchone()[0]
        gone = 0 if self._id is None else self._db.execute(
            "SELECT count(*) FROM members WHERE audience=? AND user NOT IN (SELECT user FROM temp.present)",
            (self._id,)).fetchone()[0]
        return Figures(self._before, now, gone)

    def members(self) -> Iterator[Member]:
        self.flush()
        if self._id is None:
            return
        after = b""
        for _ in range(1 << 40):    # bounded: each page moves past the last user read
            page = self._db.execute(
                "SELECT user, key, names FROM members WHERE audience=? AND user>? AND user NOT IN "
                "(SELECT user FROM temp.present) ORDER BY user LIMIT ?", (self._id, after, PAGE)).fetchall()
            if not page:
                return
            ids = list(set().union(*(unpack_ids(b) for _, _, b in page)))
            names = dict(self._db.execute(f"SELECT id, name FROM names WHERE id IN ({_in(len(ids))})", ids)) if ids else {}
            for user, key, blob in page:
                yield Member(user, key.decode("utf-8", "surrogatepass"),
                             {names[i]: i for i in unpack_ids(blob) if i in names})
            after = page[-1][0]

    def complete(self) -> None:
        """A dry run records nothing."""

    def close(self) -> None:
        self._db.close()
