"""on_removed's state: the audience recorded with each acknowledgement, its runs, the removals' journal
and a dry run's read-only view, directly on temporary state files."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from connector import keys
from connector.config import parse_config
from connector.outcomes import Refusal, Settlement
from connector.rows import Entry
from connector.state import StateSession
from connector.state.audience import Audience, attribute_names, group_names
from connector.state.fingerprint import InputIdentity, key_hash
from connector.state.store import Settled, StateStore
from connector.state.undo import RemovalJournal
from connector.state.view import AudienceView

SCOPE = "sandbox\0user_profile_attributes"
GROUP = "3f2b6a4e-8c1d-4e5f-9a7b-0c1d2e3f4a5b"


def _user(name: str) -> bytes:
    return key_hash(SCOPE, keys.make("external_id", name))


@pytest.fixture
def store(tmp_path):
    s = StateStore(str(tmp_path / "state.db"))
    yield s
    try:
        s.close()
    except sqlite3.ProgrammingError:        # closed by the test
        pass


def _audience(store: StateStore, digest: str | None = None, keep: bool = False) -> Audience:
    a = Audience(store, "cfg", SCOPE, attribute_names, digest=digest, keep=keep)
    store.audience = a
    return a


def _ack(store: StateStore, a: Audience, *bodies: dict, touched: tuple[str, ...] = ()) -> None:
    changes = [a.change(b, keys.make("external_id", b["external_id"])) for b in bodies]
    store.settle(Settled(None, [], members=changes, touched=[_user(t) for t in touched]))


def test_attribute_names_leave_out_identifiers_flags_and_subscription_states():
    body = {"external_id": "u1", "email": "a@x.io", "vip": True, "tier": None, "_update_existing_only": True,
            "email_subscribe": "opted_in", "subscription_groups": [], "push_tokens": []}
    assert attribute_names(body, "external_id:u1") == ({"vip", "email"}, {"tier"})
    assert attribute_names({"email": "a@x.io", "vip": 1}, "email:a@x.io") == ({"vip"}, set())
    assert group_names({"subscription_group_id": GROUP, "subscription_state": "subscribed", "external_ids": ["u"]},
                       "external_id:u") == ({f"$subscription_group:{GROUP}"}, set())
    assert group_names({"subscription_group_id": GROUP, "subscription_state": "unsubscribed"}, "x:y")[0] == set()


def test_members_keep_the_names_braze_acknowledged_and_a_null_drops_one(store):
    a = _audience(store)
    _ack(store, a, {"external_id": "u1", "vip": True, "tier": "gold"}, {"external_id": "u2", "vip": True})
    _ack(store, a, {"external_id": "u1", "tier": None, "city": "Oslo"})      # a later row of the same user
    a2 = _audience(store)                                                    # the next run
    assert a2.gen == a.gen + 1
    found = {m.key: set(m.names) for m in a2.members()}
    assert found == {"external_id:u1": {"vip", "city"}, "external_id:u2": {"vip"}}
    assert a2.figures().leaving == 2 and a2.figures().now == 0


def test_a_touched_member_stays_and_a_touch_makes_nobody_a_member(store):
    a = _audience(store)
    _ack(store, a, {"external_id": "u1", "vip": True}, {"external_id": "u2", "vip": True})
    a.complete()
    b = _audience(store)
    _ack(store, b, touched=("u1", "stranger"))      # u1's row was rejected this run: still in the audience
    b.seen("external_id:u2")                        # u2's row was invalid: still in the audience
    b.flush()
    figures = b.figures()
    assert (figures.before, figures.now, figures.leaving) == (2, 2, 0)
    assert list(b.members()) == []


def test_a_resumed_run_keeps_its_run_number_and_a_new_input_starts_the_next(store):
    a = _audience(store, "A")
    _ack(store, a, {"external_id": "u1", "vip": True})
    resumed = _audience(store, "A", keep=True)
    assert resumed.gen == a.gen and resumed.figures().now == 1
    fresh = _audience(store, "B")
    assert fresh.gen == a.gen + 1 and [m.key for m in fresh.members()] == ["external_id:u1"]


def test_the_journal_removes_an_acknowledged_user_once_and_keeps_a_rejected_one(store):
    a = _audience(store)
    _ack(store, a, *({"external_id": f"u{i}", "vip": True} for i in range(4)))
    b = _audience(store)
    journal = RemovalJournal(b)
    for k, name in enumerate(("u0", "u1", "u2"), 1):
        journal.expect(-k, _user(name), None)
    ok = Settlement(delivered=[Entry(-1, {}), Entry(-2, {})], removal="unset")
    journal.settled(ok)
    journal.settled(ok)                       # told twice: nothing more happens
    journal.settled(Settlement(refused=[Refusal("rejected", Entry(-3, {}), "no")], removal="unset"))
    journal.nothing(_user("u3"))              # nothing of the job's to undo
    journal.flush()
    assert journal.users_removed == 3
    assert [m.key for m in b.members()] == ["external_id:u2"]       # tried again by the next run


def test_an_unsubscribe_drops_one_group_and_the_member_goes_with_its_last(store):
    a = Audience(store, "cfg", SCOPE, group_names, digest=None, keep=False)
    store.audience = a
    other = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    bodies = [{"subscription_group_id": g, "subscription_state": "subscribed", "external_ids": ["u1"]}
              for g in (GROUP, other)]
    store.settle(Settled(None, [], members=[a.change(b, "external_id:u1") for b in bodies]))
    b = Audience(store, "cfg", SCOPE, group_names, digest=None, keep=False)
    (member,) = list(b.members())
    first = member.names[f"$subscription_group:{GROUP}"]
    assert b.removed([(member.user, frozenset({first}))]) == 0
    assert set(next(iter(b.members())).names) == {f"$subscription_group:{other}"}
    assert b.removed([(member.user, frozenset(member.names.values()))]) == 1
    assert list(b.members()) == []


def test_unchanged_rows_join_the_audience_in_the_transaction_that_marks_them_done(store):
    store.begin_job("cfg", InputIdentity("A", "a.csv"), False, False)
    a = _audience(store, "A")
    store.mark_done([1], [a.change({"external_id": "u1", "vip": True}, "external_id:u1")])
    assert a.figures().now == 1 and 1 in store.done


def _settings(tmp_path, **extra):
    (tmp_path / "a.csv").write_text("external_id,vip\nu1,true\n")
    return parse_config({"endpoint": "sandbox", "mode": "user_track", "track_record_type": "user_profile_attributes",
                         "state_file": str(tmp_path / "state.db"), "input": {"path": str(tmp_path / "a.csv")},
                         **extra})


def test_turning_on_removed_on_over_a_finished_job_sends_its_input_again(tmp_path):
    plain = _settings(tmp_path)
    first = StateSession(plain, plain.input, restart=False, lose_unknown=False)
    first.store.mark_done([1])
    first.close(reached_end=True)
    again = StateSession(plain, plain.input, restart=False, lose_unknown=False)
    assert again.start.resumed and again.audience is None       # without on_removed: resumed as before
    again.close(reached_end=False)
    mirrored = _settings(tmp_path, on_removed="unset")
    learn = StateSession(mirrored, mirrored.input, restart=False, lose_unknown=False)
    assert not learn.start.resumed and learn.audience is not None   # restarted: every row is sent, and learnt
    learn.gate.settled(Settlement())
    learn.close(reached_end=True)
    resumed = StateSession(mirrored, mirrored.input, restart=False, lose_unknown=False)
    assert resumed.audience is not None
    resumed.close(reached_end=False)


def test_a_complete_run_with_on_removed_ignore_forgets_the_audience(tmp_path):
    mirrored = _settings(tmp_path, on_removed="delete")
    s = StateSession(mirrored, mirrored.input, restart=False, lose_unknown=False)
    assert s.audience is not None
    s.store.settle(Settled(None, [1], members=[s.audience.change({"external_id": "u1", "vip": "true"},
                                                                  "external_id:u1")]))
    s.close(reached_end=True)
    db = sqlite3.connect(tmp_path / "state.db")
    assert db.execute("SELECT count(*) FROM audiences").fetchone()[0] == 1
    plain = _settings(tmp_path)
    t = StateSession(plain, plain.input, restart=False, lose_unknown=False)
    t.close(reached_end=True)
    assert db.execute("SELECT count(*) FROM audiences").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM members").fetchone()[0] == 0


def _digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_a_dry_run_view_reads_the_state_and_writes_nothing(tmp_path, store):
    a = _audience(store)
    _ack(store, a, *({"external_id": f"u{i}", "vip": True} for i in range(3)))
    a.complete()
    path = str(tmp_path / "state.db")
    store.close()
    before = _digest(tmp_path / "state.db")
    view = AudienceView(path, "cfg", SCOPE)
    view.seen("external_id:u1")
    view.seen("external_id:new")
    figures = view.figures()
    assert (figures.before, figures.now, figures.leaving) == (3, 2, 2)
    assert sorted(m.key for m in view.members()) == ["external_id:u0", "external_id:u2"]
    assert all(set(m.names) == {"vip"} for m in view.members())
    view.close()
    assert _digest(tmp_path / "state.db") == before      # a WAL reader may leave an empty -wal beside it
    assert not (tmp_path / "state.db-wal").exists() or (tmp_path / "state.db-wal").stat().st_size == 0


def test_a_dry_run_view_of_no_state_or_of_another_config_holds_nobody(tmp_path):
    missing = AudienceView(str(tmp_path / "none.db"), "cfg", SCOPE)
    assert missing.figures().leaving == 0 and list(missing.members()) == []
    assert not (tmp_path / "none.db").exists()
    old = sqlite3.connect(tmp_path / "old.db")          # a state file of before on_removed
    old.execute("CREATE TABLE jobs(id INTEGER PRIMARY KEY)")
    old.commit()
    assert AudienceView(str(tmp_path / "old.db"), "cfg", SCOPE).figures().leaving == 0
