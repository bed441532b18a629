"""Every config rule refuses alike wherever a config is read: check, run, preview and the Python API
(preview, which sends nothing, does not need the key).

The rules live in one place (connector/config/rules.py); this walks each of them with a config
that breaks it, and asserts that every entry point refuses it with the same words and exit code 2
(the API: the same ConfigError), sending nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from connector import export
from connector.config.rules import RULES
from connector.errors import ConfigError

LOOPBACK = "http://127.0.0.1:9"      # nothing listens: a config that got through would fail loudly
ATTRS = {"mode": "user_track", "track_record_type": "user_profile_attributes"}
EVENTS = {"mode": "user_track", "track_record_type": "custom_events"}

CASES = {
    "endpoint_rule": ({"endpoint": "https://rest.iad-01.braze.com.example.org", "api_key": "k", **ATTRS},
                      "endpoint: the host is not a Braze REST host"),
    "api_key_rule": ({"endpoint": LOOPBACK, **ATTRS}, "api_key: is required (or api_key_file)"),
    "retry_rule": ({"endpoint": "sandbox", **ATTRS, "initial_retry_interval_millis": 5000,
                    "maximum_retry_interval_millis": 100},
                   "initial_retry_interval_millis: must not exceed maximum_retry_interval_millis"),
    "subscription_rule": ({"endpoint": "sandbox", **ATTRS, "subscription_group_id": "3f2b6a4e-8c1d-4e5f-9a7b-0c1d2e3f4a5b"},
                          "subscription_group_id: is only allowed when mode is user_subscription"),
    "delta_rule": ({"endpoint": "sandbox", **EVENTS, "delta": True, "state_file": "st.db"},
                   "delta: applies to mode user_track with track_record_type user_profile_attributes"),
    "dedupe_rule": ({"endpoint": "sandbox", **ATTRS, "dedupe_key": "id", "state_file": "st.db"},
                    "dedupe_key: applies to track_record_type custom_events or purchases"),
    "on_removed_rule": ({"endpoint": "sandbox", **EVENTS, "on_removed": "unset", "state_file": "st.db"},
                        "on_removed: is refused for custom_events (a sent event or purchase cannot be taken back)"),
    "removed_ratio_rule": ({"endpoint": "sandbox", **ATTRS, "max_removed_ratio": 0.5},
                           "max_removed_ratio: applies only when on_removed is unset, unsubscribe or delete"),
    "input_rule": ({"endpoint": "sandbox", **ATTRS, "input": {"path": "u.csv", "query": "SELECT 1"}},
                   "input.query: is only allowed when the input format is sqlite"),
    "mapping_rule": ({"endpoint": "sandbox", **ATTRS, "mapping": {"columns": {"a": "external_id", "b": "external_id"}}},
                     "mapping.columns: more than one column is sent as external_id"),
    "workers_rule": ({"endpoint": "sandbox", **ATTRS, "workers": 2, "state_file": "st.db"},
                     "workers: must be 1 with a state_file"),
    "sync_log_rule": ({"endpoint": "sandbox", **ATTRS, "sync_log": {"url": "sqlite:///log.db", "table": "my log"}},
                      "sync_log.table: must be a table name of letters, digits and _"),
    "notify_rule": ({"endpoint": "sandbox", **ATTRS,
                     "notify": {"url": "http://hooks.example.com/x", "secret": "0123456789abcdef"}},
                    "notify.url: must use https (plain http is only allowed for loopback hosts)"),
}


OFFLINE = {"api_key_rule"}      # rules about the connection, which preview does not make


def test_every_rule_has_a_case():
    assert set(CASES) == {rule.__name__ for rule in RULES}


def _cli(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "connector", *args, "--config", "config.yml"], cwd=folder,
                          capture_output=True, text=True, timeout=60, env={**os.environ, "BRAZE_API_KEY": "k"})


@pytest.mark.parametrize("rule", sorted(CASES))
def test_check_run_preview_and_the_api_refuse_alike(tmp_path: Path, rule: str):
    config, words = CASES[rule]
    (tmp_path / "u.csv").write_text("external_id,city\nu1,Oslo\n")
    config = {"input": {"path": "u.csv"}, **config}
    (tmp_path / "config.yml").write_text(yaml.safe_dump(config))
    answers = {command: _cli(tmp_path, command, *extra)
               for command, extra in (("check", ()), ("run", ("--dry-run",)), ("preview", ()))}
    if rule in OFFLINE:     # preview sends nothing, so it needs no key: it previews without one
        preview = answers.pop("preview")
        assert preview.returncode == 0 and preview.stdout.startswith("POST /users/track"), preview.stderr
    errors = {}
    for command, proc in answers.items():
        assert proc.returncode == 2, (command, proc.stderr)
        lines = [line for line in proc.stderr.splitlines() if line.startswith("braze-export: error: ")]
        assert len(lines) == 1 and words in lines[0], (command, proc.stderr)
        assert "Traceback" not in proc.stderr
        errors[command] = lines[0]
    assert len(set(errors.values())) == 1, errors
    with pytest.raises(ConfigError) as caught:
        export([{"external_id": "u1"}], config)
    assert f"braze-export: error: {caught.value}" == errors["check"]
    assert not (tmp_path / "st.db").exists() and not (tmp_path / "braze-sandbox.sqlite").exists()
    assert not (tmp_path / "log.db").exists()
