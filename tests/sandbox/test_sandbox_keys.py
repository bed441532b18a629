"""How the foreground sandbox gets its API key, and what its start line says about it (never a key the user chose)."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
from typing import Iterator

import pytest
import requests

from connector.sandbox import DEFAULT_API_KEY

BODY = {"attributes": [{"external_id": "k1"}]}


@pytest.fixture
def start(tmp_path) -> Iterator:
    """start(*args, env=...) -> (first line, process) of a foreground sandbox; stopped after the test."""
    procs: list[subprocess.Popen] = []

    def run(*args: str, env: dict[str, str] | None = None) -> tuple[str, subprocess.Popen]:
        environ = {k: v for k, v in os.environ.items() if k != "BRAZE_SANDBOX_API_KEY"}
        proc = subprocess.Popen([sys.executable, "-m", "connector.sandbox", "--db", ":memory:", *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**environ, **(env or {})})
        procs.append(proc)
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        assert selector.select(20), "the sandbox printed nothing"
        return proc.stdout.readline(), proc

    yield run
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=20)


def _status(line: str, key: str) -> int:
    return requests.post(line.split()[4] + "/users/track", json=BODY, headers={"Authorization": f"Bearer {key}"},
                         timeout=10).status_code


def test_the_default_key_is_printed(start):
    line, _ = start()
    assert f"API key: {DEFAULT_API_KEY} (the default sandbox key)" in line
    assert _status(line, DEFAULT_API_KEY) == 201


def test_a_generated_key_is_printed_and_works(start):
    line, _ = start("--generate-key")
    key = line.split("API key: ")[1].split(" ")[0]
    assert len(key) >= 20 and key != DEFAULT_API_KEY and "(generated for this run)" in line
    assert _status(line, key) == 201 and _status(line, DEFAULT_API_KEY) == 401


def test_a_key_file_is_read_and_its_key_never_printed(start, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("file-secret-key-77\n")
    line, proc = start("--api-key-file", str(key_file), env={"BRAZE_SANDBOX_API_KEY": "env-key"})
    assert "file-secret-key-77" not in line and f"API key: the key in {key_file}" in line
    assert _status(line, "file-secret-key-77") == 201
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "file-secret-key-77" not in out + err


def test_a_key_on_the_command_line_is_not_repeated(start):
    line, _ = start("--api-key", "cli-key-123")
    assert "cli-key-123" not in line and "the key given with --api-key" in line
    assert _status(line, "cli-key-123") == 201


@pytest.mark.parametrize("content,reason", [(None, "No such file"), ("\n", "the file holds no key")])
def test_a_missing_or_empty_key_file_is_one_line_and_exit_2(tmp_path, content, reason):
    key_file = tmp_path / "key"
    if content is not None:
        key_file.write_text(content)
    done = subprocess.run([sys.executable, "-m", "connector.sandbox", "--db", ":memory:", "--api-key-file",
                           str(key_file)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"error: --api-key-file {key_file}: ") and reason in done.stderr
    assert "Traceback" not in done.stderr


def test_only_one_way_to_give_the_key():
    done = subprocess.run([sys.executable, "-m", "connector.sandbox", "--api-key", "a", "--api-key-file", "f"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "not allowed with argument" in done.stderr
