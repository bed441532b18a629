"""examples/digdag/braze_unsubscribe.dig: the users of a query unsubscribed from one group, run as Digdag
would run its sh> task, against the sandbox."""

import json
import subprocess

import yaml

from examples_support import API_KEY, EXAMPLES, config_for_sandbox, read_report
from test_example_digdag import _task_environment

DIG = EXAMPLES / "digdag" / "braze_unsubscribe.dig"
GROUP = "3f2b6a4e-8c1d-4e5f-9a7b-0c1d2e3f4a5b"


def test_the_workflow_names_the_group_and_the_query_gives_the_state():
    workflow = yaml.safe_load(DIG.read_text())
    settings = workflow["+unsubscribe"]["_export"]["result_settings"]
    assert settings == {"mode": "user_subscription", "subscription_group_id": GROUP, "skip_on_invalid_records": True}
    query = (EXAMPLES / "digdag" / workflow["+query"]["td>"]).read_text()
    assert "AS external_id" in query and "'unsubscribed' AS subscription_state" in query
    command = workflow["+unsubscribe"]["sh>"]
    assert '--settings "$result_settings"' in command and workflow["+query"]["download_file"] in command


def test_the_sh_task_unsubscribes_the_users_of_the_query(tmp_path, sandbox, base_path):
    workflow = yaml.safe_load(DIG.read_text())
    task = workflow["+unsubscribe"]
    config_for_sandbox(EXAMPLES / "digdag" / "connection.yml", tmp_path / "connection.yml", sandbox.url)
    (tmp_path / "seed.csv").write_text("external_id\nc-1\nc-2\n")   # the profiles (Braze ignores unknown ids)
    seed = subprocess.run(["braze-export", "run", "--config", "connection.yml", "--input", "seed.csv", "--settings",
                           '{"mode": "user_track", "track_record_type": "user_profile_attributes"}'],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={"PATH": base_path, "BRAZE_API_KEY": API_KEY})
    assert seed.returncode == 0, seed.stderr
    (tmp_path / workflow["+query"]["download_file"]).write_text(
        "external_id,subscription_state\nc-1,unsubscribed\nc-2,unsubscribed\n,unsubscribed\n")
    env = {"PATH": base_path, **_task_environment(workflow, task)}
    proc = subprocess.run(["/bin/sh"], input=task["sh>"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert API_KEY not in proc.stdout + proc.stderr
    report = read_report(tmp_path / "braze-unsubscribe-report.json")
    assert (report["rows_read"], report["rows_delivered"], report["rows_skipped"]) == (3, 2, 1)
    assert sandbox.subscription(GROUP, external_id="c-1") == "unsubscribed"
    assert sandbox.subscription(GROUP, external_id="c-2") == "unsubscribed"
    [skipped] = [json.loads(line) for line in (tmp_path / "rejected.jsonl").read_text().splitlines()]
    assert (skipped["row"], skipped["outcome"]) == (3, "skipped")
