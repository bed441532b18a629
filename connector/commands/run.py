"""`braze-export run`: open the input, prepare, run the export, print the summary, write the report."""

from __future__ import annotations

import logging
from typing import Callable

from connector.config import Settings
from connector.errors import ConnectorError
from connector.outcomes.ledger import Ledger
from connector.outcomes.report import summary, write_report
from connector.pipeline import ExportOptions, JobResult, failed_before_start, prepare, run_export
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
    if settings.workers > 1:
        from connector.workers import run_parallel

        result = run_parallel(settings, dry_run=dry_run, json_logs=json_logs)
    else:
        result = _run_one(settings, dry_run, json_logs, restart)
    if dry_run:
        log.info("dry run: nothing was sent")
    return finish(result, report_path)


def _run_one(settings: Settings, dry_run: bool, json_logs: bool, restart: bool) -> JobResult:
    ledger = Ledger()
    try:
        source = open_source(settings.input)
    except ConnectorError as exc:
        return failed_before_start(exc, ledger)
    with source:
        try:
            plan = prepare(settings, source.columns)
        except ConnectorError as exc:
            return failed_before_start(exc, ledger)
        with Progress(ledger, source.progress, json_logs=json_logs):
            return run_export(plan, source, ledger,
                              ExportOptions(dry_run=dry_run, resume_input=settings.input, restart=restart))
