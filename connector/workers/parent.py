"""The parent of `workers: N`: it checks once, starts the workers, stops them, and sums them up.

Each worker (connector/workers/child.py) reads the whole input file and keeps the rows whose user
hashes to its share, so one user's rows keep their order; row numbers stay those of the whole
input. The parent checks the config and the header once, starts the sandbox when the endpoint is
`sandbox`, divides the request rates and the concurrency between the workers, shows their summed
progress, and writes one report: their counts added up, their rejected-rows parts merged by row.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
from multiprocessing import resource_tracker
import os
import signal
import stat
import time
from dataclasses import fields, replace
from types import MappingProxyType
from typing import Any, Iterator

from connector.config import Secret, Settings
from connector.errors import ConfigError, ConnectorError, JobError, UsageError
from connector.modes import ModeCard
from connector.outcomes.ledger import COUNTS, Counts
from connector.outcomes.rejects import merge_rejects, reject_parts
from connector.outcomes.report import build_report, exit_code, new_run_id, ratio_error
from connector.pipeline import JobResult, Plan, failed_before_start, prepare
from connector.pipeline.endpoint import braze_endpoint
from connector.progress import Progress
from connector.sources import open_source
from connector.workers.board import PARENT, Board, BoardLedger
from connector.workers.child import WorkerSpec, worker_main
from connector.workers.guard import SIGNALS, Guard, accounted

log = logging.getLogger("braze_export")

POLL_S = 0.2
STOP_GRACE_S = 30.0     # after a stop, beyond one request timeout, before workers are terminated
REAP_S = 10.0           # a worker that has sent its outcome (or was terminated) ends within this


def worker_settings(settings: Settings, base_url: str, key: str, card: ModeCard) -> Settings:
    """One worker's settings: the resolved endpoint and key, rates and concurrency divided by N; the
    ratio limits and the notice are the parent's, over the whole run."""
    n = settings.workers
    per_hour = settings.requests_per_hour
    return replace(
        settings, endpoint=base_url, api_key=Secret(key), workers=1,
        notify=None, max_rejected_ratio=None, max_failed_ratio=None,
        requests_per_second=(settings.requests_per_second or card.default_rate) / n,
        requests_per_hour=None if per_hour is None else max(1, per_hour // n),
        concurrency=settings.concurrency if settings.concurrency == "auto" else max(1, int(settings.concurrency) // n),
        input=replace(settings.input, columns=dict(settings.input.columns)),
        **_picklable(settings),
    )


def _picklable(settings: Settings) -> dict[str, Any]:
    """The read-only mappings of the settings as plain dicts: a MappingProxyType cannot be pickled."""
    values = ((f.name, getattr(settings, f.name)) for f in fields(settings))
    return {name: dict(value) for name, value in values if isinstance(value, MappingProxyType)}


def _prepare(settings: Settings) -> Plan:
    """Check once what every worker would: the input, the header, the settings."""
    path = settings.input.path or ""
    if os.path.exists(path) and not os.path.isdir(path) and not stat.S_ISREG(os.stat(path).st_mode):
        raise ConfigError("workers: more than 1 needs input.path to be a regular file "
                          "(each worker reads the whole file)")
    with open_source(settings.input) as source:
        return prepare(settings, source.columns)


def run_parallel(settings: Settings, *, dry_run: bool = False, json_logs: bool = False,
                 guard: Guard | None = None, run_id: str | None = None) -> JobResult:
    """The export with `settings.workers` processes; every row read ends in exactly one outcome.
    `guard`: the caller's (run's), bound to the board once the first worker is about to start;
    without one, a guard of its own. The workers write their rows to the sync log under the one
    `run_id`."""
    started = time.monotonic()
    n = settings.workers
    run_id = run_id or new_run_id()
    try:
        plan = _prepare(settings)
    except ConnectorError as exc:
        return failed_before_start(exc, run_id=run_id)
    parts = reject_parts(settings.reject_file, n)
    for part in parts:
        if os.path.exists(part):
            os.remove(part)
    context = multiprocessing.get_context("spawn")
    try:
        board = Board.create(context, n)
        if guard is not None:
            return _run(settings, plan, context, board, parts, started, dry_run, json_logs, guard, run_id)
        with Guard() as own:
            return _run(settings, plan, context, board, parts, started, dry_run, json_logs, own, run_id)
    finally:
        _stop_resource_tracker()


def _stop_resource_tracker() -> None:
    """Spawning starts multiprocessing's resource tracker, a child process of ours that would
    otherwise outlive the command unreaped (a zombie where PID 1 does not reap). The board holds
    no semaphore, so nothing needs it once the workers are joined: it is ended and reaped here."""
    stop = getattr(resource_tracker._resource_tracker, "_stop", None)
    if stop is not None:
        try:
            stop()
        except ChildProcessError:       # reaped already
            pass


def _run(settings: Settings, plan: Plan, context: Any, board: Board, parts: list[str], started: float,
         dry_run: bool, json_logs: bool, guard: Guard, run_id: str) -> JobResult:
    with braze_endpoint(settings) as (base_url, key):
        shared = worker_settings(settings, base_url, key, plan.card)
        procs: list[Any] = []
        conns: list[Any] = []
        results: dict[int, dict[str, Any]] = {}
        failed_start: JobError | None = None
        # From the first start on, a signal (or a dying thread) stops the workers through the board;
        # nothing raises, so no worker is left unjoined and no message half read.
        guard.bind(_BoardStop(board))
        try:
            resource_tracker.ensure_running()   # now: starting it later would unblock the signals in _start
            for k in range(settings.workers):
                spec = WorkerSpec(k, shared, parts[k], dry_run, "json" if json_logs else "text", plan.notes, run_id)
                try:
                    _start(context, spec, board, procs, conns)
                except (OSError, MemoryError) as exc:   # fork refused (ENOMEM, EAGAIN): stop the others
                    failed_start = JobError(f"worker {k} could not be started ({_reason(exc)})")
                    board.trigger(PARENT)
                    break
            with Progress(BoardLedger(board), board.share, json_logs=json_logs):
                results = _collect(procs, conns, board, settings.timeout_millis / 1000 + STOP_GRACE_S)
        finally:
            _reap(procs)
    result = _merge(settings, board, results, parts, started, dry_run, run_id, failed_start)
    return accounted(result, guard.failure)


class _BoardStop:
    """What a guard stops once the workers start: all of them, through the board."""

    def __init__(self, board: Board) -> None:
        self._board = board

    def abort(self, error: JobError) -> None:
        self._board.trigger(PARENT)


def _start(context: Any, spec: WorkerSpec, board: Board, procs: list[Any], conns: list[Any]) -> None:
    """Start one worker with SIGINT and SIGTERM blocked, so that it gets neither before its own
    handlers are set (worker_main unblocks them); the parent's are held meanwhile, not lost."""
    reader, writer = context.Pipe(duplex=False)
    proc = context.Process(target=worker_main, args=(spec, board, writer), name=f"worker-{spec.index}",
                           daemon=True)   # never outlives the parent
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        proc.start()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
        writer.close()
    procs.append(proc)
    conns.append(reader)


def _reason(exc: BaseException) -> str:
    return "out of memory" if isinstance(exc, MemoryError) else str(getattr(exc, "strerror", None) or exc)


def _reap(procs: list[Any]) -> None:
    """Every worker joined before the job returns: one that does not end is terminated, then killed."""
    for proc in procs:
        proc.join(timeout=REAP_S)
        if proc.is_alive():
            log.error("worker %s did not end; terminating it", proc.name.split("-")[-1])
            proc.terminate()
            proc.join(timeout=REAP_S)
        if proc.is_alive():
            proc.kill()
            proc.join()
        proc.close()


def _collect(procs: list[Any], conns: list[Any], board: Board, grace_s: float) -> dict[int, dict[str, Any]]:
    """Wait for every worker's outcome; Ctrl-C / SIGTERM stops them; a stuck worker is terminated."""
    results: dict[int, dict[str, Any]] = {}
    pending: dict[int, Any] = dict(enumerate(conns))
    deadline: float | None = None
    while pending:  # ends: each worker sends its outcome or dies; after a stop, the deadline
        try:
            for ready in multiprocessing.connection.wait(list(pending.values()), timeout=POLL_S):
                k = next(i for i, c in pending.items() if c is ready)
                try:
                    results[k] = pending[k].recv()
                except EOFError:
                    log.error("worker %d ended without a report (exit code %s)", k, procs[k].exitcode)
                    board.trigger(k)
                del pending[k]
            if board.stopped() and deadline is None:
                deadline = time.monotonic() + grace_s
            if deadline is not None and time.monotonic() > deadline:
                for k in pending:
                    log.error("worker %d did not stop in time; terminating it", k)
                    procs[k].terminate()
                break
        except KeyboardInterrupt:   # the guard's handler stops through the board; a caller's may raise
            board.trigger(PARENT)
    return results


def _merge(settings: Settings, board: Board, results: dict[int, dict[str, Any]], parts: list[str],
           started: float, dry_run: bool, run_id: str | None, failed_start: JobError | None = None) -> JobResult:
    totals = dict.fromkeys(COUNTS, 0)
    for k in range(settings.workers):
        if k in results:
            counts = {name: results[k]["report"][name] for name in COUNTS}
        else:       # died: what it published; rows read of no known outcome are failed
            counts = dict(board.counts_of(k).__dict__)
            settled = sum(counts[name] for name in ("rows_delivered", "rows_skipped", "rows_rejected", "rows_failed"))
            counts["rows_failed"] += counts["rows_read"] - settled
        for name in COUNTS:
            totals[name] += counts[name]
    total = Counts(**totals)
    error = failed_start or _first_error(board.first(), results, settings.workers)
    error = error or ratio_error(total, settings.max_rejected_ratio, settings.max_failed_ratio)
    extra = _figures([results[k]["report"] for k in sorted(results)])
    if dry_run:
        extra["dry_run"] = True
    logs = [results[k]["report"]["sync_log"] for k in results if "sync_log" in results[k]["report"]]
    if logs:
        extra["sync_log"] = {"table": logs[0]["table"], "rows_written": sum(part["rows_written"] for part in logs),
                             **next(({"error": part["error"]} for part in logs if "error" in part), {})}
    report = build_report(total, aborted=error is not None, error=str(error) if error else None,
                          reject_file=merge_rejects(parts, settings.reject_file),
                          elapsed_seconds=time.monotonic() - started, extra=extra, run_id=run_id)
    return JobResult(exit_code(total, error, settings.skip_on_invalid_records), report, error)


def _figures(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The workers' figures as one job's: paces and requests in flight add up; of the latency
    percentiles, the worst worker's (they cannot be merged exactly)."""
    def worst(name: str) -> Any:
        values = [r[name] for r in reports if r.get(name) is not None]
        return max(values) if values else None

    paces = [r["requests_per_second_achieved"] for r in reports if r.get("requests_per_second_achieved")]
    return {"requests_per_second_achieved": round(sum(paces), 1) if paces else None,
            "latency_ms_p50": worst("latency_ms_p50"), "latency_ms_p90": worst("latency_ms_p90"),
            "latency_ms_p99": worst("latency_ms_p99"),
            "in_flight_max": sum(r.get("in_flight_max", 0) for r in reports),
            **{name: sum(r.get(name, 0) for r in reports) for name in ("rows_maybe_duplicated", "rows_fate_unknown")}}


def _first_error(first: int, results: dict[int, dict[str, Any]], workers: int) -> ConnectorError | None:
    """The error of the worker that aborted first (the others were only stopped)."""
    if first == PARENT:
        return JobError("interrupted")
    order = ([first] if first >= 0 else []) + list(range(workers))
    for k in order:
        outcome = results.get(k)
        if outcome is None:
            if first == k:
                return JobError(f"worker {k} ended without a report")
            continue
        if outcome["error"] is not None and not outcome["stopped"]:
            kind = UsageError if outcome["exit_code"] == 2 else JobError
            return kind(outcome["error"])
    return None
