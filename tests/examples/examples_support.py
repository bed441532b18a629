"""Helpers of the scheduler-example tests: where the examples are, and configs pointed at a sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

API_KEY = "examples-test-key-61d0a9e3c4"
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
USERS_CSV = EXAMPLES / "data" / "users.csv"


def config_for_sandbox(source: Path, target: Path, url: str) -> dict[str, Any]:
    """Copy a YAML config, with its endpoint replaced by the sandbox's URL; returns the mapping."""
    data = yaml.safe_load(source.read_text())
    assert data["endpoint"] == "US-03", "the example should point at a real Braze instance"
    data["endpoint"] = url
    target.write_text(yaml.safe_dump(data))
    return data


def users_csv_with_an_invalid_row(target: Path) -> int:
    """The example users, plus one row without any identifier; returns the row count."""
    text = USERS_CSV.read_text()
    if not text.endswith("\n"):
        text += "\n"
    target.write_text(text + ',Nobody,,US,1,false,"[]"\n')
    return len(text.splitlines())  # header + 20 rows, + 1 invalid = 21 rows


def read_report(path: Path) -> dict[str, Any]:
    report = json.loads(path.read_text())
    assert report["rows_read"] == (report["rows_delivered"] + report["rows_skipped"]
                                   + report["rows_rejected"] + report["rows_failed"])
    return report
