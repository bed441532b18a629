"""The `sandbox` subcommand: `register` on an argparse parser, `show`, and the foreground server."""

from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import subprocess
import sys

import pytest
import requests

from connector.errors import ConfigError
from connector.sandbox import Sandbox
from connector.sandbox.command import register

ALIAS = {"alias_name": "a1", "alias_label": "crm"}


def _parse(argv):
    parser = argparse.ArgumentParser(prog="braze-export")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "store.sqlite")
    with Sandbox(api_key="k", db_path=path) as sb:
        s = requests.Session()
        h = {"Authorization": "Bearer k"}
        s.post(sb.url + "/users/track", json={
            "attributes": [{"external_id": "u1", "first_name": "Ann", "tags": ["a"]},
                           {"user_alias": ALIAS, "_update_existing_only": False, "score": 3}],
            "events": [{"external_id": "u1", "name": "played", "time": "2024-05-01T10:00:00Z",
                        "properties": {"level": 2}}],
            "purchases": [{"external_id": "u1", "product_id": "p9", "currency": "EUR", "price": 4.5,
                           "quantity": 2, "time": "2024-05-01T10:00:00Z"}]}, headers=h, timeout=10)
        s.close()
    return path


def test_register_defaults_and_flags():
    args = _parse(["sandbox"])
    assert (args.host, args.port, args.db, args.api_key, args.track_limit, args.sink) == (
        "127.0.0.1", 0, "braze-sandbox.sqlite", None, "combined_75", False)
    args = _parse(["sandbox", "--port", "9", "--track-limit", "per_array_75", "--fail-rate", "0.2",
                   "--fail-status", "503", "--drop-rate", "0.1", "--latency-ms", "5", "--reset-style", "seconds",
                   "--sink", "--seed", "3", "--track-rps", "10", "--users-rps", "2"])
    assert (args.port, args.track_limit, args.fail_rate, args.fail_status, args.drop_rate, args.latency_ms,
            args.reset_style, args.sink, args.seed, args.track_rps, args.users_rps) == (
        9, "per_array_75", 0.2, 503, 0.1, 5.0, "seconds", True, 3, 10.0, 2.0)
    assert args.func.__name__ == "run"
    assert _parse(["sandbox", "show", "--db", "x.sqlite"]).func.__name__ == "run_show"


def test_show_text(db, capsys):
    args = _parse(["sandbox", "show", "--db", db, "--events"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "2 profiles, 1 events, 1 purchases" in out
    assert "external_id u1" in out and "alias crm:a1" in out
    assert 'first_name: "Ann"' in out and 'tags: ["a"]' in out and "score: 3" in out
    assert "2024-05-01T10:00:00Z  played  {\"level\":2}" in out
    assert "p9  4.5 EUR x2" in out


def test_show_one_user_as_json(db, capsys):
    args = _parse(["sandbox", "show", "--db", db, "--user", "u1", "--json"])
    assert args.func(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["profiles"] == 2
    assert [u["external_id"] for u in data["users"]] == ["u1"]
    assert data["users"][0]["events"] == 1 and data["users"][0]["attributes"]["first_name"] == "Ann"


def test_show_unknown_user_and_missing_db(db, tmp_path, capsys):
    args = _parse(["sandbox", "show", "--db", db, "--user", "nobody"])
    assert args.func(args) == 1
    assert "no profile with external_id nobody" in capsys.readouterr().out
    args = _parse(["sandbox", "show", "--db", str(tmp_path / "missing.sqlite")])
    with pytest.raises(ConfigError):
        args.func(args)
    assert not (tmp_path / "missing.sqlite").exists()


def _first_line(proc: subprocess.Popen, timeout: float = 20.0) -> str:
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    assert selector.select(timeout), "the sandbox printed nothing"
    return proc.stdout.readline()


def test_foreground_server_prints_url_not_key_and_stops_on_sigterm(tmp_path):
    env = dict(os.environ, BRAZE_SANDBOX_API_KEY="env-secret-key-42")
    db = str(tmp_path / "fg.sqlite")
    proc = subprocess.Popen([sys.executable, "-m", "connector.sandbox", "--db", db], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = _first_line(proc)
        assert "env-secret-key-42" not in line and "BRAZE_SANDBOX_API_KEY" in line
        url = line.split()[4]
        assert url.startswith("http://127.0.0.1:")
        answer = requests.post(url + "/users/track", json={"attributes": [{"external_id": "fg"}]},
                               headers={"Authorization": "Bearer env-secret-key-42"}, timeout=10)
        assert answer.status_code == 201
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0
    assert "env-secret-key-42" not in out + err
    shown = subprocess.run([sys.executable, "-m", "connector.sandbox", "show", "--db", db, "--json"],
                           capture_output=True, text=True, timeout=30)
    assert json.loads(shown.stdout)["users"][0]["external_id"] == "fg"
