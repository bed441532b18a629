"""`braze-export run`: open the input, prepare, run the export, print the summary, write the report."""

from __future__ import annotations

import logging
from typing import Callable

from connector.config import Settings
from connector.errors import ConnectorError, JobError
from connector.outcomes.ledger import Ledger
from connector.outcomes.report import summary, write_report
from connector.pipeline import ExportOptions, JobResult, failed_before_start, prepare, run_export
from connector.pipeline.lifecycle import RunLifecycle
from connector.progress import Progress
from connector.sources import open_source

log = logging.getLogger("braze_export")


def finish(result: JobResult, report_path: str | None) -> int:
    """The end of every run: the error line, the summary line, the report; the exit code."""
    report = result.report
    if result.error is not None:
        log.error("%s", result.error)
    fields = {k: v for k, v in report.items() if k != "error"}
    log.info("%s", summary(report), extra={"fields": {"event": "summary", **fields}})
    if report.get("reject_file"):
        log.info("rows not delivered, with their reasons: %s", report["reject_file"])
    if report_path:
        write_report(report_path, report)
    return result.exit_code


def run_command(load: Callable[[], Settings], *, report_path: str | None, dry_run: bool,
                json_logs: bool, restart: bool = False) -> int:
    try:
        settings = load()
    except ConnectorError as exc:
        return finish(failed_before_start(exc), report_path)
    run = RunLifecycle(settings, dry_run=dry_run)

    def job(run_id: str) -> JobResult:
        if settings.workers > 1:
            from connector.workers import run_parallel

            return run_parallel(settings, dry_run=dry_run, json_logs=json_logs, run_id=run_id)
        return _run_one(settings, dry_run, json_logs, restart, run_id)

    try:
        result = run.guarded(job)
    except KeyboardInterrupt:       # SIGINT / SIGTERM outside the export (opening the input, ...)
        result = failed_before_start(JobError("interrupted"), run_id=run.run_id)
    run.finish(result)
    if dry_run:
        log.info("dry run: nothing was sent")
    code = finish(result, report_path)
    run.notify(result)
    return code


def _run_one(settings: Settings, dry_run: bool, json_logs: bool, restart: bool, run_id: str) -> JobResult:
    ledger = Ledger()
    try:
        source = open_source(settings.input)
    except ConnectorError as exc:
        return failed_before_start(exc, ledger, run_id)
    with source:
        try:
            plan = prepare(settings, source.columns)
        except ConnectorError as exc:
            return failed_before_start(exc, ledger, run_id)
        with Progress(ledger, source.progress, json_logs=json_logs):
            return run_export(plan, source, ledger, ExportOptions(dry_run=dry_run, resume_input=settings.input,
                                                                  restart=restart, run_id=run_id))
