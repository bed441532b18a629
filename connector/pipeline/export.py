"""One export: a prepared plan's rows through the pump and delivery, into the outcomes and the report.

Whoever the caller (the run command, preview, the Python API, a worker), this is the one place a
job runs. It never raises a ConnectorError: the error is in the result.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Mapping

from connector.config import Settings
from connector.config.settings import InputSettings
from connector.delivery import Delivery, Transport
from connector.delivery.pacing import Pacer
from connector.errors import ConnectorError, InputError, JobError
from connector.outcomes import Fanout, Outcomes
from connector.outcomes.ledger import Ledger
from connector.outcomes.rejects import RejectFile
from connector.outcomes.report import build_report, exit_code, new_run_id, ratio_error, status_of
from connector.pipeline.endpoint import DryRun, braze_endpoint, clients
from connector.pipeline.listing import WouldDo, WouldRemove
from connector.pipeline.plan import Plan, column_mapping
from connector.pipeline.pump import Pump, Rows
from connector.pipeline.removals import NOT_RUN, Leaving, Removals, run_removals, with_removals
from connector.pipeline.signals import stop_on_signals
from connector.sources import where
from connector.state import StateSession
from connector.state.fingerprint import config_fingerprint
from connector.state.undo import RemovalJournal
from connector.state.view import AudienceView

log = logging.getLogger("braze_export")


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
    allow_mass_removal: bool = False            # on_removed: remove however many users left the audience
    run_id: str | None = None                   # the run this job is (or is part of); None: a new one


@contextlib.contextmanager
def _transports(settings: Settings, dry_run: bool) -> Iterator[Callable[[], Transport]]:
    if dry_run:     # no endpoint at all: not even the in-process sandbox is started
        yield DryRun
        return
    with braze_endpoint(settings) as (base_url, key):
        yield clients(base_url, key, settings)


def _sync_log(plan: Plan, run_id: str, dry_run: bool) -> Any:
    """The sync log's sink of this job, when the config has one (JobError when it cannot be opened).
    Its tables were made or checked as the run started (pipeline/lifecycle.py: every caller of a job
    with a sync log runs it inside one), for this job and all of a run's workers."""
    settings = plan.settings.sync_log
    if settings is None or dry_run:
        return None
    from connector.synclog.syncdb import open_database   # SQLAlchemy: only when a sync log is asked for
    from connector.synclog.synclog import SyncLog

    db = open_database(settings)
    try:
        return SyncLog(db, settings, run_id=run_id, mode=plan.card.mode, record_type=plan.card.record_type,
                       keys=plan.card.keys)
    except BaseException:
        db.close()
        raise


def run_export(plan: Plan, rows: Rows, ledger: Ledger, options: ExportOptions = ExportOptions()) -> JobResult:
    """Run the export of `rows`; every row read ends in the ledger and the rejected-rows file."""
    settings = plan.settings
    run_id = options.run_id or new_run_id()
    rejects = RejectFile(settings.reject_file if options.write_rejects else None, settings.shown("reject_file"))
    state: StateSession | None = None
    view: AudienceView | None = None
    sync_log: Any = None
    try:
        if settings.state_file is not None and not options.dry_run:
            state = StateSession(settings, options.resume_input, options.restart,
                                 lose_unknown=not plan.delivery.resend_unknown)
        elif settings.state_file is not None and settings.on_removed != "ignore":     # read-only
            view = AudienceView(settings.state_file, config_fingerprint(settings),
                                f"{settings.endpoint}\0{settings.track_record_type}")
        sync_log = _sync_log(plan, run_id, options.dry_run)
    except ConnectorError as exc:
        if state is not None:
            state.close(reached_end=False)
        return _result(settings, ledger, rejects, exc, options.dry_run, {}, run_id)
    sinks = (*options.sinks, *([sync_log] if sync_log is not None else []))
    try:
        result = _deliver(plan, rows, ledger, rejects, replace(options, sinks=sinks, run_id=run_id), state, view)
    finally:
        if state is not None:
            state.close(reached_end=False)
        if view is not None:
            view.close()
        if sync_log is not None:
            sync_log.close()
    if sync_log is not None:
        result.report["sync_log"] = sync_log.report()
    return result


def _deliver(plan: Plan, rows: Rows, ledger: Ledger, rejects: RejectFile, options: ExportOptions,
             state: StateSession | None, view: AudienceView | None) -> JobResult:
    error: ConnectorError | None = None
    gate = state.gate if state is not None else None
    leaving: Leaving | None = state.audience if state is not None else view
    listing = [WouldDo(plan.card.describe)] if options.dry_run and plan.card.describe is not None else []
    outcomes = Fanout(*([gate] if gate is not None else []), ledger, rejects, *options.sinks, *listing)
    removals = NOT_RUN
    with _transports(plan.settings, options.dry_run) as transports:
        delivery = Delivery(plan.delivery, transports, Pacer(plan.pacing), outcomes, ledger,
                            journal=gate, seed=options.seed)
        outcomes.on_error = delivery.abort      # a file that cannot be written stops the job cleanly
        if options.on_delivery is not None:
            options.on_delivery(delivery)
        if gate is not None:
            gate.bind(delivery.submit, delivery.abort, outcomes)
        pump = Pump(plan, delivery, outcomes, ledger, gate, options.limit,
                    seen=leaving.seen if leaving is not None else None)
        if state is not None:
            rows = state.checked(rows)
        rows = column_mapping(plan.settings).wrap(rows)
        try:
            with stop_on_signals(pump, delivery):   # to the end: a stop while draining is a stop too
                try:
                    pump.run(rows)
                    if gate is not None:
                        gate.flush()
                except (JobError, KeyboardInterrupt) as exc:
                    error = exc if isinstance(exc, JobError) else JobError("interrupted")
                    if isinstance(error, InputError):        # the input's path as the config wrote it
                        error = InputError(where(str(error), plan.settings.input))
                    delivery.abort(error)
                    if gate is not None:
                        gate.discard(f"not sent: the job was aborted ({error})")
                finally:
                    delivery.finish()
            error = error or delivery.error or outcomes.error
            if leaving is not None and _may_remove(pump, ledger, error):
                journal = RemovalJournal(state.audience) if state is not None and state.audience is not None else None
                sinks = [rejects, *options.sinks, *([WouldRemove()] if options.dry_run else [])]
                removals = run_removals(plan, leaving, journal, transports, sinks, allow=options.allow_mass_removal,
                                        limit=options.limit, seed=options.seed, on_delivery=options.on_delivery,
                                        before=state.rows_done if state is not None else None)
                error = removals.error or outcomes.error
        finally:
            outcomes.close()
    error = error or outcomes.error
    if state is not None and error is None:
        state.close(reached_end=options.limit is None)      # a sample run is not a complete one
    figures = ledger.figures()
    resent = figures.pop("rows_resent_after_unknown_fate")
    # Rows Braze may hold twice: sent again after a request of unknown fate, where a replay is not
    # harmless (events, purchases: at_least_once). Attributes are set again to the same value.
    figures["rows_maybe_duplicated"] = 0 if plan.card.replay_safe else resent
    figures["in_flight_max"] = delivery.busy_most
    extra = {**figures, **(state.report() if state else {}), **(removals.report() if leaving is not None else {})}
    return _result(plan.settings, ledger, rejects, error, options.dry_run, extra, options.run_id, removals)


def _may_remove(pump: Pump, ledger: Ledger, error: ConnectorError | None) -> bool:
    """Removals follow only a run that read its whole input and delivered it without a failure."""
    if error is not None:
        log.info("on_removed: nothing is removed: the run did not complete")
        return False
    if not pump.exhausted:
        log.info("on_removed: nothing is removed: the rows read are not the whole input (a limit); "
                 "`run --dry-run` lists the removals")
        return False
    failed = ledger.counts().rows_failed
    if failed:
        log.warning("on_removed: nothing is removed: %d rows failed; a rerun removes once every row is delivered",
                    failed)
    return not failed


def failed_before_start(error: ConnectorError, ledger: Ledger | None = None, run_id: str | None = None) -> JobResult:
    """The result of a job stopped before its first row (config, input, header): no counts."""
    ledger = ledger if ledger is not None else Ledger()
    report = build_report(ledger.counts(), aborted=True, error=str(error), reject_file=None,
                          elapsed_seconds=ledger.elapsed(), extra={}, run_id=run_id)
    return JobResult(error.exit_code, report, error)


def _result(settings: Settings, ledger: Ledger, rejects: RejectFile, error: ConnectorError | None,
            dry_run: bool, extra: Mapping[str, Any], run_id: str | None, removals: Removals = NOT_RUN) -> JobResult:
    counts = ledger.counts()
    both = with_removals(counts, removals.counts)     # a rejected or failed removal weighs like a row
    error = error or ratio_error(both, settings.max_rejected_ratio, settings.max_failed_ratio)
    shown = replace(counts, requests=both.requests, retries=both.retries,
                    requests_unknown_fate=both.requests_unknown_fate)
    report = build_report(shown, aborted=error is not None, error=str(error) if error else None,
                          reject_file=rejects.path, elapsed_seconds=ledger.elapsed(),
                          extra={**extra, **({"dry_run": True} if dry_run else {})}, run_id=run_id)
    report["status"] = status_of(both, error is not None)
    return JobResult(exit_code(both, error, settings.skip_on_invalid_records), report, error)
