"""The README's quick start, as a new user runs it: the bundled example against the sandbox."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_quick_start_command_runs_offline(tmp_path):
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"&& braze-export (run --config examples/quickstart\.yml[^\n`]*)", readme).group(1)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    run = subprocess.run([sys.executable, "-m", "connector", *command.split()], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert (report["status"], report["rows_read"], report["rows_delivered"]) == ("success", 20, 20)

    show = subprocess.run([sys.executable, "-m", "connector", "sandbox", "show", "--json"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert show.returncode == 0, show.stderr
    assert '"u-1001"' in show.stdout and "Amelia" in show.stdout
