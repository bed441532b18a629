"""The audience of a job with on_removed: the users it holds in Braze, what of theirs, and which runs had them.

Tables (in the state file, beside the others): `audiences` (one per config fingerprint: its run
number `gen`, the input that run reads, and the size of the last complete run) and `members` (per
hashed user: its key in clear, which is what a removal is made of; the ids of the attribute names,
or of the subscription groups, that this job sent and Braze acknowledged; the last run that had
the user). A user becomes a member in the transaction that records Braze's acknowledgement of its
row, and stops being one in the transaction that records the acknowledgement of its removal: so a
removal is sent again only when its request was in flight when a run was killed.
"""

from __future__ import annotations

import array
import contextlib
import datetime as _dt
import logging
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence

from connector.errors import JobError
from connector.keys import UserKey
from connector.state.delta import FLAGS, GROUP_NAME, identifier_keys
from connector.state.fingerprint import key_hash

if TYPE_CHECKING:
    from connector.state.store import StateStore

log = logging.getLogger("braze_export")

PAGE = 500          # members read, touched or looked up at once
# Standard fields that hold a state or a device, not a value: never set to null by `unset`.
NOT_UNSET = frozenset({"email_subscribe", "push_subscribe", "subscription_groups", "push_tokens",
                       "push_token_import"})

Names = Callable[[Any, UserKey], "tuple[set[str], set[str]]"]


def attribute_names(body: Mapping[str, Any], key: UserKey) -> tuple[set[str], set[str]]:
    """(names given a value, names sent as null) of one attributes object."""
    fixed = identifier_keys(key) | FLAGS
    given: set[str] = set()
    nulled: set[str] = set()
    for name, value in body.items():
        if name not in fixed and name not in NOT_UNSET:
            (nulled if value is None else given).add(name)
    return given, nulled


def group_names(body: Mapping[str, Any], key: UserKey) -> tuple[set[str], set[str]]:
    """A user_subscription object: its group is held while the user is subscribed in it."""
    name = GROUP_NAME + str(body["subscription_group_id"])
    return ({name}, set()) if body["subscription_state"] == "subscribed" else (set(), {name})


@dataclass(frozen=True)
class MemberChange:
    """What one acknowledged row tells the audience about its user."""

    user: bytes             # the hashed user (key_hash of the state's scope and the key)
    key: UserKey            # the key in clear (connector/keys.py)
    add: frozenset[int]     # name ids Braze now holds from this job
    drop: frozenset[int]    # name ids it no longer holds (a null, an unsubscribe)


@dataclass(frozen=True)
class Member:
    """A user the job holds in Braze: its key, and the names it holds for it (name -> id)."""

    user: bytes
    key: UserKey
    names: Mapping[str, int]


@dataclass(frozen=True)
class Figures:
    """What the guard weighs: the last complete run's users, this run's, and those that left."""

    before: int
    now: int
    leaving: int


def pack_ids(ids: Sequence[int] | set[int] | frozenset[int]) -> bytes:
    return array.array("I", sorted(ids)).tobytes()


def unpack_ids(blob: bytes) -> set[int]:
    found = array.array("I")
    found.frombytes(blob)
    return set(found)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _in(n: int) -> str:
    return ",".join("?" * n)


@contextlib.contextmanager
def _state(what: str) -> Iterator[None]:
    """An SQLite failure as the one-line JobError of the state file."""
    try:
        yield
    except sqlite3.Error as exc:
        raise JobError(f"cannot {what} the state file: {exc}") from None


def peek(db: sqlite3.Connection, config: str) -> tuple[int, str | None] | None:
    """(audience id, the input its current run reads) of a config, or None when it has none."""
    row = db.execute("SELECT id, input FROM audiences WHERE config=?", (config,)).fetchone()
    return None if row is None else (row[0], row[1])


def forget(store: StateStore, config: str) -> None:
    """Drop a config's audience (a complete run with on_removed: ignore): no key stays in clear."""
    with store.transaction() as db:
        found = peek(db, config)
        if found is not None:
            db.execute("DELETE FROM members WHERE audience=?", (found[0],))
            db.execute("DELETE FROM audiences WHERE id=?", (found[0],))
            log.info("state: on_removed is ignore: the audience this job kept is forgotten")


class Audience:
    """One job's audience for one run: recorded with each acknowledgement, read for the removals."""

    def __init__(self, store: StateStore, config: str, scope: str, names: Names, *, digest: str | None,
                 keep: bool) -> None:
        """`keep`: this run continues the run of the same input (resume): its run number is kept."""
        self._store = store
        self._scope = scope
        self._names = names
        self._touched: list[bytes] = []
        try:
            with store.transaction() as db:
                found = peek(db, config)
                if found is None:
                    ident = int(db.execute("INSERT INTO audiences(config, gen, input) VALUES(?, 1, ?)",
                                           (config, digest)).lastrowid or 0)
                else:
                    ident = found[0]
                    if not keep:
                        db.execute("UPDATE audiences SET gen=gen+1, input=? WHERE id=?", (digest, ident))
                self.id: int = ident
                self.gen, last = db.execute("SELECT gen, users FROM audiences WHERE id=?", (self.id,)).fetchone()
                held = db.execute("SELECT count(*) FROM members WHERE audience=?", (self.id,)).fetchone()[0]
        except sqlite3.Error as exc:
            raise JobError(f"cannot use the state file: {exc}") from None
        self._before = last if last is not None else held

    # -- recording (inside the store's transactions, or the reading thread) -------------------
    def change(self, body: Any, key: UserKey) -> MemberChange:
        """What Braze's acknowledgement of this object would tell the audience."""
        given, nulled = self._names(body, key)
        name_id = self._store.name_id
        with _state("write"):       # a name seen for the first time is written
            return MemberChange(key_hash(self._scope, key), key, frozenset(name_id(n) for n in given),
                                frozenset(name_id(n) for n in nulled))

    def record(self, db: sqlite3.Connection, changes: Sequence[MemberChange], touched: Sequence[bytes]) -> None:
        """In the caller's transaction: acknowledged users join (or stay), with their names; users
        whose rows were not delivered this run are marked as had by it, if they are members."""
        if changes:
            users = list({c.user for c in changes})
            held: dict[bytes, set[int]] = {}
            for i in range(0, len(users), PAGE):
                part = users[i:i + PAGE]
                held.update((u, unpack_ids(b)) for u, b in db.execute(
                    f"SELECT user, names FROM members WHERE audience=? AND user IN ({_in(len(part))})",
                    (self.id, *part)))
            keys: dict[bytes, str] = {}
            for c in changes:
                held[c.user] = (held.get(c.user, set()) | c.add) - c.drop
                keys[c.user] = c.key
            db.executemany("INSERT OR REPLACE INTO members VALUES(?, ?, ?, ?, ?)", [
                (self.id, u, keys[u].encode("utf-8", "surrogatepass"), pack_ids(held[u]), self.gen) for u in keys])
        for i in range(0, len(touched), PAGE):
            some = touched[i:i + PAGE]
            db.execute(f"UPDATE members SET seen=? WHERE audience=? AND user IN ({_in(len(some))})",
                       (self.gen, self.id, *some))

    def seen(self, key: UserKey) -> None:
        """A user of this run whose row will not be acknowledged (an invalid row): kept, if a member."""
        self._touched.append(key_hash(self._scope, key))
        if len(self._touched) >= PAGE:
            self.flush()

    def flush(self) -> None:
        touched, self._touched = self._touched, []
        if touched:
            with _state("write"), self._store.transaction() as db:
                self.record(db, (), touched)

    # -- the removals ---------------------------------------------------------------------------
    def figures(self) -> Figures:
        self.flush()
        with _state("read"), self._store.reading() as db:
            now, gone = db.execute("SELECT count(*) FILTER (WHERE seen=?), count(*) FILTER (WHERE seen<?) "
                                   "FROM members WHERE audience=?", (self.gen, self.gen, self.id)).fetchone()
        return Figures(self._before, now, gone)

    def members(self) -> Iterator[Member]:
        """The members this run did not have, page by page (safe while their removals settle)."""
        after = b""
        for _ in range(1 << 40):    # bounded: each page moves past the last user read
            with _state("read"), self._store.reading() as db:
                page = db.execute("SELECT user, key, names FROM members WHERE audience=? AND seen<? AND user>? "
                                  "ORDER BY user LIMIT ?", (self.id, self.gen, after, PAGE)).fetchall()
            if not page:
                return
            names = self._store.names_of(set().union(*(unpack_ids(b) for _, _, b in page)))
            for user, key, blob in page:
                ids = unpack_ids(blob)
                yield Member(user, key.decode("utf-8", "surrogatepass"), {names[i]: i for i in ids if i in names})
            after = page[-1][0]

    def removed(self, done: Sequence[tuple[bytes, frozenset[int] | None]]) -> int:
        """Record removals Braze acknowledged, in one transaction: (user, the name ids undone, or None
        for the whole user). Returns how many users stopped being members."""
        gone = 0
        with _state("write"), self._store.transaction() as db:
            for user, ids in done:
                row = db.execute("SELECT names FROM members WHERE audience=? AND user=?", (self.id, user)).fetchone()
                if row is None:
                    continue
                left = set() if ids is None else unpack_ids(row[0]) - ids
                if left:
                    db.execute("UPDATE members SET names=? WHERE audience=? AND user=?", (pack_ids(left), self.id, user))
                else:
                    db.execute("DELETE FROM members WHERE audience=? AND user=?", (self.id, user))
                    gone += 1
        return gone

    def complete(self) -> None:
        """The run is complete (its input read, its removals made): its users are the next run's base."""
        with _state("write"), self._store.transaction() as db:
            db.execute("UPDATE audiences SET users=(SELECT count(*) FROM members WHERE audience=? AND seen=?), "
                       "completed=? WHERE id=?", (self.id, self.gen, _now(), self.id))
