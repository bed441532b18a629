"""`braze-export run`: open the input, prepare, run the export, print the summary, write the report."""

from __future__ import annotations

import json
import logging
import sys
from typing import Callable

from connector.config import Settings
from connector.errors import ConfigError, ConnectorError, JobError, UsageError
from connector.outcomes.ledger import Ledger
from connector.pipeline.outputs import check_outputs, ready_to_write
from connector.outcomes.report import summary, warnings, write_report
from connector.pipeline import ExportOptions, JobResult, failed_before_start, prepare, run_export
from connector.pipeline.lifecycle import RunLifecycle
from connector.progress import Progress
from connector.sources import open_source

log = logging.getLogger("braze_export")


def finish(result: JobResult, report_path: str | None, shown_rejects: str | None = None) -> int:
    """The end of every run: the error line, the summary line, the report; the exit code. A report
    that cannot be written is printed on stderr as JSON instead, and the run exits 1."""
    report = result.report
    if result.error is not None:
        log.error("%s", result.error)
    fields = {k: v for k, v in report.items() if k != "error"}
    log.info("%s", summary(report), extra={"fields": {"event": "summary", **fields}})
    for warning in warnings(report):
        log.warning("%s", warning)
    if report.get("reject_file"):
        log.info("rows not delivered, with their reasons: %s", shown_rejects or report["reject_file"])
    if report_path:
        try:
            ready_to_write(report_path, "report")
            write_report(report_path, report)
        except (ConfigError, OSError) as exc:
            reason = exc if isinstance(exc, ConfigError) else f"cannot write the report {report_path}: {exc.strerror}"
            log.error("%s; the report follows on stderr", reason)
            sys.stderr.write(json.dumps(report, indent=2) + "\n")
            return result.exit_code or 1
    return result.exit_code


def run_command(load: Callable[[], Settings], *, report_path: str | None, dry_run: bool,
                json_logs: bool, restart: bool = False, limit: int | None = None,
                allow_mass_removal: bool = False) -> int:
    try:
        settings = load()
        if restart and settings.state_file is None:
            raise UsageError("--restart forgets a state_file's progress, and the config has no state_file")
        if limit is not None and settings.workers > 1:
            raise UsageError("--limit reads the first rows of the input: it needs workers: 1")
        check_outputs(settings, report_path, dry_run=dry_run)
    except ConnectorError as exc:
        return finish(failed_before_start(exc), report_path)
    run = RunLifecycle(settings, dry_run=dry_run)

    def job(run_id: str) -> JobResult:
        if settings.workers > 1:
            from connector.workers import run_parallel

            return run_parallel(settings, dry_run=dry_run, json_logs=json_logs, run_id=run_id)
        return _run_one(settings, dry_run, json_logs, restart, limit, allow_mass_removal, run_id)

    try:
        result = run.guarded(job)
    except KeyboardInterrupt:       # SIGINT / SIGTERM outside the export (opening the input, ...)
        result = failed_before_start(JobError("interrupted"), run_id=run.run_id)
    run.finish(result)
    if dry_run:
        log.info("dry run: nothing was sent")
    code = finish(result, report_path, settings.shown("reject_file"))
    run.notify(result)
    return code


def _run_one(settings: Settings, dry_run: bool, json_logs: bool, restart: bool, limit: int | None,
             allow_mass_removal: bool, run_id: str) -> JobResult:
    ledger = Ledger()
    try:
        source = open_source(settings.input)
    except ConnectorError as exc:
        return failed_before_start(exc, ledger, run_id)
    except KeyboardInterrupt:
        return failed_before_start(JobError("interrupted"), ledger, run_id)
    with source:
        try:
            plan = prepare(settings, source.columns)
        except ConnectorError as exc:
            return failed_before_start(exc, ledger, run_id)
        with Progress(ledger, source.progress, json_logs=json_logs) as progress:
            return run_export(plan, source, ledger, ExportOptions(
                dry_run=dry_run, resume_input=settings.input, restart=restart, limit=limit,
                on_delivery=progress.watch, allow_mass_removal=allow_mass_removal, run_id=run_id))
