"""spec, check, preview and --dry-run through the real CLI."""

from __future__ import annotations

import json

from e2e_support import API_KEY
from support.ports import refusing_port

ATTRS = {"mode": "user_track", "track_record_type": "user_profile_attributes"}


def test_spec_prints_the_schema(job):
    proc = job.cli("spec")
    assert proc.returncode == 0
    schema = json.loads(proc.stdout)
    assert schema["properties"]["api_key"]["writeOnly"] is True
    assert schema["properties"]["mode"]["enum"] == ["user_new_alias", "user_identifying", "user_track", "user_delete",
                                                    "user_subscription", "user_merge", "user_rename_external_id"]


def test_check_tells_a_good_key_from_a_bad_one_and_sends_no_user_data(job, sandbox):
    job.write("u.csv", "external_id,city\nu1,Oslo\n")
    job.config(**ATTRS, input={"path": "u.csv"})
    good = job.cli("check", "--config", "config.yml")
    assert good.returncode == 0, good.stderr
    assert "accepted" in good.stderr
    bad = job.cli("check", "--config", "config.yml", env={"BRAZE_API_KEY": "bad-key-123"})
    assert bad.returncode == 1 and "refused" in bad.stderr
    assert "bad-key-123" not in bad.stderr and API_KEY not in good.stderr
    assert [r["status"] for r in sandbox.requests()] == [400, 401]   # 401 bodies are not read
    assert sandbox.requests()[0]["body"] == {}
    assert sandbox.received() == []


def test_check_finds_a_header_that_cannot_serve_the_mode(job, sandbox):
    job.write("e.csv", "external_id,name\nu1,x\n")
    job.config(mode="user_track", track_record_type="custom_events", input={"path": "e.csv"})
    proc = job.cli("check", "--config", "config.yml")
    assert proc.returncode == 2 and "time" in proc.stderr
    assert sandbox.requests() == []


def test_check_with_an_unreachable_endpoint(job):
    with refusing_port() as port:
        job.write("u.csv", "external_id\nu1\n")
        job.config(**ATTRS, endpoint=f"http://127.0.0.1:{port}", input={"path": "u.csv"})
        proc = job.cli("check", "--config", "config.yml")
        assert proc.returncode == 0 and "not reachable" in proc.stderr


def test_preview_prints_bodies_without_network(job):
    job.write("u.csv", "external_id,city\nu1,Oslo\nu2,\nu3,Rome\n")
    job.config(**ATTRS, endpoint="http://127.0.0.1:9", input={"path": "u.csv"})   # nothing listens
    proc = job.cli("preview", "--config", "config.yml", "--limit", "2")
    assert proc.returncode == 0, proc.stderr
    header, body = proc.stdout.split("\n", 1)
    assert header.startswith("POST /users/track")
    assert json.loads(body) == {"attributes": [{"external_id": "u1", "city": "Oslo"}, {"external_id": "u2"}]}


def test_dry_run_sends_nothing(job, sandbox):
    job.write("u.csv", "external_id,city\nu1,Oslo\nu2,Rome\n")
    job.config(**ATTRS, input={"path": "u.csv"})
    run = job.run("--dry-run")
    assert run.code == 0, run.output
    assert sandbox.requests() == []
    assert run.report["dry_run"] is True and run.report["rows_read"] == 2
    assert "nothing was sent" in run.stderr


def test_settings_json_over_a_connection_config(job, sandbox):
    job.write("u.csv", "external_id,city\nu1,Oslo\n")
    job.config(input={"path": "u.csv"})
    run = job.run("--settings", json.dumps({**ATTRS, "skip_on_invalid_records": True}))
    assert run.code == 0, run.output
    assert sandbox.received()[0]["object"] == {"external_id": "u1", "city": "Oslo"}


def test_config_and_settings_from_the_environment(job, sandbox):
    job.write("u.csv", "external_id,city\nu1,Oslo\n")
    job.config(input={"path": "u.csv"})
    proc = job.cli("run", env={"BRAZE_EXPORT_CONFIG": "config.yml",
                               "BRAZE_EXPORT_SETTINGS": json.dumps(ATTRS)})
    assert proc.returncode == 0, proc.stderr
    assert sandbox.received()[0]["object"] == {"external_id": "u1", "city": "Oslo"}
