"""examples/digdag: the workflow's sh> task, run as Digdag would run it, against the sandbox."""

import json
import subprocess

import yaml

from examples_support import API_KEY, EXAMPLES, config_for_sandbox, read_report, users_csv_with_an_invalid_row

DIG = EXAMPLES / "digdag" / "braze_export.dig"


def _task_environment(workflow: dict, task: dict) -> dict[str, str]:
    """What Digdag's sh> puts in the environment: every parameter, text as is, anything else as JSON."""
    params = {**workflow.get("_export", {}), **task.get("_export", {})}
    params.update({k: v for k, v in task.items() if not k.startswith(("_", "+")) and not k.endswith(">")})
    env = {k: v if isinstance(v, str) else json.dumps(v, separators=(",", ":")) for k, v in params.items()}
    secrets = {"${secret:braze.api_key}": API_KEY}
    env.update({k: secrets[v] for k, v in task.get("_env", {}).items()})
    return env


def test_the_workflow_passes_treasure_data_result_settings():
    workflow = yaml.safe_load(DIG.read_text())
    export = workflow["+export"]
    settings = export["_export"]["result_settings"]
    assert set(settings) == {"mode", "track_record_type", "pre_formatted_fields", "skip_on_invalid_records"}
    assert settings["skip_on_invalid_records"] is True and settings["pre_formatted_fields"] == ["tags"]
    command = export["sh>"]
    assert command.startswith("braze-export run --config connection.yml ")
    assert '--settings "$result_settings"' in command and "${" not in command   # no Digdag template
    assert workflow["+query"]["download_file"] in command


def test_the_sh_task_exports_the_query_result_to_the_sandbox(tmp_path, sandbox, base_path):
    workflow = yaml.safe_load(DIG.read_text())
    task = workflow["+export"]
    config_for_sandbox(EXAMPLES / "digdag" / "connection.yml", tmp_path / "connection.yml", sandbox.url)
    users_csv_with_an_invalid_row(tmp_path / workflow["+query"]["download_file"])
    env = {"PATH": base_path, **_task_environment(workflow, task)}
    assert json.loads(env["result_settings"])["skip_on_invalid_records"] is True
    proc = subprocess.run(["/bin/sh"], input=task["sh>"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert API_KEY not in proc.stdout + proc.stderr
    report = read_report(tmp_path / "braze-report.json")
    assert (report["status"], report["rows_read"], report["rows_delivered"], report["rows_skipped"]) == \
        ("partial", 21, 20, 1)
    profile = sandbox.user(external_id="u-1001")
    assert profile["attributes"]["tags"] == ["newsletter", "early_adopter"]   # pre_formatted_fields applied
    assert profile["attributes"]["loyalty_points"] == 1250 and profile["attributes"]["is_vip"] is True  # declared
    [skipped] = [json.loads(line) for line in (tmp_path / "rejected.jsonl").read_text().splitlines()]
    assert (skipped["row"], skipped["outcome"]) == (21, "skipped")
