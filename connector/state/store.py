"""The state file: SQLite in WAL mode, one transaction per acknowledged batch. Holds no ids in clear.

Tables: jobs (one per config fingerprint: its input and whether it reached the end), ranges
(rows delivered, or lost under at_most_once, as merged ranges), inflight (batches sent and not yet
settled), blocks (an sql input's rows as read, by block: state/replay.py), names (attribute names), attrs (per hashed user: packed value fingerprints), dedupe
(hashed dedupe keys Braze acknowledged); with on_removed, audiences and members (audience.py),
which hold the audience's user keys in clear, since a removal must name its user.
"""

from __future__ import annotations

import array
import contextlib
import datetime as _dt
import sqlite3
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Iterator, Mapping, Sequence

from connector.errors import UsageError
from connector.state.delta import Changes, Fingerprints, apply, pack, unpack
from connector.state.fingerprint import InputIdentity
from connector.state.ranges import RangeSet

if TYPE_CHECKING:
    from connector.state.audience import Audience, MemberChange

SCHEMA_VERSION = "1"
IN_LIST = 500           # keys per SELECT ... IN (...)
DONE, LOST = 0, 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs(id INTEGER PRIMARY KEY, config TEXT NOT NULL UNIQUE, input TEXT NOT NULL,
    input_desc TEXT NOT NULL, started TEXT NOT NULL, finished TEXT);
CREATE TABLE IF NOT EXISTS ranges(job INTEGER NOT NULL, kind INTEGER NOT NULL, lo INTEGER NOT NULL,
    hi INTEGER NOT NULL, PRIMARY KEY(job, kind, lo)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inflight(id INTEGER PRIMARY KEY, job INTEGER NOT NULL, rows BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS names(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS attrs(user BLOB PRIMARY KEY, fps BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dedupe(key BLOB PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blocks(job INTEGER NOT NULL, hi INTEGER NOT NULL, chain BLOB NOT NULL,
    PRIMARY KEY(job, hi)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audiences(id INTEGER PRIMARY KEY, config TEXT NOT NULL UNIQUE, gen INTEGER NOT NULL,
    input TEXT, users INTEGER, completed TEXT);
CREATE TABLE IF NOT EXISTS members(audience INTEGER NOT NULL, user BLOB NOT NULL, key BLOB NOT NULL,
    names BLOB NOT NULL, seen INTEGER NOT NULL, PRIMARY KEY(audience, user)) WITHOUT ROWID;
"""


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class JobStart:
    """What `begin_job` found: whether an earlier run is continued, and what it left in flight."""

    resumed: bool
    unknown_fate_rows: tuple[int, ...]
    finished_before: str | None       # when the earlier run of this same input reached its end


@dataclass(frozen=True)
class Settled:
    """One batch's final outcome, as the state records it in one transaction."""

    inflight_id: int | None
    delivered: Sequence[int]
    lost: Sequence[int] = ()
    users: Mapping[bytes, Changes] | None = None
    keys: Sequence[bytes] = ()
    members: Sequence[MemberChange] = ()    # on_removed: users acknowledged, in row order
    touched: Sequence[bytes] = ()           # on_removed: users of rows not delivered


class StateStore:
    """The state file's connection; thread-safe through `lock` (an RLock callers may hold)."""

    def __init__(self, path: str, shown: str | None = None) -> None:
        shown = shown or path       # the state_file as the config wrote it
        self.lock = threading.RLock()
        self.done = RangeSet()
        self.lost = RangeSet()
        self._job: int | None = None
        self._names: dict[str, int] = {}
        self.audience: Audience | None = None     # set with on_removed: told in each acknowledgement's transaction
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT v FROM meta WHERE k='version'").fetchone()
        except sqlite3.Error as exc:
            raise UsageError(f"state_file {shown}: not a usable state file ({exc})") from None
        if row is None:
            self._db.execute("INSERT INTO meta VALUES('version', ?)", (SCHEMA_VERSION,))
        elif row[0] != SCHEMA_VERSION:
            raise UsageError(f"state_file {shown}: written by another version (schema {row[0]})")
        self._names = dict(self._db.execute("SELECT name, id FROM names"))

    def close(self) -> None:
        with self.lock:
            self._db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on the state (the store's lock held)."""
        with self.lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            yield self._db

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The connection, for reads (the store's lock held)."""
        with self.lock:
            yield self._db

    def job_input(self, config: str) -> str | None:
        """The input (content hash) the job of this config last ran on, if there is such a job."""
        with self.lock:
            row = self._db.execute("SELECT input FROM jobs WHERE config=?", (config,)).fetchone()
        return None if row is None else row[0]

    # -- the job ---------------------------------------------------------------------------
    def begin_job(self, config: str, identity: InputIdentity, restart: bool, lose_unknown: bool) -> JobStart:
        """Find or start the job of this config on this input; refuse a changed input mid-job."""
        self.done, self.lost = RangeSet(), RangeSet()
        with self.lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute("SELECT id, input, input_desc, started, finished FROM jobs WHERE config=?",
                                   (config,)).fetchone()
            if row is not None and row[1] != identity.digest and row[4] is None and not restart:
                raise UsageError(
                    f"the state file holds an unfinished job of this config on another input ({row[2]}, "
                    f"started {row[3]}); run it again on that input to finish it, or give --restart to "
                    f"start over with this input")
            if row is None:
                self._job = self._db.execute("INSERT INTO jobs(config, input, input_desc, started) VALUES(?,?,?,?)",
                                             (config, identity.digest, identity.description, _now())).lastrowid
                return JobStart(False, (), None)
            self._job = row[0]
            if restart or row[1] != identity.digest:
                for table in ("ranges", "inflight", "blocks"):
                    self._db.execute(f"DELETE FROM {table} WHERE job=?", (self._job,))
                self._db.execute("UPDATE jobs SET input=?, input_desc=?, started=?, finished=NULL WHERE id=?",
                                 (identity.digest, identity.description, _now(), self._job))
                return JobStart(False, (), None)
            self.done, self.lost = (RangeSet(self._db.execute(
                "SELECT lo, hi FROM ranges WHERE job=? AND kind=?", (self._job, kind)).fetchall()) for kind in (DONE, LOST))
            unknown: list[int] = []
            for (blob,) in self._db.execute("SELECT rows FROM inflight WHERE job=?", (self._job,)).fetchall():
                unknown.extend(array.array("q", blob))
            unknown = sorted(set(unknown) - {n for n in unknown if n in self.done})
            self._db.execute("DELETE FROM inflight WHERE job=?", (self._job,))
            if lose_unknown:
                self._write_ranges(LOST, self.lost, unknown)
            self._db.execute("UPDATE jobs SET finished=NULL WHERE id=?", (self._job,))
            resumed = bool(self.done.range_count or self.lost.range_count or unknown)
            return JobStart(resumed, tuple(unknown), row[4])

    def finish_job(self) -> None:
        """The run reached the end of its input: a new input may start a new job."""
        if self._job is not None:
            with self.lock, self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("UPDATE jobs SET finished=? WHERE id=?", (_now(), self._job))

    @property
    def job(self) -> int | None:
        """The job's id in the state file; None when rows are not tracked (stdin, the Python API)."""
        return self._job

    def forget_from(self, first: int) -> None:
        """The input changed from row `first` on (state/replay.py): what was recorded of the rows
        from there on no longer holds."""
        with self.lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for kind, target in ((DONE, self.done), (LOST, self.lost)):
                kept = target.below(first)
                self._db.execute("DELETE FROM ranges WHERE job=? AND kind=? AND hi>=?", (self._job, kind, first))
                self._db.executemany("INSERT OR REPLACE INTO ranges VALUES(?,?,?,?)",
                                     [(self._job, kind, lo, hi) for lo, hi in kept if hi >= first - 1])
                if kind == DONE:
                    self.done = kept
                else:
                    self.lost = kept
            self._db.execute("DELETE FROM blocks WHERE job=? AND hi>=?", (self._job, first))

    # -- rows ------------------------------------------------------------------------------
    def _write_ranges(self, kind: int, target: RangeSet, rows: Iterable[int]) -> None:
        if self._job is None:
            return
        deleted, written = target.add_many(rows)
        job = self._job
        self._db.executemany("DELETE FROM ranges WHERE job=? AND kind=? AND lo=?", [(job, kind, lo) for lo in deleted])
        self._db.executemany("INSERT OR REPLACE INTO ranges VALUES(?,?,?,?)",
                             [(job, kind, lo, hi) for lo, hi in written.items()])

    def mark_done(self, rows: Sequence[int], members: Sequence[MemberChange] = ()) -> None:
        """Rows settled without a request (unchanged, duplicate): one transaction."""
        with self.lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._write_ranges(DONE, self.done, rows)
            if members and self.audience is not None:
                self.audience.record(self._db, members, ())

    def sending(self, rows: Sequence[int]) -> int | None:
        """Record a batch before its first request; its id, or None when rows are not tracked."""
        if self._job is None:
            return None
        with self.lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            return self._db.execute("INSERT INTO inflight(job, rows) VALUES(?, ?)",
                                    (self._job, array.array("q", rows).tobytes())).lastrowid

    def settle(self, s: Settled) -> None:
        """Record a batch's final outcome: delivered rows, what Braze now has, the batch no longer in flight."""
        with self.lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            if s.inflight_id is not None:
                self._db.execute("DELETE FROM inflight WHERE id=?", (s.inflight_id,))
            self._write_ranges(DONE, self.done, s.delivered)
            if s.lost:
                self._write_ranges(LOST, self.lost, s.lost)
            if s.users:
                stored = self._users(list(s.users))
                self._db.executemany("INSERT OR REPLACE INTO attrs VALUES(?, ?)", [
                    (user, pack(apply(stored.get(user, {}), changes))) for user, changes in s.users.items()])
            if s.keys:
                self._db.executemany("INSERT OR IGNORE INTO dedupe VALUES(?)", [(k,) for k in s.keys])
            if (s.members or s.touched) and self.audience is not None:
                self.audience.record(self._db, s.members, s.touched)

    # -- delta and dedupe lookups ------------------------------------------------------------
    def name_id(self, name: str) -> int:
        nid = self._names.get(name)
        if nid is None:
            with self.lock, self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("INSERT OR IGNORE INTO names(name) VALUES(?)", (name,))
                nid = self._names[name] = self._db.execute("SELECT id FROM names WHERE name=?", (name,)).fetchone()[0]
        return nid

    def names_of(self, ids: Iterable[int]) -> dict[int, str]:
        """The names of these name ids."""
        wanted = set(ids)
        with self.lock:
            return {nid: name for name, nid in self._names.items() if nid in wanted}

    def users(self, users: Sequence[bytes]) -> dict[bytes, Fingerprints]:
        """The stored fingerprints of these users (absent: the state has never seen the user)."""
        with self.lock:
            return self._users(users)

    def _users(self, users: Sequence[bytes]) -> dict[bytes, Fingerprints]:
        found: dict[bytes, Fingerprints] = {}
        for i in range(0, len(users), IN_LIST):
            part = users[i:i + IN_LIST]
            sql = f"SELECT user, fps FROM attrs WHERE user IN ({','.join('?' * len(part))})"
            found.update((u, unpack(b)) for u, b in self._db.execute(sql, part))
        return found

    def known_keys(self, keys: Sequence[bytes]) -> set[bytes]:
        """The dedupe keys among these that Braze acknowledged in an earlier run."""
        found: set[bytes] = set()
        with self.lock:
            for i in range(0, len(keys), IN_LIST):
                part = keys[i:i + IN_LIST]
                sql = f"SELECT key FROM dedupe WHERE key IN ({','.join('?' * len(part))})"
                found.update(k for (k,) in self._db.execute(sql, part))
        return found
