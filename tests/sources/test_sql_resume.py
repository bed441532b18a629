"""Reruns of an sql job with a state_file, against a real PostgreSQL: the result is checked block by
block as it streams (connector/state/replay.py); an unfinished job resumes only on the same rows,
a finished one sends again only what is new or changed at its place, and no event is sent twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e.e2e_support import Job, objects
from support.postgres import Postgres

from connector.sandbox import Sandbox
from sources.test_sql_cli import run, sandbox, sql_job  # noqa: F401 (sandbox: the fixture)

EVENTS = {"mode": "user_track", "track_record_type": "custom_events", "state_file": "braze.state"}
QUERY = ("SELECT external_id, 'played' AS name, to_char(at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS time, level "
         "FROM plays ORDER BY id")


@pytest.fixture()
def plays(postgres: Postgres) -> Postgres:
    postgres.execute([
        "DROP TABLE IF EXISTS plays",
        """CREATE TABLE plays AS SELECT n AS id, 'u' || (n % 97) AS external_id,
               TIMESTAMPTZ '2026-11-30 00:00:00+00' + n * INTERVAL '1 second' AS at, n % 7 AS level
           FROM generate_series(1, 3000) n""",
        "GRANT SELECT ON plays TO reader",
    ])
    return postgres


def events_job(tmp_path: Path, sandbox: Sandbox) -> Job:
    return sql_job(tmp_path, sandbox, QUERY, **EVENTS)


def sent_events(sandbox: Sandbox) -> list[tuple[str, str]]:
    return [(o["external_id"], o["time"]) for o in objects(sandbox, "/users/track")]


def test_an_unfinished_job_resumes_on_the_same_rows_and_sends_no_event_twice(tmp_path, sandbox, plays):
    job = events_job(tmp_path, sandbox)
    first = run(job, plays.url(), "--limit", "1500")      # a sample run: the job is not finished
    assert first.code == 0 and first.report["rows_delivered"] == 1500, first.stderr
    second = run(job, plays.url())
    assert second.code == 0, second.stderr
    assert second.report["rows_read"] == 3000 and second.report["rows_delivered_earlier"] == 1500
    sent = sent_events(sandbox)
    assert len(sent) == 3000 and len(set(sent)) == 3000       # every event once
    third = run(job, plays.url())                            # finished, and the same result: nothing new
    assert third.code == 0 and third.report["rows_delivered_earlier"] == 3000
    assert "compared with it" in third.stderr and len(sent_events(sandbox)) == 3000


@pytest.mark.parametrize("changed_id, first_differing, code", [(200, 1, 2), (1200, 1001, 1)])
def test_a_result_that_changed_under_an_unfinished_job_is_refused_before_its_block_is_sent(
        tmp_path, sandbox, plays, changed_id, first_differing, code):
    job = events_job(tmp_path, sandbox)
    assert run(job, plays.url(), "--limit", "1500").code == 0
    plays.execute(f"UPDATE plays SET level = level + 100 WHERE id = {changed_id}")
    refused = run(job, plays.url())
    assert refused.code == code and refused.report["status"] == "failed"
    line = [x for x in refused.stderr.splitlines() if "differs" in x]
    assert line and f"it differs from row {first_differing} on" in line[0] and "--restart" in line[0]
    assert len(sent_events(sandbox)) == 1500                 # the rows up to 1500 were delivered: none again
    restarted = run(job, plays.url(), "--restart")           # the new result as a new job, as asked
    assert restarted.code == 0 and restarted.report["rows_delivered"] == 3000


def test_after_a_finished_run_a_new_result_is_sent_from_where_it_differs(tmp_path, sandbox, plays):
    job = events_job(tmp_path, sandbox)
    assert run(job, plays.url()).code == 0 and len(sent_events(sandbox)) == 3000
    plays.execute(["UPDATE plays SET level = 99 WHERE id = 2500",
                   """INSERT INTO plays SELECT n, 'u' || (n % 97), TIMESTAMPTZ '2026-11-30 00:00:00+00'
                      + n * INTERVAL '1 second', 1 FROM generate_series(3001, 3200) n"""])
    second = run(job, plays.url())
    assert second.code == 0, second.stderr
    # blocks of 1,000: rows 1-2000 are the last run's at the same places; 2001-3200 are sent
    assert second.report["rows_delivered_earlier"] == 2000 and second.report["rows_delivered"] == 3200
    assert len(sent_events(sandbox)) == 3000 + 1200
    assert "differs from the last run's from row 2001 on" in second.stderr
    third = run(job, plays.url())                            # and that result is now the job's
    assert third.code == 0 and third.report["rows_delivered_earlier"] == 3200
    assert len(sent_events(sandbox)) == 4200


def test_a_shorter_result_after_a_finished_run_forgets_the_rows_it_no_longer_has(tmp_path, sandbox, plays):
    job = events_job(tmp_path, sandbox)
    assert run(job, plays.url()).code == 0
    plays.execute("DELETE FROM plays WHERE id > 2000")
    second = run(job, plays.url())
    assert second.code == 0 and second.report["rows_delivered_earlier"] == 2000
    assert len(sent_events(sandbox)) == 3000                 # nothing sent: the 2,000 left were delivered
    plays.execute("""INSERT INTO plays SELECT n, 'v' || n, TIMESTAMPTZ '2026-12-01 00:00:00+00', 1
                     FROM generate_series(2001, 2100) n""")
    third = run(job, plays.url())                            # rows 2001-2100 are new: the job forgot 2001-3000
    assert third.code == 0 and third.report["rows_delivered_earlier"] == 2000
    assert len(sent_events(sandbox)) == 3100


def test_check_and_run_warn_of_a_query_without_order_by(tmp_path, sandbox, plays):
    job = sql_job(tmp_path, sandbox, QUERY.replace(" ORDER BY id", ""), **EVENTS)
    checked = job.cli("check", "--config", "config.yml", env={"DATABASE_URL": plays.url()})
    ran = run(job, plays.url(), "--limit", "10")
    assert ran.code == 0, ran.stderr
    for output in (checked.stderr, ran.stderr):
        assert "input.query has no ORDER BY: with a state_file" in output
    ordered = sql_job(tmp_path, sandbox, QUERY, **EVENTS)
    assert "no ORDER BY" not in ordered.cli("check", "--config", "config.yml", env={"DATABASE_URL": plays.url()}).stderr
