"""examples/airflow: the DAG's structure (read with ast: Airflow is not installed here), its container
command run against the sandbox with the mounts mapped to folders, and its Python callable."""

import ast
import importlib.util
import json
import os
import subprocess
import sys

from examples_support import API_KEY, EXAMPLES, USERS_CSV, config_for_sandbox, read_report

DAG_FILE = EXAMPLES / "airflow" / "braze_export_dag.py"


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and getattr(n.func, "id", getattr(n.func, "attr", None)) == name]


def _kwargs(call: ast.Call) -> dict[str, ast.expr]:
    return {k.arg: k.value for k in call.keywords}


def _docker_task() -> dict:
    tree = ast.parse(DAG_FILE.read_text())
    [operator] = _calls(tree, "DockerOperator")
    kw = _kwargs(operator)
    mounts = [{k: ast.literal_eval(v) if not isinstance(v, ast.JoinedStr) else ast.unparse(v)
               for k, v in _kwargs(m).items()} for m in _calls(kw["mounts"], "Mount")]
    return {"task_id": ast.literal_eval(kw["task_id"]), "image": kw["image"], "mounts": mounts,
            "command": ast.literal_eval(kw["command"]), "environment": ast.literal_eval(kw["environment"])}


def _load_module():
    spec = importlib.util.spec_from_file_location("braze_export_dag", DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_dag_has_a_container_task_then_a_python_task():
    tree = ast.parse(DAG_FILE.read_text())
    [dag] = _calls(tree, "DAG")
    dag_kw = _kwargs(dag)
    assert ast.literal_eval(dag_kw["dag_id"]) == "braze_export"
    assert ast.literal_eval(dag_kw["catchup"]) is False and ast.literal_eval(dag_kw["max_active_runs"]) == 1
    docker = _docker_task()
    assert docker["task_id"] == "braze_export_users" and ast.unparse(docker["image"]) == "IMAGE"
    assert docker["command"][0] == "run" and "--report" in docker["command"]
    assert docker["environment"] == {"BRAZE_API_KEY": "{{ conn.braze.password }}"}
    [python_task] = [f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and any(
        isinstance(d, ast.Call) and getattr(d.func, "id", None) == "task" for d in f.decorator_list)]
    [decorator] = python_task.decorator_list
    assert ast.literal_eval(_kwargs(decorator)["task_id"]) == "braze_export_events"
    assert [c.func.id for c in _calls(python_task, "export_rows")] == ["export_rows"]
    [order] = [n for n in ast.walk(tree) if isinstance(n, ast.BinOp) and isinstance(n.op, ast.RShift)]
    assert ast.unparse(order) == "users >> braze_export_events()"


def test_the_container_command_exports_to_the_sandbox(tmp_path, sandbox):
    docker = _docker_task()
    mapped = {m["target"]: tmp_path / m["target"].strip("/") for m in docker["mounts"]}
    assert set(mapped) == {"/config", "/data", "/work"}
    assert [m.get("read_only", False) for m in docker["mounts"]] == [True, True, False]
    for folder in mapped.values():
        folder.mkdir()
    config_for_sandbox(EXAMPLES / "airflow" / "braze_users.yml", mapped["/config"] / "braze_users.yml", sandbox.url)
    (mapped["/data"] / "users.csv").write_text(USERS_CSV.read_text())

    def local(arg: str) -> str:
        for target, folder in mapped.items():
            if arg.startswith(target + "/"):
                return str(folder / arg[len(target) + 1:])
        return arg

    config = mapped["/config"] / "braze_users.yml"
    config.write_text(config.read_text().replace("/work/", f"{mapped['/work']}/"))
    env = {**os.environ, **{k: API_KEY for k in docker["environment"]}}
    proc = subprocess.run([sys.executable, "-m", "connector", *map(local, docker["command"])],
                          cwd=mapped["/work"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert API_KEY not in proc.stdout + proc.stderr
    report = read_report(mapped["/work"] / "report.json")
    assert (report["status"], report["rows_delivered"]) == ("success", 20)
    attributes = sandbox.user(external_id="u-1002")["attributes"]
    assert (attributes["loyalty_points"], attributes["is_vip"], attributes["tags"]) == (80, False, ["newsletter"])


def test_the_dag_file_imports_without_airflow_and_its_callable_exports(tmp_path, sandbox, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = _load_module()
    assert module.DAG is None and not hasattr(module, "dag")
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps({"external_id": f"u{i}", "name": "watched", "time": "2026-11-01T10:00:00Z",
                                          "minutes": i}) + "\n" for i in range(1, 6))
                      + json.dumps({"external_id": "u9", "time": "2026-11-01T10:00:00Z"}) + "\n")
    config = module.events_config(API_KEY, endpoint=sandbox.url, reject_file=str(tmp_path / "rejected.jsonl"))
    result = module.export_rows(module.read_rows(str(events)), config, report_path=str(tmp_path / "report.json"))
    assert (result["status"], result["exit_code"], result["rows_delivered"], result["rows_skipped"]) == \
        ("partial", 0, 5, 1)
    assert json.dumps(result) and API_KEY not in json.dumps(result)
    assert sorted(e["object"]["properties"]["minutes"] for e in sandbox.received("/users/track")) == [1, 2, 3, 4, 5]
    assert read_report(tmp_path / "report.json")["rows_read"] == 6


def test_the_callable_raises_when_braze_rejects_rows(tmp_path, sandbox, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = _load_module()
    sandbox.set_faults(script=[{"status": 201, "body": {
        "message": "success", "errors": [{"type": "INVALID_EVENT", "input_array": "events", "index": 0}]}}])
    config = {**module.events_config(API_KEY, endpoint=sandbox.url), "skip_on_invalid_records": False}
    rows = [{"external_id": "u1", "name": "watched", "time": "2026-11-01T10:00:00Z"}]
    try:
        module.export_rows(iter(rows), config)
    except RuntimeError as exc:
        assert "rejected 1 of 1 rows" in str(exc)
    else:
        raise AssertionError("export_rows did not raise on a rejection")
