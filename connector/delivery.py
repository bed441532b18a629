"""Deliver objects to one Braze endpoint: lanes per user, batching, pacing, retries, outcomes.

Rows are routed to `concurrency` lanes by their user key, so the rows of one user always travel
in one lane, in input order: a lane sends its batches one at a time and retries a batch before
it sends the next. Every row handed in ends in the ledger exactly once.
"""

from __future__ import annotations

import collections
import logging
import queue
import random
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

from connector.batching import MAX_BODY_BYTES, Batch, Batcher, Entry, sendable
from connector.braze.outcome import Kind, Outcome
from connector.errors import AuthError, DeliveryError, JobError
from connector.pacing import Pacer
from connector.report import Ledger
from connector.retry import RetryPolicy

log = logging.getLogger("braze_export")

_crc32 = zlib.crc32
NOT_REPLAYABLE = frozenset({"events", "purchases"})   # Braze never de-duplicates these


class Transport(Protocol):
    def post(self, path: str, body: bytes) -> Outcome: ...
    def close(self) -> None: ...


class Journal(Protocol):
    """Told of each batch: before its first request, and once its rows have their final outcome."""

    def sending(self, batch: Batch) -> None: ...
    def unsent(self, batch: Batch) -> None: ...                 # split: its rows go on in halves
    def settled(self, batch: Batch, delivered: Sequence[Entry], lost: bool = False) -> None: ...


@dataclass(frozen=True)
class DeliveryPolicy:
    path: str
    concurrency: int
    max_objects: int
    retry: RetryPolicy
    at_most_once: bool = False      # events/purchases of unknown fate are not resent
    queue_depth: int = 2            # batches waiting per lane: bounds memory
    max_wait_s: float = 1.0         # a partial batch waits this long for more rows, if its lane is idle


_AUTH_HINT = ("check the API key, that the endpoint is your instance's REST host, "
              "and that the key has the permission for {path}")


class Delivery:
    """Call `submit` for each object from one thread, then `finish` (or `abort`, then `finish`)."""

    def __init__(self, policy: DeliveryPolicy, transports: Callable[[], Transport], pacer: Pacer,
                 ledger: Ledger, *, clock: Callable[[], float] = time.monotonic, seed: int | None = None,
                 journal: Journal | None = None) -> None:
        self._policy = policy
        self._journal = journal
        self._pacer = pacer
        self._ledger = ledger
        self._clock = clock
        self._stop = threading.Event()
        self._error: JobError | None = None
        self._error_lock = threading.Lock()
        self._lanes = policy.concurrency
        self._batchers = [Batcher(policy.max_objects, clock) for _ in range(policy.concurrency)]
        self._hand_lock = threading.Lock()     # batchers and the hand-over to the lanes, in order
        self._closing = threading.Event()
        self._queues: list[queue.Queue[Batch | None]] = [
            queue.Queue(maxsize=policy.queue_depth) for _ in range(policy.concurrency)]
        seeds = random.Random(seed)
        self._threads = [
            threading.Thread(target=self._lane, name=f"lane-{i}", daemon=True,
                             args=(self._queues[i], transports(), random.Random(seeds.random())))
            for i in range(policy.concurrency)
        ]
        self._flusher = threading.Thread(target=self._flush_idle, name="flusher", daemon=True)
        for thread in (*self._threads, self._flusher):
            thread.start()

    # -- the reading side -----------------------------------------------------------------
    @property
    def error(self) -> JobError | None:
        """The error that aborted the job, if one did."""
        return self._error

    def submit(self, key: str, array: str, entry: Entry) -> None:
        """Queue one object. After an abort it is counted as failed at once (check `error`)."""
        lane = _crc32(key.encode("utf-8", "surrogatepass")) % self._lanes
        with self._hand_lock:
            batch = self._batchers[lane].add(array, entry)
            if batch is not None:
                self._put(lane, batch)

    def _flush_idle(self) -> None:
        """Slow input (a pipe, a trickling query): an idle lane gets its partial batch once the
        batch has waited `max_wait_s`, rather than at the end of the input."""
        check = min(0.25, self._policy.max_wait_s)
        while not self._closing.wait(check):     # ends: finish() sets _closing
            cutoff = self._clock() - self._policy.max_wait_s
            with self._hand_lock:
                for lane, batcher in enumerate(self._batchers):
                    if self._queues[lane].empty():
                        for batch in batcher.take_stale(cutoff):
                            self._put(lane, batch)

    def _put(self, lane: int, batch: Batch) -> None:
        while True:     # ends: a lane takes a batch every send, or the job is aborted
            if self._error is not None:
                return self._fail(batch, self._not_sent_reason())
            try:
                self._queues[lane].put(batch, timeout=0.2)
                return
            except queue.Full:
                continue

    def abort(self, error: JobError) -> None:
        """Stop: nothing more is sent; what is still waiting is counted as failed."""
        with self._error_lock:
            if self._error is None:
                self._error = error
        self._stop.set()

    def finish(self) -> None:
        """Send what is left (unless aborted), wait for every lane, close the connections."""
        self._closing.set()
        self._flusher.join()
        for lane, batcher in enumerate(self._batchers):
            for batch in batcher.flush():
                self._put(lane, batch)
        for q in self._queues:
            q.put(None)
        for thread in self._threads:
            thread.join()

    # -- the lanes ------------------------------------------------------------------------
    def _lane(self, inbox: "queue.Queue[Batch | None]", transport: Transport, rng: random.Random) -> None:
        try:
            while (batch := inbox.get()) is not None:
                work = collections.deque([batch])
                while work:
                    self._deliver(work.popleft(), work, transport, rng)
        finally:
            transport.close()

    def _deliver(self, batch: Batch, work: collections.deque, transport: Transport,
                 rng: random.Random) -> None:
        try:
            payload = batch.body()
        except (ValueError, UnicodeEncodeError):
            return self._set_aside_unsendable(batch, work)
        if len(payload) > MAX_BODY_BYTES and len(batch.entries) > 1:
            work.extendleft(reversed(batch.halves()))
            return
        self._send(batch, payload, work, transport, rng)

    def _send(self, batch: Batch, payload: bytes, work: collections.deque, transport: Transport,
              rng: random.Random) -> None:
        policy = self._policy
        started = self._clock()
        give_up_at = started + policy.retry.total_s
        retries = 0
        while True:     # ends: each pass sends once and retries are bounded by the policy
            if self._error is not None:
                return self._fail(batch, self._not_sent_reason())
            if not self._pacer.acquire(give_up_at):
                return self._give_up(batch, "the rate limit left no slot within the retry time")
            if retries == 0 and self._journal is not None:
                self._journal.sending(batch)
            outcome = transport.post(policy.path, payload)
            self._ledger.request(unknown_fate=outcome.kind is Kind.UNKNOWN_FATE)
            if outcome.rate.remaining == 0 and outcome.rate.reset_in:
                self._pacer.pause(outcome.rate.reset_in)
            if self._settle(batch, outcome, work):
                return
            retries += 1
            wait = policy.retry.delay(retries, outcome.rate.retry_after, rng)
            if not policy.retry.allows(retries, self._clock() - started, wait):
                return self._give_up(batch, f"not delivered after {retries} attempts; last: {_describe(outcome)}")
            if outcome.kind is Kind.RATE_LIMITED:      # the whole bucket waits what Braze asked
                self._pacer.pause(outcome.rate.retry_after if outcome.rate.retry_after is not None else wait)
            self._ledger.retry()
            log.warning("retry %d/%d of %s after %s; waiting %.2fs", retries,
                        policy.retry.maximum_retries, batch.rows, _describe(outcome), wait)
            if self._stop.wait(wait):
                return self._fail(batch, self._not_sent_reason())

    def _settle(self, batch: Batch, outcome: Outcome, work: collections.deque) -> bool:
        """Record a final outcome; False when the batch is to be sent again."""
        kind = outcome.kind
        if kind is Kind.DELIVERED:
            self._ledger.delivered(len(batch.entries))
            if self._journal is not None:
                self._journal.settled(batch, batch.entries)
        elif kind is Kind.PARTIAL:
            self._partial(batch, outcome)
        elif kind is Kind.REJECTED:
            self._reject(batch, f"Braze refused the request (HTTP 400): {outcome.message}")
        elif kind is Kind.SPLIT:
            if len(batch.entries) == 1:
                self._reject(batch, "Braze refused the object as too large (HTTP 413)")
            else:
                work.extendleft(reversed(batch.halves()))
                if self._journal is not None:
                    self._journal.unsent(batch)
        elif kind is Kind.AUTH:
            hint = _AUTH_HINT.format(path=self._policy.path)
            self.abort(AuthError(f"Braze refused the request (HTTP {outcome.status}): {hint}"))
            self._fail(batch, f"HTTP {outcome.status} from Braze: {hint}")
        elif kind is Kind.FATAL:
            self.abort(DeliveryError(f"Braze answered HTTP {outcome.status} ({outcome.message}); "
                                     f"check the endpoint"))
            self._fail(batch, f"HTTP {outcome.status} from Braze: {outcome.message}")
        elif kind is Kind.UNKNOWN_FATE and self._policy.at_most_once and batch.array in NOT_REPLAYABLE:
            self._fail(batch, "the connection was lost after the request was sent, so Braze may "
                              "or may not have it; not resent because event_delivery is at_most_once", lost=True)
        else:
            return False
        return True

    def _partial(self, batch: Batch, outcome: Outcome) -> None:
        named: dict[int, str] = {}
        for err in outcome.errors:
            if err.index is not None and 0 <= err.index < len(batch.entries) and err.array in (None, batch.array):
                named.setdefault(err.index, err.reason)
            else:
                log.warning("Braze reported an error not tied to an object of %s: %s", batch.rows, err.reason)
        reasons: list[str | None]
        if outcome.status is not None and outcome.status >= 400:
            # Nothing of this request was accepted: every object is rejected, each with its reason.
            reasons = [named.get(i, outcome.message) for i in range(len(batch.entries))]
        else:
            reasons = [named.get(i) for i in range(len(batch.entries))]
        rejected = [(e.row, f"rejected by Braze: {r}", e.values) for e, r in zip(batch.entries, reasons) if r]
        self._ledger.not_delivered("rejected", rejected)
        self._ledger.delivered(len(batch.entries) - len(rejected))
        if self._journal is not None:
            self._journal.settled(batch, [e for e, r in zip(batch.entries, reasons) if not r])

    def _set_aside_unsendable(self, batch: Batch, work: collections.deque) -> None:
        """A last guard (the writers refuse such rows first): fail the objects that cannot be
        JSON, send the others."""
        good = [e for e in batch.entries if sendable(e)]
        bad = [e for e in batch.entries if not sendable(e)]
        self._fail(Batch(batch.array, bad), "cannot be sent as JSON (NaN, Infinity or text that "
                                            "is not valid UTF-8)")
        if good:
            work.appendleft(Batch(batch.array, good))

    def _reject(self, batch: Batch, reason: str) -> None:
        self._ledger.not_delivered("rejected", ((e.row, reason, e.values) for e in batch.entries))
        if self._journal is not None:
            self._journal.settled(batch, ())

    def _fail(self, batch: Batch, reason: str, lost: bool = False) -> None:
        self._ledger.not_delivered("failed", ((e.row, reason, e.values) for e in batch.entries))
        if self._journal is not None:
            self._journal.settled(batch, (), lost)

    def _give_up(self, batch: Batch, reason: str) -> None:
        self.abort(DeliveryError(f"{batch.rows}: {reason}"))
        self._fail(batch, reason)

    def _not_sent_reason(self) -> str:
        return f"not sent: the job was aborted ({self._error})"


def _describe(outcome: Outcome) -> str:
    return f"HTTP {outcome.status}" if outcome.status else outcome.message

