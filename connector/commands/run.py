"""`braze-export run`: open the input, prepare, run the export, print the summary, write the report.

Whatever happens, the run ends the documented way: one error line, the summary line and the report.
A signal at any moment, and a MemoryError or RecursionError in any phase or thread, included
(connector/workers/guard.py); each phase says what it was doing.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, Callable

from connector.config import Settings
from connector.errors import EXHAUSTED, ConfigError, ConnectorError, JobError, UsageError, exhausted
from connector.outcomes.ledger import Ledger
from connector.pipeline.outputs import check_outputs, ready_to_write
from connector.outcomes.report import summary, warnings, write_report
from connector.pipeline import ExportOptions, JobResult, failed_before_start, prepare, run_export
from connector.pipeline.lifecycle import RunLifecycle
from connector.progress import Progress
from connector.sources import open_source
from connector.workers.guard import Guard, accounted

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
        except (ConfigError, OSError, *EXHAUSTED) as exc:
            log.error("%s; the report follows on stderr", _unwritten(exc, report_path))
            sys.stderr.write(json.dumps(report, indent=2) + "\n")
            return result.exit_code or 1
    return result.exit_code


def _unwritten(exc: BaseException, report_path: str) -> Any:
    if isinstance(exc, ConfigError):
        return exc
    if isinstance(exc, OSError):
        return f"cannot write the report {report_path}: {exc.strerror}"
    return exhausted(exc, f"writing the report {report_path}")


def run_command(load: Callable[[], Settings], *, report_path: str | None, dry_run: bool,
                json_logs: bool, restart: bool = False, limit: int | None = None,
                allow_mass_removal: bool = False) -> int:
    with Guard() as guard:
        try:
            guard.check()
            settings = load()
            if restart and settings.state_file is None:
                raise UsageError("--restart forgets a state_file's progress, and the config has no state_file")
            if limit is not None and settings.workers > 1:
                raise UsageError("--limit reads the first rows of the input: it needs workers: 1")
            check_outputs(settings, report_path, dry_run=dry_run)
        except ConnectorError as exc:
            return finish(failed_before_start(exc), report_path)
        except KeyboardInterrupt:
            return finish(failed_before_start(JobError("interrupted")), report_path)
        except EXHAUSTED as exc:
            return finish(failed_before_start(exhausted(exc, "reading the config")), report_path)
        run = RunLifecycle(settings, dry_run=dry_run)
        ledger = Ledger()

        def job(run_id: str) -> JobResult:
            guard.check()
            if settings.workers > 1:
                from connector.workers import run_parallel

                return run_parallel(settings, dry_run=dry_run, json_logs=json_logs, guard=guard, run_id=run_id)
            return _run_one(settings, ledger, guard, dry_run, json_logs, restart, limit, allow_mass_removal, run_id)

        try:
            result = run.guarded(job)
        except KeyboardInterrupt:       # before the job's delivery existed: nothing was sent
            result = failed_before_start(JobError("interrupted"), ledger, run.run_id)
        except EXHAUSTED as exc:        # outside the pump, which settles its own row
            result = failed_before_start(exhausted(exc, "running the export"), ledger, run.run_id)
        guard.settle()
        result = accounted(result, guard.failure)
        run.finish(result)
        if dry_run:
            log.info("dry run: nothing was sent")
        code = finish(result, report_path, settings.shown("reject_file"))
        run.notify(result)
        return code


def _run_one(settings: Settings, ledger: Ledger, guard: Guard, dry_run: bool, json_logs: bool, restart: bool,
             limit: int | None, allow_mass_removal: bool, run_id: str) -> JobResult:
    try:
        source = open_source(settings.input)
    except ConnectorError as exc:
        return failed_before_start(exc, ledger, run_id)
    except EXHAUSTED as exc:
        return failed_before_start(exhausted(exc, "opening the input"), ledger, run_id)
    with source:
        try:
            plan = prepare(settings, source.columns)
        except ConnectorError as exc:
            return failed_before_start(exc, ledger, run_id)
        except EXHAUSTED as exc:
            return failed_before_start(exhausted(exc, "checking the input's header and the config"), ledger, run_id)
        with Progress(ledger, source.progress, json_logs=json_logs) as progress:
            def bound(delivery: Any) -> None:
                progress.watch(delivery)
                guard.bind(delivery)

            return run_export(plan, source, ledger, ExportOptions(
                dry_run=dry_run, resume_input=settings.input, restart=restart, limit=limit,
                on_delivery=bound, allow_mass_removal=allow_mass_removal, run_id=run_id))
