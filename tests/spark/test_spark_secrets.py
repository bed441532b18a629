"""The API key is in no Spark log, plan or UI string: a whole Spark application (its own process, INFO
logs, the event log, the UI on loopback) writes with the key in the environment and in a key file."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from connector.sandbox import Sandbox

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def test_the_key_is_in_no_log_plan_event_log_or_ui_page(tmp_path):
    key = "spark-secret-" + secrets.token_hex(12)
    key_file = tmp_path / "braze.key"
    key_file.write_text(key + "\n")
    events = tmp_path / "events"
    events.mkdir()
    env = {**os.environ, "BRAZE_API_KEY": key, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)])}
    with Sandbox(api_key=key) as sandbox:
        proc = subprocess.run([sys.executable, str(HERE / "secret_job.py"), sandbox.url, str(key_file),
                               str(tmp_path), str(events)], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=300, check=False)
        delivered = len(sandbox.received("/users/track"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert delivered == 4_000 and "failed as it should: partition" in proc.stdout

    texts = {"stdout": proc.stdout, "stderr": proc.stderr}
    for path in [*events.rglob("*"), *tmp_path.glob("*.json"), *tmp_path.glob("*.jsonl")]:
        if path.is_file():
            texts[str(path)] = path.read_text(errors="replace")
    event_log = "".join(text for name, text in texts.items() if name.startswith(str(events)))
    assert event_log.count('"physicalPlanDescription":"== Physical Plan ==\\nAppendData braze') == 3, \
        "the event log holds the three writes' plans"
    assert "AppendData braze" in texts[str(tmp_path / "ui.json")], "the UI's SQL pages were read"
    assert " INFO " in proc.stderr and "== Physical Plan ==" in proc.stdout, "Spark logged at INFO; explain ran"
    leaks = [name for name, text in texts.items() if key in text]
    assert not leaks, f"the key is in {leaks}"
