"""Deliver objects to one Braze endpoint: rows in from the reading thread, sender threads out.

Rows are batched by user key (connector/delivery/schedule.py): a batch waits only for earlier
batches holding rows of its users, so each user's rows go out in input order while other batches
go out side by side. Sender threads, each with its own connection,
take whichever batch is ready, as many at once as the concurrency controller allows
(connector/delivery/concurrency.py); more senders are started as the limit grows. A batch that
must wait before its next attempt is parked, not slept on: its sender takes other work, and only
the batches of its users wait. Every row handed in ends in `outcomes` exactly once.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
import zlib
from typing import Callable, NamedTuple

from connector.delivery.attempts import Attempts, DeliveryPolicy, Journal, Sending, Stop, Tally, Transport
from connector.delivery.batching import Batch
from connector.delivery.breaker import Breaker
from connector.delivery.concurrency import Controller
from connector.delivery.pacing import Pacer
from connector.delivery.retrylog import RetryLog
from connector.delivery.schedule import Batchers, Schedule
from connector.errors import JobError
from connector.keys import UserKey
from connector.logs import json_logging
from connector.outcomes import Outcomes, refused
from connector.rows import Entry

_crc32 = zlib.crc32
ROOM_WAIT_S = 0.2       # the reading thread rechecks for an abort this often while it waits for room
IDLE_WAIT_S = 1.0       # an idle sender rechecks this often, whatever it was told
TICK_S = 0.25           # the flusher's beat: stale batches, parked batches, the controller


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
        self._most = policy.concurrency.most
        self._groups = self._groups_for(self.controller.limit)     # batchers in use: see submit
        self._chained = False       # a batch closed waiting for another: see _target_groups
        self._queue_depth = policy.queue_depth
        self._open = Batchers(self._most, policy.max_objects, clock)
        self._batchers = self._open.batchers
        self._hand = threading.Lock()                    # the open batches: the reading thread, the flusher
        self._schedule = Schedule(policy.max_objects)
        self._lock = threading.Lock()                    # queues, senders, parked batches (after _hand)
        self._work = threading.Condition(self._lock)     # senders wait here for a ready batch
        self._room = threading.Condition(self._lock)     # the reading thread waits here for room
        self._beat = threading.Condition(self._lock)     # the flusher waits here for its next beat
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
        # a user's rows all go through one batcher (crc32: the same batches on every run, as preview shows)
        batcher = self._batchers[_crc32(key.encode("utf-8", "surrogatepass")) % self._groups]
        with self._hand:
            batch = batcher.add(array, entry, key)
            if batch is None:
                return
            with self._lock:        # closed under _hand: the flusher cannot close a later batch of its users first
                if self._schedule.close(batch):
                    self._wake(1)
                elif not self._chained:
                    self._chained = True    # it waits for an earlier batch: users have several rows
                if self._groups != self._target_groups():
                    self._regroup_held()
        # Held back only here, as a batch closes (once per batch, not per row): only the reading
        # thread's closing batches make the queue grow past the room.
        with self._lock:
            while self._schedule.pending >= self._room_for() and self._stop.error is None:
                self._held = True
                self._room.wait(ROOM_WAIT_S)
            self._held = False

    def _groups_for(self, limit: int) -> int:
        """How many batchers fill batches: as many as the requests allowed in flight (a power of
        two, 16 at least, up to `most`). The batches of one batcher follow each other when a
        user's rows straddle two of them (an input sorted by user), so the batchers bound the
        requests in flight then; and each holds one partial batch per array, so a job at 8 in
        flight keeps 16 of them in memory, not 512. Measured (bench/pace.py, bench/run.py):
        twice the limit cost 4% of the pace at 100 ms in partial batches (512 of them at each
        regroup); a floor of 64 cost 14% at a loopback sink; fewer than 16 at the start left
        users with many rows in chains of batches that held the first growth back."""
        return min(self._most, max(16, 1 << (limit - 1).bit_length()))

    def _target_groups(self) -> int:
        """The batchers to use now: fewer as soon as the limit falls, more only once a batch has
        closed waiting for an earlier one (`_chained`: users have several rows, and each
        batcher's batches may form a chain). Users of one row each never wait, and then the 16
        batchers of the start do for any number in flight: regrouping to 256 fresh ones left the
        senders idle while all of them filled their first batch, and cost their partial batches
        (bench/pace.py attributes at 300 ms: 79% -> 87% of the budget)."""
        most = self._groups_for(self.controller.limit)
        return most if self._chained else min(self._groups, most)

    def _regroup(self) -> None:
        """Follow the limit with the batchers in use. The open batches are closed first: a user
        moved to another batcher must not have a row closed there before its earlier rows."""
        if self._groups != self._target_groups():
            with self._hand, self._lock:
                self._regroup_held()

    def _regroup_held(self) -> None:
        """_regroup with both locks held: at once when a batch closes (the beat comes every TICK_S;
        meanwhile the room would fill the old batchers: 290 batches in 16 chains in 0.25 s)."""
        self._wake(self._schedule.merge(self._open.flush()))
        self._groups = self._target_groups()

    def _room_for(self) -> int:
        """Batches closed and not yet settled that the reading thread may run ahead by: a few per
        request the controller allows in flight now, so that memory follows the pace, and one per
        batcher (batchers fed at one rate fill their batches at about the same moment: a wave
        of them must not hold the reading thread while senders wait for the next)."""
        return (self._queue_depth + 1) * self.controller.limit + self._groups + 16

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
        """Send what is left (unless aborted), wait for every sender, close the connections."""
        with self._hand, self._lock:
            self._closing = True
            self._wake(self._schedule.merge(self._open.flush()))
            self._work.notify_all()
        while True:     # ends: senders leave once closing and nothing is left; new ones may start meanwhile
            with self._lock:
                threads = list(self._threads)
            for thread in threads:
                thread.join()
            with self._lock:
                if len(self._threads) == len(threads):
                    self._flushed = True
                    self._beat.notify()
                    break
        self._flusher.join()
        self._retries.flush(final=True)

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
                        if self._closing and schedule.empty():
                            self._work.notify_all()
                            self._beat.notify()
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
        """The beat: partial batches go out, merged, once they have waited
        `max_wait_s` (a slow input still flows); parked batches come back when due; the
        controller reconsiders its limit even when no answer comes."""
        wait = self._policy.max_wait_s
        while True:     # ends: finish() sets _flushed
            with self._lock:
                if self._flushed:
                    return
                now = self._clock()
                due = self._parked[0][0] if self._parked else now + TICK_S
                self._beat.wait(max(0.0, min(TICK_S, due - now)))
                if self._flushed:
                    return
                now = self._clock()
                while self._parked and self._parked[0][0] <= now:
                    self._wake(self._schedule.resume(heapq.heappop(self._parked)[2]))
            self.controller.tick()
            self._regroup()
            self._retries.flush()
            with self._hand, self._lock:
                if not self._held:      # a slow input, not one held back: send what waited
                    self._wake(self._schedule.merge(self._open.stale(self._clock() - wait)))
