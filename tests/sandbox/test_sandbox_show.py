"""`sandbox show`: the newer data it lists, --limit/--offset, set-based reads, and output streamed as it is read."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests

from connector.sandbox import Sandbox, reads
from connector.sandbox.show import show
from connector.sandbox.store import Store

GROUP = "3f2b6a4e-8c1d-4e5f-9a7b-0c1d2e3f4a5b"


def _post(sb: Sandbox, path: str, body: dict) -> requests.Response:
    return requests.post(sb.url + path, json=body, headers={"Authorization": "Bearer k"}, timeout=10)


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "modes.sqlite")
    with Sandbox(api_key="k", db_path=path) as sb:
        _post(sb, "/users/track", {"attributes": [{"external_id": f"u{i}", "i": i} for i in range(5)],
                                   "events": [{"external_id": "u4", "name": "e", "time": "2024-05-01T10:00:00Z"}]})
        _post(sb, "/v2/subscription/status/set", {"subscription_groups": [
            {"subscription_group_id": GROUP, "subscription_state": "unsubscribed", "external_ids": ["u0"]}]})
        _post(sb, "/users/external_ids/rename", {"external_id_renames": [
            {"current_external_id": "u1", "new_external_id": "u1-new"}]})
        _post(sb, "/users/merge", {"merge_updates": [
            {"identifier_to_merge": {"external_id": "u4"}, "identifier_to_keep": {"external_id": "u3"}},
            {"identifier_to_merge": {"external_id": "ghost"}, "identifier_to_keep": {"external_id": "u3"}}]})
        sb.wait_for_merges()
    return path


def test_text_lists_subscriptions_deprecated_ids_merges_and_renames(db, capsys):
    assert show(db, None, False, False, sys.stdout) == 0
    out = capsys.readouterr().out
    assert "4 profiles, 1 events" in out
    assert "1 subscription states, 2 merges (0 pending), 1 deprecated external_ids" in out
    assert f"subscription groups:\n    {GROUP}: unsubscribed" in out
    assert "external_id u1-new" in out and "deprecated external_ids: u1\n" in out
    assert "request 4 #0: external_id u4 -> external_id u3: merged (braze_id " in out
    assert "request 4 #1: external_id ghost -> external_id u3: skipped: identifier_to_merge: no such profile" in out
    assert "request 3: u1 -> u1-new  (braze_id " in out


def test_json_has_the_same_and_one_user_by_a_deprecated_id(db, capsys):
    assert show(db, None, True, True, sys.stdout) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["subscriptions"] == 1 and data["summary"]["merges_pending"] == 0
    by_id = {u["external_id"]: u for u in data["users"]}
    assert by_id["u0"]["subscriptions"] == {GROUP: "unsubscribed"}
    assert by_id["u1-new"]["deprecated_external_ids"] == ["u1"]
    assert [e["name"] for e in by_id["u3"]["events"]] == ["e"]
    assert [m["status"] for m in data["merges"]] == ["merged", "skipped"]
    assert data["renames"][0]["new"] == "u1-new"
    assert show(db, "u1", False, True, sys.stdout) == 0
    assert [u["external_id"] for u in json.loads(capsys.readouterr().out)["users"]] == ["u1-new"]


def test_limit_and_offset(db, capsys):
    show(db, None, False, True, sys.stdout, limit=2)
    assert [u["external_id"] for u in json.loads(capsys.readouterr().out)["users"]] == ["u0", "u1-new"]
    show(db, None, False, True, sys.stdout, limit=10, offset=2)
    assert [u["external_id"] for u in json.loads(capsys.readouterr().out)["users"]] == ["u2", "u3"]
    show(db, None, False, False, sys.stdout, limit=0)   # the summary only: --limit caps merges and renames too
    assert capsys.readouterr().out.count("\n") == 2


def fill(path: str, profiles: int, events_each: int = 1) -> None:
    """A store of `profiles` profiles with `events_each` events each, written in bulk (no HTTP)."""
    store = Store(path)
    rows = [(i, f"{i:024x}", f"u{i}", json.dumps({"n": i, "name": f"user {i}"})) for i in range(1, profiles + 1)]
    with store.lock:
        store.db.execute("BEGIN")
        store.db.executemany("INSERT INTO profiles (id, braze_id, external_id, attributes) VALUES (?, ?, ?, ?)", rows)
        store.db.executemany("INSERT INTO events (profile, seq, name, body) VALUES (?, 1, 'e', ?)",
                             ((i, '{"name":"e","time":"2024-05-01T10:00:00Z"}') for i in range(1, profiles + 1)
                              for _ in range(events_each)))
        store.db.execute("COMMIT")
    store.close()


def test_profiles_are_read_with_a_few_queries_per_page_not_one_per_profile(tmp_path):
    path = str(tmp_path / "many.sqlite")
    fill(path, 1200, events_each=2)
    store = Store(path)
    statements: list[str] = []
    store.db.set_trace_callback(statements.append)
    profiles = reads.iter_profiles(store, with_actions=True)
    first = next(profiles)
    assert first["external_id"] == "u1" and len(first["events"]) == 2
    assert len(statements) <= 6                         # one page: profiles, aliases, ids, groups, events x2
    rest = list(profiles)
    assert len(rest) == 1199 and all(len(p["events"]) == 2 for p in rest)
    assert len(statements) <= 3 * 6
    store.close()


def test_show_streams_its_output_and_stops_quietly_when_the_reader_leaves(tmp_path):
    path = str(tmp_path / "big.sqlite")
    fill(path, 20_000)
    proc = subprocess.Popen([sys.executable, "-m", "connector.sandbox", "show", "--db", path],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        summary = proc.stdout.readline()
        assert summary.endswith("20000 profiles, 20000 events, 0 purchases (0 requests, 0 objects received)\n")
        assert proc.stdout.readline() == "\n"
        assert proc.stdout.readline().startswith("external_id u1  (braze_id ")
        # ~2 MB are still to come and the pipe holds 64 KiB: the first lines came while it was still reading
        assert proc.poll() is None
        proc.stdout.close()                             # like `| head -3`
        assert proc.wait(timeout=60) == 0
        assert proc.stderr is not None and proc.stderr.read() == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_limit_and_offset_on_the_command_line(tmp_path):
    path = str(tmp_path / "small.sqlite")
    fill(path, 30)
    shown = subprocess.run([sys.executable, "-m", "connector.sandbox", "show", "--db", path, "--json",
                            "--limit", "3", "--offset", "10"], capture_output=True, text=True, timeout=60)
    assert [u["external_id"] for u in json.loads(shown.stdout)["users"]] == ["u11", "u12", "u13"]
    bad = subprocess.run([sys.executable, "-m", "connector.sandbox", "show", "--db", path, "--limit", "-1"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
