"""Every request ends by its deadline: connect to last byte, however slowly a server trickles bytes.

A socket timeout bounds each socket operation, so a server that sends a byte a second would hold
a request for ever; the client's sockets have none once connected (braze/client.py). Each request is armed here with its deadline (the request's timeout, or
sooner when the job stops and allows its requests in flight only a short grace); one watchdog
thread shuts down the socket of a request past its deadline, so that the blocked read returns
and the request ends as one of unknown fate ("no answer within the timeout").
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Callable

BEAT_S = 0.05       # how often the watchdog looks


class Armed:
    """One request under watch: its deadline, and the connection it is using (set as it goes)."""

    __slots__ = ("deadline", "conn", "expired")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.conn: Any = None
        self.expired = False


class Watchdog:
    """Watches the armed requests of every client in the process; thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._armed: set[Armed] = set()
        self._thread: threading.Thread | None = None

    def arm(self, deadline: float) -> Armed:
        armed = Armed(deadline)
        with self._lock:
            self._armed.add(armed)
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="deadlines", daemon=True)
                self._thread.start()
        return armed

    def disarm(self, armed: Armed) -> None:
        with self._lock:
            self._armed.discard(armed)

    def _watch(self) -> None:
        while True:     # a daemon for the life of the process; each beat looks once
            time.sleep(BEAT_S)
            now = self._clock()
            with self._lock:
                due = [a for a in self._armed if a.deadline <= now]
                for armed in due:
                    self._armed.discard(armed)
                    armed.expired = True
            for armed in due:
                _shut(armed.conn)


def _shut(conn: Any) -> None:
    """End the connection's socket both ways: a read blocked on it returns at once."""
    sock = getattr(conn, "sock", None)
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


WATCHDOG = Watchdog()
