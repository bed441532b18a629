"""The driver's end of a write: the tasks' outcomes summed into the one `--report` JSON, their
rejected rows into the one file, and what `commit` or `abort` must say.

`commit` gets every task's outcome; a task that returned an error (an invalid row with skipping
off, a refused key, ...) fails the write: the report is written, then the error is raised, and
Spark calls `abort` with the same outcomes, which writes the same report again. `abort` after a
task Spark gave up on gets None for it (and for the tasks Spark stopped): the report names those
partitions, with what each one's last attempt noted in the write's folder when the driver sees it.
"""

from __future__ import annotations

import logging
import os
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from connector.errors import ConnectorError, JobError, UsageError
from connector.outcomes.ledger import COUNTS, Counts
from connector.outcomes.report import build_report, exit_code, summary, write_report
from connector.spark.folder import JobFolder
from connector.spark.options import SparkJob
from connector.spark.task import TaskOutcome

log = logging.getLogger("braze_export")

SETTLED = ("rows_delivered", "rows_skipped", "rows_rejected", "rows_failed")
STATE_COUNTS = ("rows_duplicate",)


@dataclass(frozen=True)
class Finished:
    """The write's report and the error to raise (None: the write succeeded)."""

    report: dict[str, Any]
    error: ConnectorError | None


def _failed_partition(folder: JobFolder, partition: int) -> tuple[dict[str, int], str]:
    """The counts and reason of a partition with no outcome, from its failure note if any."""
    note = folder.failure(partition)
    if note is None:
        return dict.fromkeys(COUNTS, 0), f"partition {partition}: no outcome (its task failed or was stopped)"
    counts = {name: int(note.get(name, 0)) for name in COUNTS}
    counts["rows_failed"] += counts["rows_read"] - sum(counts[name] for name in SETTLED)
    return counts, f"partition {partition}: failed in attempt {note.get('attempt')} ({note.get('error')})"


def finish(job: SparkJob, outcomes: Sequence[TaskOutcome | None], aborted: bool) -> Finished:
    """Sum the tasks up, write the rejected rows and the report; the error the write ends with."""
    folder = JobFolder.of(job)
    totals = dict.fromkeys(COUNTS, 0)
    extra: dict[str, Any] = dict.fromkeys(STATE_COUNTS, 0)
    problems: list[str] = []
    first: TaskOutcome | None = None
    for partition, outcome in enumerate(outcomes):
        if outcome is None:
            counts, problem = _failed_partition(folder, partition)
            problems.append(problem)
        else:
            counts = {name: int(outcome.report.get(name, 0)) for name in COUNTS}
            for name in STATE_COUNTS:
                extra[name] += int(outcome.report.get(name, 0))
            if outcome.error is not None and not outcome.stopped:
                first = first or outcome
                problems.append(outcome.error)
        for name in COUNTS:
            totals[name] += counts[name]
    total = Counts(**totals)
    error = _error(first, problems, aborted)
    done = [o for o in outcomes if o is not None]
    extra.update({"partitions": len(outcomes), "tasks_at_once": max((o.tasks_at_once for o in done), default=0),
                  "job_id": job.job_id})
    if problems:
        extra["partition_errors"] = problems
    skip = bool(job.data.get("skip_on_invalid_records", False))
    report = build_report(total, aborted=error is not None, error=str(error) if error else None,
                          reject_file=_write_rejects(job.reject_file, outcomes),
                          elapsed_seconds=time.time() - job.started, extra=extra)
    report["exit_code"] = exit_code(total, error, skip)
    if job.report is not None:
        write_report(job.report, report)
    log.info("%s", summary(report))
    # a fresh id: nothing can resume it, all goes (what executors keep elsewhere is theirs)
    folder.remove(state_too=not job.job_id_given)
    return Finished(report, error)


def _error(first: TaskOutcome | None, problems: list[str], aborted: bool) -> ConnectorError | None:
    """The write's error: the first task's that failed (not one only stopped), else Spark's abort."""
    if first is not None:
        kind = UsageError if first.exit_code == 2 else JobError
        more = len(problems) - 1
        return kind(str(first.error) + (f" (and {more} more partition{'s' if more > 1 else ''} failed)" if more else ""))
    if problems or aborted:
        return JobError("the write was aborted: " + ("; ".join(problems[:3]) or "Spark aborted it"))
    return None


def _write_rejects(path: str, outcomes: Sequence[TaskOutcome | None]) -> str | None:
    """Every task's rejected rows into one file, by partition then row; None when there are none."""
    parts = [o.rejects for o in outcomes if o is not None and o.rejects]
    if not parts:
        return None
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as out:
        for part in parts:
            out.write(zlib.decompress(part))
    os.replace(tmp, path)
    return path
