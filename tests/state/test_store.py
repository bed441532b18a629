"""The state store, its lock and the job fingerprints, directly on temporary files."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from connector.config import parse_config
from connector.errors import UsageError
from connector.state.delta import pack
from connector.state.fingerprint import InputIdentity, config_fingerprint, input_identity, key_hash, value_fp
from connector.errors import StateBusy
from connector.state.lock import StateLock
from connector.state.store import Settled, StateStore

A, B = InputIdentity("aaa", "a.csv, 10 bytes"), InputIdentity("bbb", "b.csv, 12 bytes")


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "state.db")


def test_acknowledged_rows_survive_a_reopen_and_in_flight_rows_come_back_of_unknown_fate(path):
    store = StateStore(path)
    assert store.begin_job("cfg", A, restart=False, lose_unknown=False).resumed is False
    first = store.sending([1, 3, 5])
    second = store.sending([2, 4, 6])
    store.settle(Settled(second, [2, 4, 6]))
    store.settle(Settled(store.sending([7, 8]), [7]))          # row 8 rejected: not done
    store.mark_done([9, 10])
    assert first is not None
    store.close()                                                # as if killed: batch `first` in flight

    again = StateStore(path)
    start = again.begin_job("cfg", A, restart=False, lose_unknown=False)
    assert start.resumed and start.unknown_fate_rows == (1, 3, 5) and start.finished_before is None
    assert [n for n in range(1, 12) if n in again.done] == [2, 4, 6, 7, 9, 10]
    again.close()
    third = StateStore(path)
    assert third.begin_job("cfg", A, restart=False, lose_unknown=False).unknown_fate_rows == ()
    third.close()


def test_at_most_once_keeps_unknown_rows_as_lost(path):
    store = StateStore(path)
    store.begin_job("cfg", A, False, True)
    store.sending([4, 5])
    store.close()
    again = StateStore(path)
    assert again.begin_job("cfg", A, False, True).unknown_fate_rows == (4, 5)
    assert 4 in again.lost and 5 in again.lost and 4 not in again.done


def test_a_changed_input_is_refused_while_the_job_is_unfinished(path):
    store = StateStore(path)
    store.begin_job("cfg", A, False, False)
    store.mark_done([1, 2])
    with pytest.raises(UsageError, match=r"unfinished job of this config on another input \(a.csv, 10 bytes"):
        store.begin_job("cfg", B, False, False)
    assert store.begin_job("other-config", B, False, False).resumed is False
    assert store.begin_job("cfg", B, restart=True, lose_unknown=False).resumed is False
    assert 1 not in store.done
    store.mark_done([1])
    store.finish_job()
    start = store.begin_job("cfg", B, False, False)
    assert start.resumed and start.finished_before is not None
    store.finish_job()
    assert store.begin_job("cfg", A, False, False).resumed is False      # finished: a new input starts afresh


def test_attribute_fingerprints_and_dedupe_keys_advance_only_on_settle(path):
    store = StateStore(path)
    store.begin_job("cfg", A, False, False)
    u1, u2 = key_hash("s", "external_id:u1"), key_hash("s", "external_id:u2")
    a, b = store.name_id("a"), store.name_id("b")
    assert store.name_id("a") == a != b
    assert store.users([u1, u2]) == {}
    store.settle(Settled(None, [1], users={u1: {a: value_fp(1), b: value_fp(2)}}, keys=[b"k1"]))
    store.settle(Settled(None, [2], users={u1: {b: None}, u2: {}}))
    assert store.users([u1, u2]) == {u1: {a: value_fp(1)}, u2: {}}
    assert store.known_keys([b"k1", b"k2"]) == {b"k1"}
    store.close()
    again = StateStore(path)
    assert again.name_id("b") == b and again.users([u1]) == {u1: {a: value_fp(1)}}


def test_lookups_go_in_chunks_of_500_keys(path):
    store = StateStore(path)
    users = [key_hash("s", f"u{i}") for i in range(1200)]
    store.settle(Settled(None, [], users={u: {1: value_fp(i)} for i, u in enumerate(users)}))
    assert len(store.users(users)) == 1200 and store._users(users[:3])[users[2]] == {1: value_fp(2)}
    assert pack({1: value_fp(5)}) == pack(store.users([users[5]])[users[5]])


def test_a_file_that_is_not_a_state_file_is_refused(tmp_path):
    bad = tmp_path / "x.db"
    bad.write_text("not sqlite at all" * 100)
    with pytest.raises(UsageError, match="not a usable state file"):
        StateStore(str(bad))


def test_the_lock_refuses_a_second_holder_and_names_the_first(path):
    first = StateLock(path)
    first.acquire()
    code = ("import sys; from connector.state.lock import StateLock; from connector.errors import StateBusy\n"
            "try:\n    StateLock(sys.argv[1]).acquire()\nexcept StateBusy as e:\n    print(e); sys.exit(7)\n")
    other = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, timeout=60)
    assert other.returncode == 7
    assert f"another run is using the state file {path} (pid " in other.stdout
    first.release()
    other = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, timeout=60)
    assert other.returncode == 0
    assert issubclass(StateBusy, Exception)


def _settings(**changes):
    base = {"endpoint": "sandbox", "mode": "user_track", "track_record_type": "custom_events",
            "input": {"path": "e.csv"}}
    return parse_config({**base, **changes})


def test_the_config_fingerprint_follows_what_shapes_objects_only():
    fp = config_fingerprint(_settings())
    assert config_fingerprint(_settings(concurrency=3, batch_size=10, maximum_retries=1)) == fp
    assert config_fingerprint(_settings(input={"path": "other.csv"})) == fp
    for change in ({"track_record_type": "purchases"}, {"pre_formatted_fields": ["p"]},
                   {"update_existing_only": True}, {"endpoint": "US-01", "api_key": "k"},
                   {"input": {"path": "e.csv", "columns": {"n": "long"}}}):
        assert config_fingerprint(_settings(**change)) != fp, change


def test_the_input_identity_is_a_content_hash(tmp_path):
    f = tmp_path / "e.csv"
    f.write_text("a,b\n1,2\n")
    spec = _settings(input={"path": str(f)}).input
    first = input_identity(spec)
    assert first is not None and first.description.endswith("e.csv, 8 bytes")
    f.write_text("a,b\n1,3\n")
    assert input_identity(spec).digest != first.digest
    assert input_identity(dataclasses.replace(spec, path="-")) is None
