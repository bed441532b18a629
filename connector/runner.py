"""`braze-export run`: open the input, run the job, print the summary, write the report."""

from __future__ import annotations

import logging
from typing import Any, Callable

from connector.config import Settings
from connector.errors import ConnectorError
from connector.job import JobOptions, JobResult, failed_before_start, run_job
from connector.logs import Progress
from connector.report import Ledger, write_report
from connector.sources import open_source

log = logging.getLogger("braze_export")


def summary(report: dict[str, Any]) -> str:
    return (f"{report['status']}: {report['rows_read']} rows read, {report['rows_delivered']} delivered, "
            f"{report['rows_skipped']} skipped, {report['rows_rejected']} rejected, "
            f"{report['rows_failed']} failed; {report['requests']} requests, {report['retries']} retries, "
            f"{report['elapsed_seconds']:.2f}s{_state_summary(report)}")


def _state_summary(report: dict[str, Any]) -> str:
    """'; state: 10 delivered earlier, ...' for the counts a state_file adds, when not zero."""
    names = (("rows_delivered_earlier", "delivered earlier"), ("rows_unknown_fate_at_resume", "of unknown fate at resume"),
             ("rows_unchanged", "unchanged"), ("attributes_unchanged", "attributes unchanged"),
             ("rows_duplicate", "duplicate"))
    parts = [f"{report[k]} {words}" for k, words in names if report.get(k)]
    return f"; state: {', '.join(parts)}" if parts else ""


def _finish(result: JobResult, report_path: str | None) -> int:
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


def run_from_cli(load: Callable[[], Settings], *, report_path: str | None, dry_run: bool,
                 json_logs: bool, restart: bool = False) -> int:
    try:
        settings = load()
    except ConnectorError as exc:
        return _finish(failed_before_start(exc), report_path)
    if settings.workers > 1:
        from connector.parallel import run_parallel

        result = run_parallel(settings, dry_run=dry_run, json_logs=json_logs)
        if dry_run:
            log.info("dry run: nothing was sent")
        return _finish(result, report_path)
    ledger = Ledger(settings.reject_file)
    try:
        source = open_source(settings.input)
    except ConnectorError as exc:
        return _finish(failed_before_start(exc, ledger), report_path)
    with source, Progress(ledger, source.progress, json_logs=json_logs):
        result = run_job(settings, source, source.columns, ledger,
                         JobOptions(dry_run=dry_run, resume_input=settings.input, restart=restart))
    if dry_run:
        log.info("dry run: nothing was sent")
    return _finish(result, report_path)
