"""One export: a prepared plan's rows through the pump and delivery, into the outcomes and the report.

Whoever the caller (the run command, preview, the Python API, a worker), this is the one place a
job runs. It never raises a ConnectorError: the error is in the result.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Mapping

from connector.config import Settings
from connector.config.settings import InputSettings
from connector.delivery import Delivery, Transport
from connector.delivery.pacing import Pacer
from connector.errors import ConnectorError, JobError
from connector.outcomes import Fanout, Outcomes
from connector.outcomes.ledger import Ledger
from connector.outcomes.rejects import RejectFile
from connector.outcomes.report import build_report, exit_code, new_run_id, ratio_error
from connector.pipeline.endpoint import DryRun, braze_endpoint, clients
from connector.pipeline.plan import Plan
from connector.pipeline.pump import Pump, Rows
from connector.pipeline.signals import stop_on_signals
from connector.state import StateSession


@dataclass(frozen=True)
class JobResult:
    exit_code: int
    report: dict[str, Any]
    error: ConnectorError | None = None


@dataclass(frozen=True)
class ExportOptions:
    dry_run: bool = False
    seed: int | None = None
    resume_input: InputSettings | None = None   # the input a state_file's job is resumed on; None: no resume
    restart: bool = False                       # forget the state's progress on this job and start over
    limit: int | None = None                    # read at most this many rows
    write_rejects: bool = True                  # write the rejected-rows file (preview does not)
    sinks: tuple[Outcomes, ...] = ()            # more outputs of row outcomes
    on_delivery: Callable[[Delivery], None] | None = None  # told the job's Delivery once it exists
    run_id: str | None = None                   # the run this job is (or is part of); None: a new one


@contextlib.contextmanager
def _transports(settings: Settings, dry_run: bool) -> Iterator[Callable[[], Transport]]:
    if dry_run:     # no endpoint at all: not even the in-process sandbox is started
        yield DryRun
        return
    with braze_endpoint(settings) as (base_url, key):
        yield clients(base_url, key, settings)


def _sync_log(plan: Plan, run_id: str, dry_run: bool) -> Any:
    """The sync log's sink of this job, when the config has one (JobError when it cannot be opened)."""
    settings = plan.settings.sync_log
    if settings is None or dry_run:
        return None
    from connector.outcomes.syncdb import open_database   # SQLAlchemy: only when a sync log is asked for
    from connector.outcomes.synclog import SyncLog

    db = open_database(settings)
    try:
        db.ensure_tables()
        return SyncLog(db, settings, run_id=run_id, mode=plan.card.mode, record_type=plan.card.record_type,
                       keys=plan.card.keys)
    except BaseException:
        db.close()
        raise


def run_export(plan: Plan, rows: Rows, ledger: Ledger, options: ExportOptions = ExportOptions()) -> JobResult:
    """Run the export of `rows`; every row read ends in the ledger and the rejected-rows file."""
    settings = plan.settings
    run_id = options.run_id or new_run_id()
    rejects = RejectFile(settings.reject_file if options.write_rejects else None)
    state: StateSession | None = None
    sync_log: Any = None
    try:
        if settings.state_file is not None and not options.dry_run:
            state = StateSession(settings, options.resume_input, options.restart,
                                 lose_unknown=not plan.delivery.resend_unknown)
        sync_log = _sync_log(plan, run_id, options.dry_run)
    except ConnectorError as exc:
        if state is not None:
            state.close(reached_end=False)
        return _result(settings, ledger, rejects, exc, options.dry_run, {}, run_id)
    sinks = (*options.sinks, *([sync_log] if sync_log is not None else []))
    try:
        result = _deliver(plan, rows, ledger, rejects, replace(options, sinks=sinks, run_id=run_id), state)
    finally:
        if state is not None:
            state.close(reached_end=False)
        if sync_log is not None:
            sync_log.close()
    if sync_log is not None:
        result.report["sync_log"] = sync_log.report()
    return result


def _deliver(plan: Plan, rows: Rows, ledger: Ledger, rejects: RejectFile, options: ExportOptions,
             state: StateSession | None) -> JobResult:
    error: ConnectorError | None = None
    gate = state.gate if state is not None else None
    outcomes = Fanout(*([gate] if gate is not None else []), ledger, rejects, *options.sinks)
    with _transports(plan.settings, options.dry_run) as transports:
        delivery = Delivery(plan.delivery, transports, Pacer(plan.pacing), outcomes, ledger,
                            journal=gate, seed=options.seed)
        if options.on_delivery is not None:
            options.on_delivery(delivery)
        if gate is not None:
            gate.bind(delivery.submit, delivery.abort, outcomes)
        pump = Pump(plan, delivery, outcomes, ledger, gate, options.limit)
        try:
            with stop_on_signals(pump, delivery):
                pump.run(rows)
                if gate is not None:
                    gate.flush()
        except (JobError, KeyboardInterrupt) as exc:
            error = exc if isinstance(exc, JobError) else JobError("interrupted")
            delivery.abort(error)
            if gate is not None:
                gate.discard(f"not sent: the job was aborted ({error})")
        finally:
            delivery.finish()
            outcomes.close()
    error = error or delivery.error
    if state is not None and error is None:
        state.close(reached_end=True)
    return _result(plan.settings, ledger, rejects, error, options.dry_run, state.report() if state else {},
                   options.run_id)


def failed_before_start(error: ConnectorError, ledger: Ledger | None = None, run_id: str | None = None) -> JobResult:
    """The result of a job stopped before its first row (config, input, header): no counts."""
    ledger = ledger if ledger is not None else Ledger()
    report = build_report(ledger.counts(), aborted=True, error=str(error), reject_file=None,
                          elapsed_seconds=ledger.elapsed(), extra={}, run_id=run_id)
    return JobResult(error.exit_code, report, error)


def _result(settings: Settings, ledger: Ledger, rejects: RejectFile, error: ConnectorError | None,
            dry_run: bool, extra: Mapping[str, Any], run_id: str | None) -> JobResult:
    counts = ledger.counts()
    error = error or ratio_error(counts, settings.max_rejected_ratio, settings.max_failed_ratio)
    report = build_report(counts, aborted=error is not None, error=str(error) if error else None,
                          reject_file=rejects.path, elapsed_seconds=ledger.elapsed(),
                          extra={**extra, **({"dry_run": True} if dry_run else {})}, run_id=run_id)
    return JobResult(exit_code(counts, error, settings.skip_on_invalid_records), report, error)
