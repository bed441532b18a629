"""examples/cron: the crontab line, parsed and run by /bin/sh against the sandbox: a run, a
rejection logged by exit code, and a run skipped because the previous one holds the lock."""

import fcntl
import subprocess

import pytest

from examples_support import API_KEY, EXAMPLES, USERS_CSV, config_for_sandbox, read_report

CRONTAB = EXAMPLES / "cron" / "braze-export.cron"


def _parse(text: str) -> tuple[dict[str, str], list[tuple[list[str], str]]]:
    """(environment assignments, [(five schedule fields, command)]) of a crontab."""
    env: dict[str, str] = {}
    jobs: list[tuple[list[str], str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        head = line.split(None, 1)[0]
        if "=" in head and head.split("=", 1)[0].isidentifier():
            name, value = line.split("=", 1)
            env[name.strip()] = value.strip()
        else:
            *fields, command = line.split(None, 5)
            jobs.append((fields, command))
    return env, jobs


def test_the_crontab_has_one_locked_job_with_a_report():
    env, jobs = _parse(CRONTAB.read_text())
    assert env["SHELL"] == "/bin/sh" and "BRAZE_EXPORT_HOME" in env
    [(fields, command)] = jobs
    assert fields == ["15", "2", "*", "*", "*"]
    assert "%" not in command                       # cron would turn it into a newline
    assert "flock -n -E 75 " in command and "braze-export run --config braze.yml --report last-run.json" in command


@pytest.fixture
def home(tmp_path, sandbox):
    folder = tmp_path / "home"
    folder.mkdir()
    config_for_sandbox(EXAMPLES / "cron" / "braze.yml", folder / "braze.yml", sandbox.url)
    (folder / "api_key").write_text(API_KEY + "\n")
    (folder / "users.csv").write_text(USERS_CSV.read_text())
    return folder


def _run(home, base_path, tmp_path) -> tuple[subprocess.CompletedProcess, list[str]]:
    env, [(_, command)] = _parse(CRONTAB.read_text())
    env.update(BRAZE_EXPORT_HOME=str(home), PATH=f"{base_path}:{env['PATH']}", LOGGER_OUT=str(tmp_path / "syslog"))
    proc = subprocess.run([env["SHELL"], "-c", command], env=env, capture_output=True, text=True, timeout=60)
    syslog = tmp_path / "syslog"
    return proc, syslog.read_text().splitlines() if syslog.exists() else []


def test_a_run_delivers_reports_and_logs_nothing_to_syslog(home, sandbox, base_path, tmp_path):
    proc, syslog = _run(home, base_path, tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr, syslog) == (0, "", "", [])
    report = read_report(home / "last-run.json")
    assert (report["status"], report["rows_delivered"]) == ("success", 20)
    log = (home / "braze-export.log").read_text()
    assert "success: 20 rows read, 20 delivered" in log and API_KEY not in log
    assert sandbox.user(external_id="u-1001")["attributes"]["loyalty_points"] == 1250


def test_rejected_rows_are_logged_with_their_exit_code(home, sandbox, base_path, tmp_path):
    sandbox.set_faults(script=[{"status": 201, "body": {
        "message": "success", "errors": [{"type": "BAD_EMAIL", "input_array": "attributes", "index": 0}]}}])
    proc, syslog = _run(home, base_path, tmp_path)
    assert proc.returncode == 0
    assert syslog == [f"-t braze-export -p user.warning finished, but Braze rejected rows (exit 3): "
                      f"see {home}/rejected.jsonl"]
    assert read_report(home / "last-run.json")["rows_rejected"] == 1


def test_a_run_is_skipped_while_the_previous_one_holds_the_lock(home, sandbox, base_path, tmp_path):
    with open(home / "braze-export.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        proc, syslog = _run(home, base_path, tmp_path)
    assert proc.returncode == 0
    assert syslog == ["-t braze-export skipped: the previous run still holds the lock"]
    assert sandbox.requests() == [] and not (home / "last-run.json").exists()


def test_a_config_error_is_logged_as_such(home, sandbox, base_path, tmp_path):
    (home / "api_key").unlink()
    proc, syslog = _run(home, base_path, tmp_path)
    assert syslog == [f"-t braze-export -p user.err config error, nothing sent (exit 2): see {home}/braze-export.log"]
    assert "api_key_file" in (home / "braze-export.log").read_text()
    assert sandbox.requests() == []
