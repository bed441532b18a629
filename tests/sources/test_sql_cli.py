"""The real CLI on sql and parquet inputs against the sandbox: delivery, each failure's line and exit code, no secret."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from e2e.e2e_support import API_KEY, Job, Run, objects
from support.ports import refusing_port
from support.postgres import READER_PASSWORD, Postgres

from connector.sandbox import Sandbox

ATTRIBUTES = {"mode": "user_track", "track_record_type": "user_profile_attributes"}


@pytest.fixture(scope="module")
def pg(postgres: Postgres) -> Postgres:
    postgres.execute([
        "DROP TABLE IF EXISTS cli_users, cli_audit",
        """CREATE TABLE cli_users AS SELECT * FROM (VALUES
            ('u1', 'Ada', 120::bigint, 9.50::numeric(6, 2), true, TIMESTAMPTZ '2024-05-01 12:00:00+02',
             '{"tier": "gold", "langs": ["en", "fr"]}'::jsonb, NULL::bytea),
            ('u2', 'Bob', NULL, 3.00, false, NULL, NULL, NULL),
            ('u3', 'Cy', 7, 1.25, NULL, NULL, NULL, '\\x00ff'::bytea)
        ) t(external_id, first_name, points, balance, is_vip, last_seen, profile, avatar)""",
        "CREATE TABLE cli_audit (n int)",
        "GRANT SELECT, INSERT, DELETE ON cli_users, cli_audit TO reader",
    ])
    return postgres


@pytest.fixture()
def sandbox(tmp_path: Path):
    with Sandbox(api_key=API_KEY, db_path=str(tmp_path / "sandbox.db")) as sb:
        yield sb


def sql_job(tmp_path: Path, sandbox: Sandbox, query: str, **settings: Any) -> Job:
    job = Job(tmp_path, sandbox)
    input_keys = {"format": "sql", "url": "${DATABASE_URL}", "query": query, **settings.pop("input", {})}
    job.config(**{**ATTRIBUTES, **settings}, input=input_keys)
    return job


def run(job: Job, url: str, *extra: str) -> Run:
    result = job.run(*extra, env={"DATABASE_URL": url})
    secrets = [READER_PASSWORD, url]
    texts = [result.output, json.dumps(result.report), json.dumps(result.rejected)]
    for path in job.folder.glob("*.state*"):
        texts.append(path.read_bytes().decode("latin-1"))
    for text in texts:
        for secret in secrets:
            assert secret not in text, "a database secret leaked"
    assert "Traceback" not in result.output
    return result


def error_line(result: Run) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("braze-export: error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_rows_from_postgresql_reach_braze_with_their_types(tmp_path: Path, sandbox: Sandbox, pg: Postgres) -> None:
    job = sql_job(tmp_path, sandbox, "SELECT * FROM cli_users WHERE avatar IS NULL ORDER BY external_id")
    result = run(job, pg.url())
    assert result.code == 0, result.stderr
    assert result.report["rows_read"] == 2 and result.report["rows_delivered"] == 2
    sent = {o["external_id"]: o for o in objects(sandbox)}
    assert sent["u1"] == {"external_id": "u1", "first_name": "Ada", "points": 120, "balance": 9.5, "is_vip": True,
                          "last_seen": "2024-05-01T10:00:00Z", "profile": {"tier": "gold", "langs": ["en", "fr"]}}
    assert sent["u2"] == {"external_id": "u2", "first_name": "Bob", "balance": 3, "is_vip": False}
    shown = subprocess.run([sys.executable, "-m", "connector", "sandbox", "show", "--db", str(tmp_path / "sandbox.db")],
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and "Ada" in shown.stdout and READER_PASSWORD not in shown.stdout


def test_an_invalid_value_is_skipped_into_the_rejected_rows_file(tmp_path: Path, sandbox: Sandbox, pg: Postgres) -> None:
    job = sql_job(tmp_path, sandbox, "SELECT external_id, points, avatar FROM cli_users ORDER BY 1",
                  skip_on_invalid_records=True)
    result = run(job, pg.url())
    assert result.code == 0 and result.report["rows_skipped"] == 1 and result.report["rows_delivered"] == 2
    [rejected] = result.rejected
    assert rejected["row"] == 3 and rejected["outcome"] == "skipped"
    assert rejected["reason"].startswith("column avatar: is binary data (2 bytes)")
    assert rejected["values"] == {"external_id": "u3", "points": 7, "avatar": None}


def test_a_wrong_password(tmp_path: Path, sandbox: Sandbox, pg: Postgres) -> None:
    result = run(sql_job(tmp_path, sandbox, "SELECT * FROM cli_users"), pg.url(password="Wr0ng-Secret-pw"))
    assert result.code == 1 and result.report["status"] == "failed" and result.report["rows_read"] == 0
    assert error_line(result).endswith(f"cannot connect to the database (postgresql at 127.0.0.1:{pg.port}, "
                                       "database braze_test): the user name or password was refused")
    assert "Wr0ng-Secret-pw" not in result.output + json.dumps(result.report)
    assert sandbox.received() == []


def test_a_refused_connection(tmp_path: Path, sandbox: Sandbox, pg: Postgres) -> None:
    with refusing_port() as port:
        result = run(sql_job(tmp_path, sandbox, "SELECT 1 AS external_id"), pg.url(port=port))
        assert result.code == 1 and result.report["status"] == "failed"
        assert error_line(result).endswith(f"cannot connect to the database (postgresql at 127.0.0.1:{port}, database "
                                           "braze_test): the connection was refused (is the server running and "
                                           "listening on that port?)")


def test_a_syntax_error(tmp_path: Path, sandbox: Sandbox, pg: Postgres) -> None:
    result = run(sql_job(tmp_path, sandbox, "SELECT external_id FROM cli_users WHERE"), pg.url())
    assert result.code == 1 and result.report["status"] == "failed"
    assert error_line(result).endswith(f"the query failed (postgresql at 127.0.0.1:{pg.port}, database braze_test): "
                                       "syntax error at end of input (SQLSTATE 42601)")


def test_a_timeout(tmp_path: Path, sandbox: Sandbox, pg: Postgres) -> None:
    job = sql_job(tmp_path, sandbox, "SELECT 'u1' AS external_id, pg_sleep(5) AS slept",
                  input={"query_timeout_seconds": 1})
    result = run(job, pg.url())
    assert result.code == 1 and result.report["status"] == "failed"
    assert "the query was cancelled: it ran longer than input.query_timeout_seconds (1 s)" in error_line(result)


@pytest.mark.parametrize("query", [
    "WITH gone AS (DELETE FROM cli_users RETURNING *) SELECT * FROM gone",
    "SELECT * FROM cli_users FOR UPDATE",
    "DELETE FROM cli_users",
])
def test_a_query_that_writes_is_refused_before_anything_is_sent(tmp_path: Path, sandbox: Sandbox, pg: Postgres,
                                                                 query: str) -> None:
    result = run(sql_job(tmp_path, sandbox, query), pg.url())
    assert result.code == 2 and result.report["status"] == "failed"
    assert "input.query: the query must" in error_line(result)
    assert pg.query("SELECT count(*) FROM cli_users") == [(3,)] and sandbox.received() == []


def test_a_function_with_side_effects_fails_at_run_time(tmp_path: Path, sandbox: Sandbox, pg: Postgres) -> None:
    pg.execute("""CREATE OR REPLACE FUNCTION cli_bump() RETURNS text LANGUAGE sql AS
                  $$ INSERT INTO cli_audit VALUES (1) RETURNING 'u1' $$""")
    result = run(sql_job(tmp_path, sandbox, "SELECT cli_bump() AS external_id"), pg.url())
    assert result.code == 1 and "read-only transaction refused it" in error_line(result)
    assert pg.query("SELECT count(*) FROM cli_audit") == [(0,)]


@pytest.mark.parametrize("url, words", [
    ("snowflake://me:Sn0w-Secret@account/db", "input.url: the driver for snowflake is not installed: "
                                              "pip install 'braze-export[snowflake]'"),
    ("db.example.com:5432/crm?password=Sn0w-Secret", "input.url: is not an SQLAlchemy URL"),
])
def test_a_missing_driver_or_a_bad_url_is_a_config_error(tmp_path: Path, sandbox: Sandbox, url: str, words: str) -> None:
    result = run(sql_job(tmp_path, sandbox, "SELECT 1"), url)
    assert result.code == 2 and result.report["status"] == "failed"
    assert words in error_line(result) and "Sn0w-Secret" not in result.output + json.dumps(result.report)


def test_a_rerun_with_a_state_file_does_not_crash(tmp_path: Path, sandbox: Sandbox, pg: Postgres) -> None:
    job = sql_job(tmp_path, sandbox, "SELECT external_id, points FROM cli_users ORDER BY 1",
                  state_file="braze.state", delta=True)
    first, second = run(job, pg.url()), run(job, pg.url())
    assert (first.code, second.code) == (0, 0), second.stderr
    assert first.report["rows_delivered"] == 3 and second.report["rows_delivered_earlier"] == 3
    assert len(objects(sandbox)) == 3   # the same result as the finished run's: nothing to send


def test_preview_and_workers(tmp_path: Path, sandbox: Sandbox, pg: Postgres) -> None:
    job = sql_job(tmp_path, sandbox, "SELECT external_id, points FROM cli_users WHERE points IS NOT NULL ORDER BY 1")
    shown = job.cli("preview", "--config", "config.yml", env={"DATABASE_URL": pg.url()})
    assert shown.returncode == 0 and '"external_id": "u1"' in shown.stdout and READER_PASSWORD not in shown.stdout
    sql_job(tmp_path, sandbox, "SELECT 1", workers=2)
    refused = run(job, pg.url())
    assert refused.code == 2 and "workers: more than 1 needs a csv, tsv or jsonl input (the format is sql)" in refused.stderr


def test_a_parquet_folder_end_to_end_and_resumed(tmp_path: Path, sandbox: Sandbox) -> None:
    folder = tmp_path / "export"
    for n in range(3):
        part = folder / f"part-{n:05d}.parquet"
        part.parent.mkdir(exist_ok=True)
        pq.write_table(pa.table({"external_id": [f"p{n}a", f"p{n}b"],
                                 "prefs": pa.array([{"email": True, "tags": ["x"]}, None]),
                                 "score": pa.array([n, None], pa.int64())}), part)
    job = Job(tmp_path, sandbox)
    job.config(**ATTRIBUTES, input={"format": "parquet", "path": "export"}, state_file="braze.state")
    first = run(job, "unused://")
    assert first.code == 0 and first.report["rows_delivered"] == 6, first.stderr
    sent = {o["external_id"]: o for o in objects(sandbox)}   # lanes deliver users in any order
    assert sent["p0a"] == {"external_id": "p0a", "prefs": {"email": True, "tags": ["x"]}, "score": 0}
    assert sent["p2b"] == {"external_id": "p2b"} and len(sent) == 6
    second = run(job, "unused://")
    assert second.code == 0 and "already run to its end" in second.stderr
    assert len(objects(sandbox)) == 6   # the folder's parts were recognised: nothing sent again
