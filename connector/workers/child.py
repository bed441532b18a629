"""The worker side of `workers: N`: one process runs the export on its share of the users.

A worker reads the whole input but keeps only its partition's rows (numbered globally), writes
its own rejected-rows part, publishes its counts on the shared board for the parent's progress
line, and stops at once when another worker has aborted (the board's stop event).
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Callable

from connector.config import Settings
from connector.delivery import Delivery
from connector.errors import EXHAUSTED, ConnectorError, JobError, exhausted
from connector.logs import setup_logging
from connector.memory import lean
from connector.modes import card_for
from connector.outcomes.ledger import Ledger
from connector.pipeline import ExportOptions, JobResult, failed_before_start, prepare, run_export
from connector.pipeline.plan import column_mapping
from connector.sources import Partition, open_source
from connector.workers.board import Board
from connector.workers.guard import SIGNALS, Guard, accounted

WATCH_INTERVAL_S = 0.05


@dataclass(frozen=True)
class WorkerSpec:
    index: int
    settings: Settings          # input.columns as a plain dict: a MappingProxyType cannot be pickled
    reject_part: str
    dry_run: bool
    log_format: str
    known_notes: tuple[str, ...]  # header warnings the parent already printed
    run_id: str | None = None     # the parent's run: the sync log's rows carry it


class _Watch:
    """A thread: publishes the worker's counts; stops its delivery when another worker aborted,
    and tells the others when this one did."""

    def __init__(self, index: int, board: Board, ledger: Ledger) -> None:
        self.stop_error = JobError("stopped: another worker aborted")
        self.ledger = ledger
        self._index, self._board, self._ledger = index, board, ledger
        self._delivery: Delivery | None = None
        self._share: Callable[[], float | None] = lambda: None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="watch", daemon=True)

    def bind(self, delivery: Delivery) -> None:
        self._delivery = delivery

    def start(self, share: Callable[[], float | None]) -> None:
        self._share = share
        self._thread.start()

    def finish(self) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()
        self._tick()
        self._delivery = None       # the job is over: a late stop must not abort it

    def _loop(self) -> None:
        while not self._done.wait(WATCH_INTERVAL_S):     # ends when the job has returned
            self._tick()

    def _tick(self) -> None:
        delivery = self._delivery
        if delivery is not None:
            error = delivery.error
            if error is not None and error is not self.stop_error:
                self._board.trigger(self._index)
            elif error is None and self._board.stopped():
                delivery.abort(self.stop_error)
        self._board.publish(self._index, self._ledger.counts(), self._share())


def worker_main(spec: WorkerSpec, board: Board, conn: Any) -> None:
    """The worker process: run the job on this partition and send back its outcome. Started with
    SIGINT and SIGTERM blocked (parent.py): the handlers are set before they are let in."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)        # the parent decides; it stops the board
    lean()
    setup_logging(spec.log_format)
    watch = _Watch(spec.index, board, Ledger())
    with Guard() as guard:          # SIGTERM to this worker alone: the documented stop, as in run
        try:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)     # a SIGTERM held meanwhile comes now
            result = _job(spec, board, guard, watch)
        except KeyboardInterrupt:       # before the job's delivery existed: nothing was sent
            result = failed_before_start(JobError("interrupted"), watch.ledger)
        except EXHAUSTED as exc:
            result = failed_before_start(exhausted(exc, f"running worker {spec.index}"), watch.ledger)
        guard.settle()
        watch.finish()
        result = accounted(result, guard.failure)
    stopped = result.error is watch.stop_error
    if result.error is not None and not stopped:
        board.trigger(spec.index)
    conn.send({"exit_code": result.exit_code, "report": result.report, "stopped": stopped,
               "error": None if result.error is None else str(result.error)})
    conn.close()


def _job(spec: WorkerSpec, board: Board, guard: Guard, watch: _Watch) -> JobResult:
    settings = replace(spec.settings, reject_file=spec.reject_part, input=replace(
        spec.settings.input, columns=MappingProxyType(dict(spec.settings.input.columns))))
    keys = column_mapping(settings).input_keys(card_for(settings.mode, settings.track_record_type).keys)
    ledger = watch.ledger
    try:
        source = open_source(settings.input, partition=Partition(spec.index, board.workers, keys))
    except ConnectorError as exc:
        return failed_before_start(exc, ledger)
    watch.start(source.progress)
    with source:
        try:
            plan = prepare(settings, source.columns, known_notes=spec.known_notes)
        except ConnectorError as exc:
            return failed_before_start(exc, ledger)

        def bound(delivery: Delivery) -> None:
            watch.bind(delivery)
            guard.bind(delivery)

        return run_export(plan, source, ledger, ExportOptions(dry_run=spec.dry_run, on_delivery=bound,
                                                              run_id=spec.run_id))
