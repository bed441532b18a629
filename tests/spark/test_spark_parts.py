"""The Spark rooms without Spark: options typed by the schema, the budget's division, retry keys, the
attempt lock, a task run on Arrow batches against the sandbox, and the driver's sum of outcomes."""

from __future__ import annotations

import json
import os
import random
import threading
import zlib
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from connector.errors import ConfigError, InvalidRow
from connector.modes import card_for
from connector.sandbox import Sandbox
from connector.spark.budget import tasks_at_once, task_settings
from connector.spark.commit import finish
from connector.spark.folder import AttemptLock, JobFolder
from connector.spark.options import option_value, parse_options
from connector.spark.rows import RetryKeys, arrow_rows
from connector.spark.task import TaskInfo, TaskOutcome, run_task

KEY = "parts-test-key-5f0c2a"
EVENTS = {"mode": "user_track", "track_record_type": "custom_events", "api_key": "${BRAZE_API_KEY}"}


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("BRAZE_API_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def options(endpoint: str = "http://127.0.0.1:9", **more: str) -> dict[str, str]:
    return {"endpoint": endpoint, **EVENTS, **more}


def test_each_option_takes_the_type_the_schema_gives_its_key():
    assert option_value("skip_on_invalid_records", "true") is True
    assert option_value("concurrency", "4") == 4
    assert option_value("requests_per_second", "0.5") == 0.5
    assert option_value("reject_file", "on") == "on"        # a string key keeps its text, even YAML's booleans
    assert option_value("pre_formatted_fields", "a,b") == "a,b"
    assert option_value("pre_formatted_fields", "[a, b]") == ["a", "b"]


def test_the_options_lie_over_the_config_file_and_are_checked_by_the_schema(env):
    (env / "braze.yml").write_text("endpoint: US-01\nmode: user_track\ntrack_record_type: purchases\n"
                                   "api_key: ${BRAZE_API_KEY}\nbatch_size: 50\n")
    job = parse_options({"config": "braze.yml", "track_record_type": "custom_events", "Concurrency": "2"}, str(env))
    settings = job.settings()
    assert (settings.track_record_type, settings.batch_size, settings.concurrency) == ("custom_events", 50, 2)
    assert job.data["api_key"] == "${BRAZE_API_KEY}", "the key is expanded where it is used, not shipped"
    assert job.reject_file == str(env / "rejected.jsonl") and not job.job_id_given
    with pytest.raises(ConfigError, match="skip_on_invalid_records"):
        parse_options(options(skip_on_invalid_records="maybe"), str(env))


@pytest.mark.parametrize("key, value, words", [
    ("input.format", "csv", "input: on Spark the DataFrame is the input"),
    ("workers", "2", "workers: on Spark the DataFrame's partitions"),
    ("delta", "true", "delta: needs one state file"),
    ("dedupe_key", "id", "dedupe_key: needs one state file"),
    ("sync_log.url", "sqlite:///log.db", "sync_log: is written by braze-export run"),
    ("notify.url", "https://hooks.example.com/x", "notify: is sent by braze-export run"),
    ("max_failed_ratio", "0.1", "max_failed_ratio: would be judged per partition"),
    ("on_removed", "unset", "on_removed: needs one state file"),
    ("endpoint", "sandbox", "endpoint: sandbox starts a server inside one process"),
    ("job_id", "../x", "option job_id: letters"),
    ("tasks_at_once", "0", "option tasks_at_once: must be a whole number"),
])
def test_what_cannot_work_on_spark_is_refused_with_its_reason(env, key, value, words):
    with pytest.raises(ConfigError) as refused:
        parse_options({**options(), key: value}, str(env))
    assert words in str(refused.value)


def test_a_key_given_as_an_option_is_refused_without_being_shown(env):
    with pytest.raises(ConfigError) as refused:
        parse_options({**options(), "api_key": "k-9f8e7d6c5b"}, str(env))
    assert "k-9f8e7d6c5b" not in str(refused.value) and "${BRAZE_API_KEY}" in str(refused.value)
    assert parse_options(options(api_key="${BRAZE_API_KEY}"), str(env)).settings().api_key.reveal() == KEY


@pytest.mark.parametrize("conf, tasks", [
    ({"spark.master": "local[3]"}, 3), ({"spark.master": "local[2,4]"}, 2), ({"spark.master": "local"}, 1),
    ({"spark.master": "local[*]"}, os.cpu_count()),
    ({"spark.master": "yarn", "spark.executor.instances": "4", "spark.executor.cores": "8", "spark.task.cpus": "2"}, 16),
    ({"spark.master": "k8s://x", "spark.dynamicAllocation.enabled": "true", "spark.executor.instances": "2",
      "spark.dynamicAllocation.maxExecutors": "10", "spark.executor.cores": "4"}, 40),
])
def test_the_tasks_at_once_come_from_sparks_conf(conf, tasks):
    assert tasks_at_once(None, conf) == tasks
    assert tasks_at_once(7, conf) == 7


def test_a_cluster_that_does_not_say_its_slots_needs_the_option():
    with pytest.raises(ConfigError, match="tasks_at_once"):
        tasks_at_once(None, {"spark.master": "spark://host:7077"})


def test_each_task_gets_its_share_of_the_rates_the_concurrency_and_the_hour(env):
    settings = parse_options(options(requests_per_second="1000", concurrency="8"), str(env)).settings()
    card = card_for("user_track", "custom_events")
    share = task_settings(settings, card, 4)
    assert (share.requests_per_second, share.concurrency, share.requests_per_hour) == (250, 2, None)
    hourly = parse_options(options(requests_per_hour="36000"), str(env)).settings()
    assert task_settings(hourly, card, 4).requests_per_second == pytest.approx(36000 * 59 / 60 / 3600 / 4)
    assert share.api_key.reveal() == KEY


def test_retry_keys_are_the_same_whatever_order_the_rows_come_in():
    rows = [{"id": n % 5, "t": "x"} for n in range(40)]      # each row 8 times
    keys, again = RetryKeys(), RetryKeys()
    first = sorted(keys.key(dict(r)) for r in rows)
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    assert sorted(again.key(dict(r)) for r in shuffled) == first
    assert len(set(first)) == 40


def test_arrow_batches_become_rows_as_parquet_values_do():
    batch = pa.RecordBatch.from_pydict({
        "amount": pa.array([Decimal("1.50"), Decimal("2.00")], pa.decimal128(5, 2)),
        "at": pa.array([datetime(2024, 5, 1, tzinfo=timezone.utc)] * 2, pa.timestamp("us", tz="UTC")),
        "prefs": pa.array([[("a", 1)], []], pa.map_(pa.string(), pa.int32())),
        "blob": pa.array([None, b"\x00"], pa.binary())})
    good, bad = list(arrow_rows([batch]))
    assert good == {"amount": 1.5, "at": datetime(2024, 5, 1, tzinfo=timezone.utc), "prefs": {"a": 1}, "blob": None}
    assert isinstance(bad, InvalidRow) and bad.column == "blob"


def test_a_second_attempt_of_a_partition_waits_for_the_first(tmp_path):
    folder = JobFolder(str(tmp_path / "job"), "f" * 32)
    first, second = AttemptLock(folder, 3), AttemptLock(folder, 3)
    first.acquire()
    taken = threading.Event()
    waiter = threading.Thread(target=lambda: (second.acquire(), taken.set()))
    waiter.start()
    assert not taken.wait(0.6), "the second attempt ran beside the first"
    first.release()
    assert taken.wait(10)
    waiter.join()
    second.release()


def event_batch(n: int, start: int = 0) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({
        "external_id": [f"u{i}" for i in range(start, start + n)], "name": ["e"] * n,
        "time": pa.array([datetime(2024, 5, 1, tzinfo=timezone.utc)] * n, pa.timestamp("us", tz="UTC"))})


def test_a_task_run_twice_on_its_partition_sends_its_events_once(env):
    with Sandbox(api_key=KEY) as sandbox:
        job = parse_options(options(sandbox.url, state_folder="state", job_id="twice"), str(env))
        info = TaskInfo(5, 0, {"spark.master": "local[2]"})
        once = run_task(job, info, [event_batch(300)], ["external_id", "name", "time"])
        again = run_task(job, TaskInfo(5, 1, info.conf), [event_batch(300)], ["external_id", "name", "time"])
        assert len(sandbox.received("/users/track")) == 300
    assert (once.report["rows_delivered"], once.report["rows_duplicate"]) == (300, 0)
    assert (again.report["rows_delivered"], again.report["rows_duplicate"]) == (300, 300)
    assert Path(JobFolder.of(job).state_file(5)).exists()


def test_speculation_on_a_cluster_needs_a_state_folder_every_executor_sees(env):
    job = parse_options(options(tasks_at_once="4"), str(env))
    outcome = run_task(job, TaskInfo(0, 0, {"spark.master": "yarn", "spark.speculation": "true"}), [], [])
    assert outcome.exit_code == 2 and "spark.speculation is on" in outcome.error


def outcome(partition: int, read: int, delivered: int, rejects: list[dict] = (), error: str | None = None):
    report = {"rows_read": read, "rows_delivered": delivered, "rows_failed": read - delivered, "requests": 2}
    blob = zlib.compress("".join(json.dumps(r) + "\n" for r in rejects).encode()) if rejects else b""
    return TaskOutcome(partition, 0, report, 1 if error else 0, error, False, 2, blob)


def test_the_driver_sums_the_tasks_and_names_the_partitions_that_failed(env):
    job = parse_options(options(report="report.json"), str(env))
    folder = JobFolder.of(job)
    folder.note_failure(2, {"attempt": 3, "error": "OSError: disk full", "rows_read": 10, "rows_delivered": 4})
    line = {"row": 1, "partition": 1, "outcome": "failed", "reason": "x", "values": {}}
    done = finish(job, [outcome(0, 5, 5), outcome(1, 3, 2, [line], "partition 1, row 1, column c: bad"), None],
                  aborted=True)
    report = json.loads((env / "report.json").read_text())
    assert report == done.report
    assert (report["rows_read"], report["rows_delivered"], report["rows_failed"]) == (18, 11, 7)
    assert report["status"] == "failed" and report["exit_code"] == 1 and report["partitions"] == 3
    assert report["partition_errors"] == ["partition 1, row 1, column c: bad",
                                          "partition 2: failed in attempt 3 (OSError: disk full)"]
    assert str(done.error).startswith("partition 1, row 1, column c: bad (and 1 more partition failed)")
    assert [json.loads(x) for x in (env / "rejected.jsonl").read_text().splitlines()] == [line]
    assert not os.path.exists(folder.path), "a generated job id's folder is removed"


def test_a_rerun_of_a_named_job_is_not_stopped_by_the_failed_run_before_it(env):
    columns = ["external_id", "name", "time"]
    bad = pa.RecordBatch.from_pydict({"external_id": ["u1"], "name": [None],
                                      "time": pa.array([datetime(2024, 5, 1, tzinfo=timezone.utc)],
                                                       pa.timestamp("us", tz="UTC"))})
    with Sandbox(api_key=KEY) as sandbox:
        named = options(sandbox.url, state_folder="state", job_id="daily")
        failed = run_task(parse_options(named, str(env)), TaskInfo(0, 0, {"spark.master": "local[2]"}), [bad], columns)
        assert failed.error.startswith("partition 0, row 1, column name") and not failed.stopped
        rerun = parse_options(named, str(env))
        done = run_task(rerun, TaskInfo(1, 0, {"spark.master": "local[2]"}), [event_batch(200)], columns)
        assert done.error is None and done.report["rows_delivered"] == 200
        assert len(sandbox.received("/users/track")) == 200
