"""examples/subscription.yml, merge.yml and rename.yml run as their comments say, after the quickstart,
against the in-process sandbox (`endpoint: sandbox`), and do what they promise."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GROUP = "3f2b6a4e-8c1d-4e5f-9a7b-0c1d2e3f4a5b"


def _cli(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "connector", *args], cwd=folder, capture_output=True, text=True,
                          timeout=60)


def test_the_mode_examples_run_in_their_order(tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    for name in ("quickstart", "subscription", "merge", "rename"):
        run = _cli(tmp_path, "run", "--config", f"examples/{name}.yml", "--report", f"{name}.json")
        assert run.returncode == 0, (name, run.stderr)
        report = json.loads((tmp_path / f"{name}.json").read_text())
        assert report["status"] == "success" and report["rows_delivered"] == report["rows_read"] > 0, name
    dry = _cli(tmp_path, "run", "--config", "examples/merge.yml", "--dry-run")
    assert "dry run: row 1 would merge external_id u-1019 into external_id u-1002" in dry.stderr

    show = _cli(tmp_path, "sandbox", "show", "--json")
    assert show.returncode == 0, show.stderr
    users = {u["external_id"]: u for u in json.loads(show.stdout)["users"] if u["external_id"]}
    assert users["u-1001"]["subscriptions"] == {GROUP: "subscribed"}
    assert users["u-1002"]["subscriptions"] == {GROUP: "unsubscribed"}
    assert "u-1019" not in users                                    # merged into u-1002
    assert users["crm-000003"]["deprecated_external_ids"] == ["u-1003"]
    assert users["u-1005"]["email"] == "olivia.brown@example.co.uk"   # the kept profile keeps its own email
