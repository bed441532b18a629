"""The guard of a job's process (connector/workers/guard.py): a thread that dies of MemoryError or
RecursionError is one line that stops the job, never a traceback; a bug's traceback is kept; every
row read gets an outcome; a signal held while the command started is acted on once it can be."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from connector.errors import JobError
from connector.outcomes.ledger import Ledger
from connector.pipeline import JobResult, failed_before_start
from connector.workers import guard as guards
from connector.workers.guard import Guard, accounted


class Stoppable:
    """What a guard is bound to: anything with abort(error), as a Delivery has."""

    def __init__(self) -> None:
        self.errors: list[JobError] = []

    def abort(self, error: JobError) -> None:
        self.errors.append(error)


def _die_in_a_thread(exc: BaseException, name: str = "sender-3") -> None:
    def run() -> None:
        raise exc
    thread = threading.Thread(target=run, name=name)
    thread.start()
    thread.join()


@pytest.mark.parametrize("exc, words", [(MemoryError(), "out of memory while running the sender-3 thread"),
                                        (RecursionError(), "Python's stack ran out while running the sender-3 thread")])
def test_a_thread_dying_of_exhaustion_aborts_the_bound_job_in_one_line(capfd, exc, words):
    stoppable = Stoppable()
    with Guard() as guard:
        guard.bind(stoppable)
        _die_in_a_thread(exc)
    assert [str(e).split(" (")[0] for e in stoppable.errors] == [words]
    assert guard.failure is stoppable.errors[0]
    assert "Traceback" not in capfd.readouterr().err


def test_a_thread_dying_before_the_job_is_bound_stops_it_when_it_is():
    stoppable = Stoppable()
    with Guard() as guard:
        _die_in_a_thread(MemoryError())
        guard.bind(stoppable)
    assert len(stoppable.errors) == 1 and "out of memory" in str(stoppable.errors[0])


def test_a_bug_in_a_thread_goes_to_the_previous_hook_with_its_traceback(monkeypatch):
    seen: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args.exc_value))
    with Guard() as guard:
        _die_in_a_thread(ValueError("a bug"))
    assert guard.failure is None and [type(e) for e in seen] == [ValueError]


def test_rows_a_dying_thread_held_are_counted_failed():
    ledger = Ledger()
    for _ in range(5):
        ledger.read()
    report = {k: v for k, v in failed_before_start(JobError("x"), ledger).report.items() if k != "error"}
    report["status"] = "success"            # as a job whose thread died holding its 5 rows would say
    fine = JobResult(0, report, None)
    fixed = accounted(fine, JobError("out of memory while running the sender-0 thread"))
    assert fixed.exit_code == 1 and fixed.report["rows_failed"] == 5 and fixed.report["status"] == "failed"
    assert fixed.report["error"] == "out of memory while running the sender-0 thread"
    whole = JobResult(0, {**report, "rows_read": 0}, None)
    assert accounted(whole, None) is whole


def test_a_signal_before_the_job_raises_then_aborts_it_once_bound_then_is_only_noted():
    stoppable = Stoppable()
    with Guard() as guard:
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            signal.pthread_sigmask(signal.SIG_BLOCK, [])      # a call: the handler runs by now
        guard.bind(stoppable)
        os.kill(os.getpid(), signal.SIGINT)
        signal.pthread_sigmask(signal.SIG_BLOCK, [])
        assert [str(e) for e in stoppable.errors] == ["interrupted", "interrupted"]   # bind, then the signal
        guard.settle()
        os.kill(os.getpid(), signal.SIGTERM)
        signal.pthread_sigmask(signal.SIG_BLOCK, [])
        assert len(stoppable.errors) == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_signal_held_while_the_command_starts_is_acted_on_by_the_guard():
    previous = guards.hold_signals()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        signal.pthread_sigmask(signal.SIG_BLOCK, [])
        with Guard() as guard:
            with pytest.raises(KeyboardInterrupt):
                guard.check()
    finally:
        guards.restore_signals(previous)
    assert signal.getsignal(signal.SIGTERM) is previous[signal.SIGTERM]
