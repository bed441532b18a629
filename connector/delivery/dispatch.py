"""Deliver objects to one Braze endpoint: rows in from the reading thread, sender threads out.

Rows are batched as they come (connector/delivery/schedule.py); a row whose user has a batch
not yet settled is held until it is, so each user's rows go out in input order while every
batch goes out as soon as it closes. Sender threads, each with its own connection,
take whichever batch is ready, as many at once as the concurrency controller allows
(connector/delivery/concurrency.py); more senders are started as the limit grows. A batch that
must wait before its next attempt is parked, not slept on: its sender takes other work, and only
its users' later rows wait. Every row handed in ends in `outcomes` exactly once.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from typing import Callable, NamedTuple

from connector.delivery.attempts import Attempts, DeliveryPolicy, Journal, Sending, Stop, Tally, Transport
from connector.delivery.batching import Batch
from connector.delivery.breaker import Breaker
from connector.delivery.concurrency import Controller
from connector.delivery.pacing import Pacer
from connector.delivery.retrylog import RetryLog
from connector.delivery.schedule import Schedule
from connector.errors import JobError
from connector.keys import UserKey
from connector.logs import json_logging
from connector.outcomes import Outcomes, refused
from connector.rows import Entry

ROOM_WAIT_S = 0.2       # the reading thread rechecks for an abort this often while it waits for room
IDLE_WAIT_S = 1.0       # an idle sender rechecks this often, whatever it was told
TICK_S = 0.25           # the flusher's beat: stale batches, parked batches, the controller
QUICK_TICK_S = 0.01     # ... until the first answer (the limit follows the clock then: concurrency.py),
                        # and once the input has ended (the rows held go out a beat after their release)


class Live(NamedTuple):
    in_flight: int
    limit: int
    latency_s: float | None
    budget_per_second: float


class Delivery:
    """Call `submit` for each object from one thread, then `finish` (or `abort`, then `finish`)."""

    def __init__(self, policy: DeliveryPolicy, transports: Callable[[], Transport], pacer: Pacer,
                 outcomes: Outcomes, tally: Tally, *, journal: Journal | None = None,
                 clock: Callable[[], float] = time.monotonic, seed: int | None = None) -> None:
        self._policy = policy
        self._outcomes = outcomes
        self._clock = clock
        self._pacer = pacer
        self._stop = Stop()
        self.controller = Controller(policy.concurrency, pacer.rate, clock)
        self._queue_depth = policy.queue_depth
        self._schedule = Schedule(policy.max_objects, clock)
        self._lock = threading.Lock()                    # the schedule, senders, parked batches
        self._work = threading.Condition(self._lock)     # senders wait here for a ready batch
        self._room = threading.Condition(self._lock)     # the reading thread waits here for room
        self._beat = threading.Condition(self._lock)     # the flusher waits here for its next beat
        self._quiet = threading.Condition(self._lock)    # finish() waits here for the last batch settled
        self._closing = False
        self._flushed = False
        self._held = False      # the reading thread waits for room: partial batches are not stale then
        self._busy = 0                                   # senders in a request now
        self.busy_most = 0                               # the most requests in flight at once
        self._parked: list[tuple[float, int, Batch]] = []     # (due, order, batch) to send again
        self._order = itertools.count()
        self._retries = RetryLog(json_logging())
        self._attempts = Attempts(policy, pacer, outcomes, tally, self._stop, controller=self.controller,
                                  breaker=Breaker(), retries=self._retries, journal=journal, clock=clock)
        self._transports = transports
        self._seeds = random.Random(seed)
        self._threads: list[threading.Thread] = []
        self._transports_made: list[Transport] = []
        self._flusher = threading.Thread(target=self._flush_idle, name="flusher", daemon=True)
        with self._lock:
            for _ in range(policy.concurrency.start):
                self._spawn()
        self._flusher.start()

    # -- the reading side -----------------------------------------------------------------
    @property
    def error(self) -> JobError | None:
        """The error that aborted the job, if one did."""
        return self._stop.error

    def live(self) -> Live:
        """What the progress line shows of delivery: requests in flight, the limit, the median
        latency and the pace the budget allows now."""
        return Live(self._busy, self.controller.limit, self.controller.latency(), self._pacer.rate())

    def submit(self, key: UserKey, array: str, entry: Entry) -> None:
        """Queue one object. After an abort it is counted as failed at once (check `error`)."""
        if self._stop.error is not None:
            self._outcomes.settled(refused("failed", [entry], self._stop.not_sent()))
            return
        with self._lock:
            added = self._schedule.add(array, entry, key)
            if not added:
                return
            if added > 0:
                self._wake(added)
            # Held back only here, as a batch closes or a batch's worth of rows is held (not row
            # by row): only the reading thread's rows make what waits grow past the room.
            while self._schedule.pending >= self._room_for() and self._stop.error is None:
                self._held = True
                self._room.wait(ROOM_WAIT_S)
            self._held = False

    def _room_for(self) -> int:
        """Batches (closed and not yet settled, or rows held) that the reading thread may run ahead
        by: a few per request the controller allows in flight now, so that memory follows the pace."""
        return (self._queue_depth + 1) * self.controller.limit + 16

    def abort(self, error: JobError) -> None:
        """Stop: nothing more is sent; what is still waiting is counted as failed."""
        self._stop.abort(error)
        self._pacer.stop()
        cutoff = self._clock() + self._policy.stop_grace_s
        with self._lock:
            for transport in self._transports_made:     # requests in flight get a short grace
                transport.expire(cutoff)
            for _, _, batch in self._parked:      # parked batches are failed by a sender now
                self._schedule.resume(batch)
            self._parked.clear()
            self._work.notify_all()
            self._room.notify_all()
            self._beat.notify()

    def finish(self) -> None:
        """Send what is left (unless aborted) and wait until every batch is settled. The senders
        then leave one after another, each closing its connection, without being waited for:
        woken all at once (or joined), hundreds of them queued for the GIL ahead of this thread,
        and the job ended 30-90 ms after its last answer (bench/README.md)."""
        with self._lock:
            self._closing = True
            self._wake(self._schedule.close_open())
            while not self._settled():     # ends: the senders settle every batch, sent or failed
                self._quiet.wait(IDLE_WAIT_S)
            self._flushed = True
            self._beat.notify()
        self._flusher.join()
        self._retries.flush(final=True)

    def _settled(self) -> bool:
        """Every row handed in has its outcome (the lock is held)."""
        return self._busy == 0 and self._schedule.empty()

    # -- the senders ----------------------------------------------------------------------
    def _spawn(self) -> None:
        """Start one more sender (the lock is held)."""
        transport = self._transports()
        self._transports_made.append(transport)
        thread = threading.Thread(target=self._sender, name=f"sender-{len(self._threads)}", daemon=True,
                                  args=(transport, random.Random(self._seeds.random())))
        self._threads.append(thread)
        thread.start()

    def _wake(self, ready: int) -> None:
        """`ready` batches became ready (the lock is held): tell senders, start more if allowed."""
        if ready:
            if self._busy >= self.controller.limit:
                self.controller.waited()        # work waits for a slot: more in flight may help
            # Senders for every batch ready, not only the ones that became ready now: when the
            # limit jumps (auto, at a slow Braze), the backlog gets its senders at once.
            want = min(self.controller.limit, self._policy.concurrency.most, self._busy + self._schedule.ready_count)
            while len(self._threads) < want and not self._stop.error:
                self._spawn()
            self._work.notify(ready)

    def _take(self) -> Sending | None:
        """The next batch to step, when a slot is free (the lock is held); None: wait."""
        if self._busy >= self.controller.limit:
            if self._schedule.has_ready():
                self.controller.waited()
            return None
        batch = self._schedule.take()
        if batch is None:
            return None
        self._busy += 1
        self.busy_most = max(self.busy_most, self._busy)
        if self._busy >= self.controller.limit and self._schedule.has_ready():
            self.controller.waited()        # it took the last slot and work is left waiting
        if batch.sending is None:
            batch.sending = Sending(batch)
        return batch.sending

    def _sender(self, transport: Transport, rng: random.Random) -> None:
        schedule = self._schedule
        try:
            while True:     # ends: once closing and nothing is left to send
                with self._lock:
                    sending = self._take()
                    while sending is None:
                        if self._closing and self._settled():
                            self._quiet.notify()
                            self._work.notify()     # the next idle sender leaves too
                            return
                        self._work.wait(IDLE_WAIT_S)
                        sending = self._take()
                wait: float | None = None
                try:
                    wait = self._attempts.step(sending, transport, rng)
                finally:
                    with self._lock:
                        self._busy -= 1
                        if wait is not None and self._stop.error is None:
                            heapq.heappush(self._parked, (self._clock() + wait, next(self._order), sending.batch))
                            self._beat.notify()
                        elif wait is not None:
                            self._wake(self._schedule.resume(sending.batch))
                        else:
                            self._wake(schedule.done(sending.batch))
                            # batch <-> sending is a cycle: broken now, the batch and its rows are
                            # freed at once, not by the cyclic GC (which, at a million rows, cost
                            # ~15% of the run and held every settled row until it ran)
                            sending.batch.sending = None
                            self._room.notify()
                        self._work.notify()
        finally:
            transport.close()

    def _flush_idle(self) -> None:
        """The beat: partial batches go out once they have waited `max_wait_s` (a slow input
        still flows); parked batches come back when due; the controller reconsiders its
        limit even when no answer comes."""
        wait = self._policy.max_wait_s
        while True:     # ends: finish() sets _flushed
            with self._lock:
                if self._flushed:
                    return
                now = self._clock()
                due = self._parked[0][0] if self._parked else now + TICK_S
                beat = QUICK_TICK_S if self.controller.opening or self._closing else TICK_S
                self._beat.wait(max(0.0, min(beat, due - now)))
                if self._flushed:
                    return
                now = self._clock()
                while self._parked and self._parked[0][0] <= now:
                    self._wake(self._schedule.resume(heapq.heappop(self._parked)[2]))
            limit = self.controller.limit
            if self.controller.tick() > limit:
                with self._lock:        # more slots: senders for the batches that wait, room to read
                    self._wake(self._schedule.ready_count)
                    self._room.notify()
            self._retries.flush()
            with self._lock:
                if self._closing and not self._schedule.has_ready():
                    # The input has ended: the rows that were held go out a beat after their
                    # release, gathered, rather than in a request per answer (a 300 ms job of
                    # 4,000 requests closed 200 more then) or once the last request is back (a
                    # latency more). The only place that closes them after finish(): a sender
                    # waits for this beat rather than close them itself.
                    self._wake(self._schedule.close_open())
                elif not self._held:      # a slow input, not one held back: send what waited
                    self._wake(self._schedule.close_open(self._clock() - wait))
