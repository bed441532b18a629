"""End-to-end helpers: the real CLI in a subprocess on a folder holding a config and an input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from connector.sandbox import Sandbox

API_KEY = "e2e-test-key-5f0c2d9a7b"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None
    rejected: list[dict[str, Any]]

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class Job:
    """A working folder with a config and an input; `run()` calls the real CLI on them."""

    def __init__(self, folder: Path, sandbox: Sandbox | None) -> None:
        self.folder = folder
        self.sandbox = sandbox

    def config(self, **settings: Any) -> Path:
        base: dict[str, Any] = {"api_key": "${BRAZE_API_KEY}", "concurrency": 2}
        if self.sandbox is not None:
            base["endpoint"] = self.sandbox.url
        base.update(settings)
        path = self.folder / "config.yml"
        path.write_text(yaml.safe_dump(base))
        return path

    def write(self, name: str, text: str) -> Path:
        path = self.folder / name
        path.write_text(text)
        return path

    def cli(self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
        full_env = {**os.environ, "BRAZE_API_KEY": API_KEY, **(env or {})}
        return subprocess.run([sys.executable, "-m", "connector", *args], cwd=self.folder,
                              input=stdin, capture_output=True, text=True, env=full_env, timeout=timeout)

    def run(self, *extra: str, stdin: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> Run:
        report = self.folder / "report.json"
        report.unlink(missing_ok=True)
        proc = self.cli("run", "--config", "config.yml", "--report", "report.json", *extra,
                        stdin=stdin, env=env, timeout=timeout)
        rejected_path = self.folder / "rejected.jsonl"
        rejected = [json.loads(line) for line in rejected_path.read_text().splitlines()] if rejected_path.exists() else []
        result = Run(proc.returncode, proc.stdout, proc.stderr,
                     json.loads(report.read_text()) if report.exists() else None, rejected)
        assert API_KEY not in result.output, "the API key leaked into the output"
        if result.report is not None:
            r = result.report
            assert r["rows_read"] == r["rows_delivered"] + r["rows_skipped"] + r["rows_rejected"] + r["rows_failed"]
            assert API_KEY not in json.dumps(r)
        return result


def objects(sandbox: Sandbox, path: str | None = None) -> list[Any]:
    """What the server received and accepted, in order."""
    return [r["object"] for r in sandbox.received(path)]


def retries_logged(stderr: str) -> int:
    """The retries the text log tells of: each first retry said at once ('warning: retry 1/6 of ...'),
    and the later ones summed up ('warning: 58 retries in the last 10 s ...')."""
    import re

    said = len(re.findall(r"warning: retry \d+/\d+ of ", stderr))
    summed = sum(int(n) for n in re.findall(r"warning: (\d+) retries in the last ", stderr))
    return said + summed
