"""Deliver objects to one Braze endpoint: rows in from the reading thread, sender threads out.

Rows are routed to lanes by their user key (connector/delivery/schedule.py), so the rows of one
user always travel in one lane, in input order; `concurrency` sender threads take whichever batch
is ready, each over its own connection. Every row handed in ends in `outcomes` exactly once.
"""

from __future__ import annotations

import random
import threading
import time
import zlib
from typing import Callable

from connector.delivery.attempts import Attempts, DeliveryPolicy, Journal, Stop, Tally, Transport
from connector.delivery.pacing import Pacer
from connector.delivery.schedule import Lanes, Schedule
from connector.errors import JobError
from connector.keys import UserKey
from connector.outcomes import Outcomes, refused
from connector.rows import Entry

_crc32 = zlib.crc32
ROOM_WAIT_S = 0.2       # the reading thread rechecks for an abort this often while it waits for room
IDLE_WAIT_S = 1.0       # an idle sender rechecks this often, whatever it was told


class Delivery:
    """Call `submit` for each object from one thread, then `finish` (or `abort`, then `finish`)."""

    def __init__(self, policy: DeliveryPolicy, transports: Callable[[], Transport], pacer: Pacer,
                 outcomes: Outcomes, tally: Tally, *, journal: Journal | None = None,
                 clock: Callable[[], float] = time.monotonic, seed: int | None = None) -> None:
        self._policy = policy
        self._outcomes = outcomes
        self._clock = clock
        self._stop = Stop()
        lanes = policy.lanes or policy.concurrency
        self._lanes = lanes
        self._max_pending = lanes * (policy.queue_depth + 1) + policy.concurrency
        self._open = Lanes(lanes, policy.max_objects, clock)
        self._batchers = self._open.batchers
        self._hand = threading.Lock()                    # the open batches: the reading thread, the flusher
        self._schedule = Schedule(lanes, policy.max_objects)
        self._lock = threading.Lock()                    # the queues: taken once per batch (after _hand)
        self._work = threading.Condition(self._lock)     # senders wait here for a ready batch
        self._room = threading.Condition(self._lock)     # the reading thread waits here for room
        self._closing = False
        self._flushed = threading.Event()
        self._attempts = Attempts(policy, pacer, outcomes, tally, self._stop, journal=journal, clock=clock)
        seeds = random.Random(seed)
        self._threads = [
            threading.Thread(target=self._sender, name=f"sender-{i}", daemon=True,
                             args=(transports(), random.Random(seeds.random())))
            for i in range(policy.concurrency)
        ]
        self._flusher = threading.Thread(target=self._flush_idle, name="flusher", daemon=True)
        for thread in (*self._threads, self._flusher):
            thread.start()

    # -- the reading side -----------------------------------------------------------------
    @property
    def error(self) -> JobError | None:
        """The error that aborted the job, if one did."""
        return self._stop.error

    def submit(self, key: UserKey, array: str, entry: Entry) -> None:
        """Queue one object. After an abort it is counted as failed at once (check `error`)."""
        if self._stop.error is not None:
            self._outcomes.settled(refused("failed", [entry], self._stop.not_sent()))
            return
        lane = _crc32(key.encode("utf-8", "surrogatepass")) % self._lanes
        with self._hand:
            batch = self._batchers[lane].add(array, entry)
            if batch is None:
                return
            with self._lock:        # closed under _hand: the flusher cannot queue a later batch of its lane first
                if self._schedule.close(batch):
                    self._work.notify()
        with self._lock:
            while self._schedule.pending >= self._max_pending and self._stop.error is None:
                self._room.wait(ROOM_WAIT_S)

    def abort(self, error: JobError) -> None:
        """Stop: nothing more is sent; what is still waiting is counted as failed."""
        self._stop.abort(error)
        with self._lock:
            self._work.notify_all()
            self._room.notify_all()

    def finish(self) -> None:
        """Send what is left (unless aborted), wait for every sender, close the connections."""
        self._flushed.set()
        self._flusher.join()
        with self._hand, self._lock:
            self._closing = True
            self._schedule.merge(self._open.flush())
            self._work.notify_all()
        for thread in self._threads:
            thread.join()

    def _flush_idle(self) -> None:
        """Slow input (a pipe, a trickling query): partial batches of idle lanes go out, merged,
        once they have waited `max_wait_s`, rather than at the end of the input."""
        wait = self._policy.max_wait_s
        while not self._flushed.wait(min(0.25, wait)):     # ends: finish() sets _flushed
            with self._hand, self._lock:
                woken = self._schedule.merge(self._open.stale(self._clock() - wait, self._schedule.idle))
                if woken:
                    self._work.notify(woken)

    # -- the senders ----------------------------------------------------------------------
    def _sender(self, transport: Transport, rng: random.Random) -> None:
        schedule = self._schedule
        try:
            while True:     # ends: once closing and nothing is left to send
                with self._lock:
                    batch = schedule.take()
                    while batch is None:
                        if self._closing and schedule.empty():
                            self._work.notify_all()
                            return
                        self._work.wait(IDLE_WAIT_S)
                        batch = schedule.take()
                try:
                    if self._stop.error is not None:
                        self._outcomes.settled(refused("failed", batch.entries, self._stop.not_sent(), batch))
                    else:
                        self._attempts.deliver(batch, transport, rng)
                finally:
                    with self._lock:
                        woken = schedule.done(batch)
                        if woken:
                            self._work.notify(woken)
                        self._room.notify()
        finally:
            transport.close()
