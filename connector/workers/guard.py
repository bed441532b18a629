"""A job's process, guarded: SIGINT / SIGTERM at any moment, and a MemoryError or RecursionError in
any thread, end in the documented stop (requests in flight settle, the report is written).

`Guard` is entered for a whole job: by `run` (one process), by the workers' parent and by each
worker. A signal before the job's delivery exists raises KeyboardInterrupt (nothing was sent: the
caller reports "interrupted"); once it is bound (`bind`, an ExportOptions.on_delivery callback),
a signal aborts that delivery instead, which then drains the requests in flight (the export's own
handlers take over while its rows are pumped); after `settle()` a signal is only noted, so the
report is never cut short. A thread that dies of MemoryError or RecursionError is one line, not a
traceback, and aborts the bound delivery with its error (`failure`).
"""

from __future__ import annotations

import signal
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable

from connector.errors import EXHAUSTED, JobError, exhausted

if TYPE_CHECKING:
    from connector.pipeline import JobResult

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_HELD: list[int] = []       # signals that came before the command set its own handling (process-wide, as signals are)


def hold_signals() -> dict[int, Any]:
    """From the command's first line: SIGINT / SIGTERM are noted, not acted on, until the command
    sets its own handling (a Guard, or `release_signals`); ignored ones stay ignored. Returns the
    handlers it replaced, for `restore_signals`."""
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in SIGNALS:
            if signal.getsignal(sig) is not signal.SIG_IGN:
                previous[sig] = signal.signal(sig, _hold)
    return previous


def ignore_signals() -> None:
    """The command is over and the process about to end: SIGINT / SIGTERM no longer matter."""
    if threading.current_thread() is threading.main_thread():
        for sig in SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


def restore_signals(previous: dict[int, Any]) -> None:
    """The handlers `hold_signals` replaced, back (for a command run in-process)."""
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def _hold(signum: int, frame: object) -> None:
    _HELD.append(signum)


def release_signals(on_term: Callable[[int, Any], None]) -> None:
    """For a command without a job: Ctrl-C raises KeyboardInterrupt, SIGTERM calls `on_term`, and a
    signal held so far raises KeyboardInterrupt now."""
    if threading.current_thread() is threading.main_thread():
        for sig, handler in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, on_term)):
            if signal.getsignal(sig) is not signal.SIG_IGN:
                signal.signal(sig, handler)
    if _HELD:
        _HELD.clear()
        raise KeyboardInterrupt


class Guard:
    """SIGINT / SIGTERM and dying threads for the span of one job (see the module's docstring)."""

    def __init__(self, on_signal: Callable[[], None] | None = None) -> None:
        self._on_signal = on_signal     # instead of raising KeyboardInterrupt before the job (workers' parent)
        self._delivery: Any = None
        self._settled = False
        self.signalled = False
        self.failure: JobError | None = None        # a thread's MemoryError or RecursionError
        self._previous: dict[int, Any] = {}
        self._hook: Callable[[threading.ExceptHookArgs], Any] | None = None

    def __enter__(self) -> "Guard":
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                if signal.getsignal(sig) is not signal.SIG_IGN:     # ignored (nohup, a worker's SIGINT) stays so
                    self._previous[sig] = signal.signal(sig, self._signal)
        self._hook, threading.excepthook = threading.excepthook, self._thread_died
        if _HELD:                   # came while the command was starting
            _HELD.clear()
            self.signalled = True
        return self

    def check(self) -> None:
        """KeyboardInterrupt if a signal came before the job's delivery existed (held ones included)."""
        if self.signalled and self._delivery is None and not self._settled:
            if self._on_signal is not None:
                self._on_signal()
            else:
                raise KeyboardInterrupt

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        if self._hook is not None:
            threading.excepthook = self._hook

    def bind(self, delivery: Any) -> None:
        """The job's delivery exists: a signal (or a dying thread) from now on aborts it."""
        self._delivery = delivery
        if self.failure is not None:
            delivery.abort(self.failure)
        elif self.signalled:
            delivery.abort(JobError("interrupted"))

    def settle(self) -> None:
        """The job is over: a signal from now on is only noted, so the report is written whole."""
        self._settled = True

    def _signal(self, signum: int, frame: object) -> None:
        self.signalled = True
        if self._settled:
            return
        if self._delivery is not None:
            self._delivery.abort(JobError("interrupted"))
        elif self._on_signal is not None:
            self._on_signal()
        else:
            raise KeyboardInterrupt

    def _thread_died(self, args: threading.ExceptHookArgs) -> None:
        if not isinstance(args.exc_value, EXHAUSTED):
            if self._hook is not None:      # a bug: its traceback is wanted
                self._hook(args)
            return
        name = args.thread.name if args.thread is not None else "a"
        error = exhausted(args.exc_value, f"running the {name} thread")
        if self.failure is None:
            self.failure = error
        if self._delivery is not None and not self._settled:
            self._delivery.abort(error)


SETTLED = ("rows_delivered", "rows_skipped", "rows_rejected", "rows_failed")


def accounted(result: "JobResult", failure: JobError | None) -> "JobResult":
    """`result` with every row read given an outcome: rows a dying thread held are counted failed,
    and the thread's failure is the job's error when it had none."""
    report = dict(result.report)
    lost = report["rows_read"] - sum(report[name] for name in SETTLED)
    if lost <= 0 and failure is None:
        return result
    error = result.error or failure or JobError(f"{lost} rows read were given no outcome")
    report["rows_failed"] += max(lost, 0)
    report["status"] = "failed"
    report["error"] = str(error)
    from connector.pipeline import JobResult

    return JobResult(result.exit_code if result.error is not None else error.exit_code, report, error)
