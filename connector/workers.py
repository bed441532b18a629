"""The worker side of `workers: N`: one process runs the single-process job on its share of the users.

A worker reads the whole input but keeps only its partition's rows (numbered globally), writes
its own rejected-rows part, publishes its counts on a shared board for the parent's progress
line, and stops at once when another worker has aborted (the board's stop event).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Callable

from connector.config import Settings
from connector.delivery import Delivery
from connector.errors import ConnectorError, JobError
from connector.job import JobOptions, failed_before_start, run_job
from connector.logs import setup_logging
from connector.report import Counts, Ledger
from connector.sources import Partition, open_source

SLOTS = ("rows_read", "rows_delivered", "rows_skipped", "rows_rejected", "rows_failed",
         "requests", "retries", "requests_unknown_fate", "progress_ppm")
COUNTS = SLOTS[:-1]
PARENT = -2             # board.first when the parent stopped the job (Ctrl-C, SIGTERM)
WATCH_INTERVAL_S = 0.05


@dataclass(frozen=True)
class Board:
    """What the processes share: counters per worker, the stop event and who aborted first."""

    counters: Any       # multiprocessing Array('q', workers * len(SLOTS))
    stop: Any           # multiprocessing Event
    first: Any          # multiprocessing Value('i'): the worker that aborted first, -1 none, PARENT

    @classmethod
    def create(cls, context: Any, workers: int) -> "Board":
        return cls(context.Array("q", workers * len(SLOTS), lock=False), context.Event(),
                   context.Value("i", -1))

    @property
    def workers(self) -> int:
        return len(self.counters) // len(SLOTS)

    def publish(self, index: int, counts: Counts, share: float | None) -> None:
        base = index * len(SLOTS)
        for i, name in enumerate(COUNTS):
            self.counters[base + i] = getattr(counts, name)
        self.counters[base + len(COUNTS)] = -1 if share is None else int(share * 1_000_000)

    def counts_of(self, index: int) -> Counts:
        base = index * len(SLOTS)
        return Counts(*self.counters[base:base + len(COUNTS)])

    def counts(self) -> Counts:
        each = [self.counts_of(k) for k in range(self.workers)]
        return Counts(*(sum(getattr(c, name) for c in each) for name in COUNTS))

    def share(self) -> float | None:
        """The least share of the input read by any worker, 0..1; None when unknown."""
        shares = [self.counters[k * len(SLOTS) + len(COUNTS)] for k in range(self.workers)]
        return None if min(shares) < 0 else min(shares) / 1_000_000

    def trigger(self, who: int) -> None:
        """Record `who` as the first to abort (if no one was) and stop every worker."""
        with self.first.get_lock():
            if self.first.value == -1:
                self.first.value = who
        self.stop.set()


class BoardLedger:
    """The ledger face `connector.logs.Progress` reads: the workers' counts added up."""

    def __init__(self, board: Board, clock: Callable[[], float] = time.monotonic) -> None:
        self._board = board
        self._clock = clock
        self._started = clock()

    def counts(self) -> Counts:
        return self._board.counts()

    def elapsed(self) -> float:
        return self._clock() - self._started


@dataclass(frozen=True)
class WorkerSpec:
    index: int
    settings: Settings          # input.columns as a plain dict: a MappingProxyType cannot be pickled
    reject_part: str
    dry_run: bool
    log_format: str
    known_notes: tuple[str, ...]  # header warnings the parent already printed


class _Watch:
    """A thread: publishes the worker's counts; stops its delivery when another worker aborted,
    and tells the others when this one did."""

    def __init__(self, index: int, board: Board, ledger: Ledger) -> None:
        self.stop_error = JobError("stopped: another worker aborted")
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

    def _loop(self) -> None:
        while not self._done.wait(WATCH_INTERVAL_S):     # ends when the job has returned
            self._tick()

    def _tick(self) -> None:
        delivery = self._delivery
        if delivery is not None:
            error = delivery.error
            if error is not None and error is not self.stop_error:
                self._board.trigger(self._index)
            elif error is None and self._board.stop.is_set():
                delivery.abort(self.stop_error)
        self._board.publish(self._index, self._ledger.counts(), self._share())


class _KnownNotes(logging.Filter):
    def __init__(self, notes: tuple[str, ...]) -> None:
        super().__init__()
        self._notes = frozenset(notes)

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno == logging.WARNING and record.getMessage() in self._notes)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def worker_main(spec: WorkerSpec, board: Board, conn: Any) -> None:
    """The worker process: run the job on this partition and send back its outcome."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)        # the parent decides; it sets board.stop
    signal.signal(signal.SIGTERM, _terminate)
    setup_logging(spec.log_format).addFilter(_KnownNotes(spec.known_notes))
    settings = replace(spec.settings, input=replace(spec.settings.input,
                                                    columns=MappingProxyType(dict(spec.settings.input.columns))))
    ledger = Ledger(spec.reject_part)
    watch = _Watch(spec.index, board, ledger)
    try:
        source = open_source(settings.input, partition=Partition(spec.index, board.workers))
    except ConnectorError as exc:
        result = failed_before_start(exc, ledger)
    else:
        watch.start(source.progress)
        with source:
            result = run_job(settings, source, source.columns, ledger,
                             JobOptions(dry_run=spec.dry_run, on_delivery=watch.bind))
    watch.finish()
    stopped = result.error is watch.stop_error
    if result.error is not None and not stopped:
        board.trigger(spec.index)
    conn.send({"exit_code": result.exit_code, "report": result.report, "stopped": stopped,
               "error": None if result.error is None else str(result.error)})
    conn.close()
