"""One Spark task: the pipeline's one export (connector/pipeline) on its partition, at its share of
the budget, its state kept across attempts, and what the driver needs back in a `TaskOutcome`.

An error the pipeline classifies (an invalid row with skipping off, a refused key, retries
exhausted, a config the executor cannot read) is final for the write: it is returned, not raised,
so Spark does not run the partition again, and the other tasks are told to stop. Anything else (the
rows' own computation failing, the test hook) is raised: Spark retries the task, and the retry
sends none of the rows its earlier attempts delivered (their keys are in the partition's state).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from connector.config import Settings
from connector.delivery import Delivery
from connector.errors import ConfigError, ConnectorError, JobError
from connector.modes import card_for
from connector.outcomes.ledger import Ledger
from connector.pipeline import ExportOptions, JobResult, failed_before_start, prepare, run_export
from connector.spark.budget import start_delay, steady, task_settings, tasks_at_once
from connector.spark.folder import AttemptLock, JobFolder, StopWatch
from connector.spark.options import SparkJob
from connector.spark.rows import KEY_COLUMN, PartitionRows, arrow_rows

SPECULATION = ("spark.speculation is on: a speculative copy of a task runs on another executor, which "
               "sees the partition's state only in a shared folder; give .option('state_folder', ...) on "
               "storage every executor mounts, or turn spark.speculation off")


@dataclass(frozen=True)
class TaskInfo:
    """What Spark's TaskContext says of the running attempt."""

    partition: int
    attempt: int
    conf: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskOutcome:
    """A task's commit message: its report (counts and all), its error, its rejected rows."""

    partition: int
    attempt: int
    report: dict[str, Any]
    exit_code: int
    error: str | None
    stopped: bool                   # stopped because another task aborted the write
    tasks_at_once: int
    rejects: bytes = b""            # zlib-compressed JSON lines, in row order


class _Stop:
    """Aborts this task's delivery when another task aborted the write (told before or after the
    delivery exists: whichever comes second aborts it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._delivery: Delivery | None = None
        self._who: str | None = None
        self.error: JobError | None = None

    def __call__(self, who: str) -> None:
        with self._lock:
            self._who = who
            self._abort()

    def bind(self, delivery: Delivery) -> None:
        with self._lock:
            self._delivery = delivery
            self._abort()

    def _abort(self) -> None:
        if self._delivery is not None and self._who is not None and self.error is None:
            self.error = JobError(f"stopped: {self._who} aborted the write")
            self._delivery.abort(self.error)


def _settings(job: SparkJob, info: TaskInfo) -> tuple[Settings, int, bool]:
    settings = job.settings()
    card = card_for(settings.mode, settings.track_record_type)
    tasks = tasks_at_once(job.tasks_at_once, info.conf)
    keyed = not card.replay_safe
    local = (info.conf.get("spark.master") or "").startswith("local")
    if keyed and job.state_folder is None and not local and (info.conf.get("spark.speculation") or "") == "true":
        raise ConfigError(SPECULATION) from None
    per_task = task_settings(settings, card, tasks)
    if keyed:
        folder = JobFolder.of(job)
        per_task = replace(per_task, state_file=folder.state_file(info.partition), dedupe_key=KEY_COLUMN)
    return per_task, tasks, keyed


def run_task(job: SparkJob, info: TaskInfo, batches: Iterable[Any], columns: Sequence[str]) -> TaskOutcome:
    """Export this partition's rows; raise only what Spark should retry."""
    folder = JobFolder.of(job)
    try:
        settings, tasks, keyed = _settings(job, info)
    except ConnectorError as exc:
        return _outcome(info, failed_before_start(exc), 0, b"", stopped=False, folder=folder)
    ledger, stop = Ledger(), _Stop()
    fail_after = job.fail_after if info.attempt == 0 else None
    rows = PartitionRows(arrow_rows(batches), keyed=keyed, fail_after=fail_after, delivered=lambda: ledger.counts().rows_delivered)
    lock = AttemptLock(folder, info.partition) if keyed else None
    with tempfile.TemporaryDirectory(prefix="braze-task-") as tmp:
        settings = replace(settings, reject_file=os.path.join(tmp, "rejected.jsonl"))
        if lock is not None:
            lock.acquire()
        try:
            try:
                plan = prepare(settings, [*columns, KEY_COLUMN] if keyed else columns)
            except ConnectorError as exc:
                result = failed_before_start(exc, ledger)
            else:
                plan = replace(plan, pacing=steady(plan.pacing))
                time.sleep(start_delay(plan.pacing))
                with StopWatch(folder, stop):
                    result = run_export(plan, rows, ledger, ExportOptions(on_delivery=stop.bind))
        except BaseException as exc:    # Spark retries the task: say why for the driver's abort
            folder.note_failure(info.partition, {"attempt": info.attempt, "error": _line(exc),
                                                 **ledger.counts().__dict__})
            raise
        finally:
            if lock is not None:
                lock.release()
        rejects = _rejects(settings.reject_file, info.partition)
    return _outcome(info, result, tasks, rejects, stopped=result.error is not None and result.error is stop.error,
                    folder=folder)


def _outcome(info: TaskInfo, result: JobResult, tasks: int, rejects: bytes, *, stopped: bool,
             folder: JobFolder) -> TaskOutcome:
    error = None if result.error is None else f"partition {info.partition}, {result.error}"
    if result.error is not None and not stopped:
        folder.stop(info.partition)
    return TaskOutcome(info.partition, info.attempt, dict(result.report), result.exit_code, error, stopped,
                       tasks, rejects)


def _line(exc: BaseException) -> str:
    """The failure in one line; a broken Arrow stream means the rows' own computation failed in Spark."""
    text = " ".join(str(exc).split())
    line = f"{type(exc).__name__}: {text[:500]}" if text else type(exc).__name__
    if type(exc).__module__.startswith("pyarrow"):
        return f"the partition's rows stopped coming from Spark ({line}); Spark's task error says why"
    return line


def _rejects(path: str, partition: int) -> bytes:
    """The task's rejected rows with their partition, without the retry key, in row order."""
    if not os.path.exists(path):
        return b""
    records = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            values = record.get("values")
            if isinstance(values, dict):
                values.pop(KEY_COLUMN, None)
            records.append({"row": record["row"], "partition": partition, "outcome": record["outcome"],
                            "reason": record["reason"], "values": values})
    records.sort(key=lambda r: r["row"])
    return zlib.compress("".join(json.dumps(r) + "\n" for r in records).encode("utf-8"))
