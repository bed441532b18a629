"""SIGINT / SIGTERM stop a job cleanly: nothing more is sent, every row read is accounted for."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

from connector.delivery import Delivery
from connector.errors import JobError
from connector.pipeline.pump import Pump


@contextlib.contextmanager
def stop_on_signals(pump: Pump | None, delivery: Delivery) -> Iterator[None]:
    """The pump stops at its next row; only while it waits inside the source (stdin may block)
    is the wait itself interrupted. Signals set to be ignored stay so. Without a pump (the
    removals) the delivery alone is stopped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        delivery.abort(JobError("interrupted"))
        if pump is not None and pump.reading:
            raise KeyboardInterrupt

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is not signal.SIG_IGN:
            previous[sig] = signal.signal(sig, stop)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
