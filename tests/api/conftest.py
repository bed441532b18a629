"""Fixtures of the Python API tests: a real sandbox on a free loopback port, a clean working folder."""

import pytest

from connector.sandbox import Sandbox

API_KEY = "api-test-key-8c41e07b2f"


@pytest.fixture
def sandbox():
    with Sandbox(api_key=API_KEY) as sb:
        yield sb


@pytest.fixture
def api_key():
    return API_KEY


@pytest.fixture
def config(sandbox, tmp_path, monkeypatch):
    """A config mapping for user attributes, pointed at the sandbox; the working folder is tmp_path."""
    monkeypatch.chdir(tmp_path)
    return {"endpoint": sandbox.url, "api_key": API_KEY, "mode": "user_track",
            "track_record_type": "user_profile_attributes", "concurrency": 2,
            "reject_file": str(tmp_path / "rejected.jsonl")}
