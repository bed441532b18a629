"""One batch to its final outcome: send it, act on the answer (connector/delivery/actions.py), back off
and resend, split it, and settle every one of its rows exactly once."""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Callable, Protocol

from connector.braze.outcome import Kind, Outcome
from connector.delivery.actions import ACTIONS, RESENDS, Action
from connector.delivery.batching import MAX_BODY_BYTES, Batch, Encoder, array_body, sendable
from connector.delivery.bodies import AnswerReader, as_classified
from connector.delivery.pacing import Pacer
from connector.delivery.retry import RetriesExhausted, RetryPolicy, RetryState
from connector.errors import AuthError, DeliveryError, JobError
from connector.outcomes import Outcomes, Refusal, Settlement, refused

log = logging.getLogger("braze_export")

_AUTH_HINT = ("check the API key, that the endpoint is your instance's REST host, "
              "and that the key has the permission for {path}")
_LOST = ("the connection was lost after the request was sent, so Braze may or may not have it; not resent "
         "because event_delivery is at_most_once")


class Transport(Protocol):
    def post(self, path: str, body: bytes) -> Outcome: ...
    def close(self) -> None: ...


class Tally(Protocol):
    """Counts requests and retries (the ledger)."""

    def request(self, unknown_fate: bool = False) -> None: ...
    def retry(self) -> None: ...


class Journal(Protocol):
    """Told of each batch before its first request, and when it is split unsent (the state file)."""

    def sending(self, batch: Batch) -> None: ...
    def unsent(self, batch: Batch) -> None: ...


@dataclass(frozen=True)
class DeliveryPolicy:
    path: str
    concurrency: int
    max_objects: int
    retry: RetryPolicy
    resend_unknown: bool = True     # a request of unknown fate is resent (replay-safe, or at_least_once)
    lanes: int = 0                  # ordering lanes; 0: as many as `concurrency`
    queue_depth: int = 2            # batches waiting per lane, on average: bounds memory
    max_wait_s: float = 1.0         # a partial batch waits this long for more rows, if its lane is idle
    encode: Encoder = array_body
    read_answer: AnswerReader = as_classified    # the endpoint's own per-entry errors (delivery/bodies.py)


class Stop:
    """The job's stop: the first error that aborted it; waits end early once it is set."""

    def __init__(self) -> None:
        self.error: JobError | None = None
        self._lock = threading.Lock()
        self._event = threading.Event()

    def abort(self, error: JobError) -> None:
        with self._lock:
            if self.error is None:
                self.error = error
        self._event.set()

    def wait(self, seconds: float) -> bool:
        """Wait `seconds`, or less if the job stops; True when it has stopped."""
        return self._event.wait(seconds)

    def not_sent(self) -> str:
        return f"not sent: the job was aborted ({self.error})"


def _describe(outcome: Outcome) -> str:
    return f"HTTP {outcome.status}" if outcome.status else outcome.message


class Attempts:
    """Delivers batches for every sender thread; each call to `deliver` owns its batch."""

    def __init__(self, policy: DeliveryPolicy, pacer: Pacer, outcomes: Outcomes, tally: Tally, stop: Stop, *,
                 journal: Journal | None = None, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self._policy, self._pacer, self._outcomes, self._tally = policy, pacer, outcomes, tally
        self._stop, self._journal, self._clock, self._wall = stop, journal, clock, wall

    def deliver(self, batch: Batch, transport: Transport, rng: random.Random) -> None:
        """Send the batch (in halves, if it must be split) until each row has its outcome."""
        work = collections.deque([batch])
        while work:
            part = work.popleft()
            try:
                payload = part.body(self._policy.encode)
            except (ValueError, UnicodeEncodeError):
                self._set_aside_unsendable(part, work)
                continue
            if len(payload) > MAX_BODY_BYTES and len(part.entries) > 1:
                work.extendleft(reversed(part.halves()))
                continue
            self._send(part, payload, work, transport, rng)

    def _send(self, batch: Batch, payload: bytes, work: collections.deque[Batch], transport: Transport,
              rng: random.Random) -> None:
        policy, pacer, stop = self._policy, self._pacer, self._stop
        state = RetryState(policy.retry, self._clock())
        attempts, sent_at = 0, 0.0
        while True:     # ends: each pass sends once, and the retry state bounds the passes
            if stop.error is not None:
                return self._fail(batch, stop.not_sent(), attempts, sent_at)
            if not pacer.acquire(state.give_up_at):
                return self._give_up(batch, "the rate limit left no slot within the retry time", attempts, sent_at)
            if attempts == 0:
                if self._journal is not None:
                    self._journal.sending(batch)
                sent_at = self._wall()
            outcome = policy.read_answer(transport.post(policy.path, payload))
            attempts += 1
            self._tally.request(unknown_fate=outcome.kind is Kind.UNKNOWN_FATE)
            rate = outcome.rate
            if rate.remaining == 0 and rate.reset_in:
                pacer.pause(rate.reset_in)
            action = ACTIONS[outcome.kind]
            if action is Action.RETRY_IF_REPLAYABLE:
                if not policy.resend_unknown:
                    return self._settle(refused("failed", batch.entries, _LOST), batch, attempts, sent_at, lost=True)
                action = Action.RETRY
            if action not in RESENDS:
                return self._answer(batch, outcome, action, work, attempts, sent_at)
            try:
                state, wait = state.increment(self._clock(), rate.retry_after, rng)
            except RetriesExhausted as exhausted:
                return self._give_up(batch, f"not delivered after {exhausted.retries} attempts; last: "
                                            f"{_describe(outcome)}", attempts, sent_at)
            if action is Action.WAIT_FOR_BUCKET:      # the whole bucket waits what Braze asked
                pacer.pause(min(rate.retry_after, policy.retry.maximum_s) if rate.retry_after is not None else wait)
            self._tally.retry()
            log.warning("retry %d/%d of %s after %s; waiting %.2fs", state.retries,
                        policy.retry.maximum_retries, batch.rows, _describe(outcome), wait)
            if stop.wait(wait):
                return self._fail(batch, stop.not_sent(), attempts, sent_at)

    def _answer(self, batch: Batch, outcome: Outcome, action: Action, work: collections.deque[Batch],
                attempts: int, sent_at: float) -> None:
        """Settle the batch as a final answer's action says."""
        if action is Action.ACCEPT:
            self._settle(Settlement(delivered=batch.entries), batch, attempts, sent_at)
        elif action is Action.ACCEPT_OTHERS:
            self._partial(batch, outcome, attempts, sent_at)
        elif action is Action.REJECT:
            reason = f"Braze refused the request (HTTP {outcome.status}): {outcome.message}"
            self._settle(refused("rejected", batch.entries, reason), batch, attempts, sent_at)
        elif action is Action.SPLIT and len(batch.entries) > 1:
            work.extendleft(reversed(batch.halves()))
            if self._journal is not None:
                self._journal.unsent(batch)
        elif action is Action.SPLIT:
            reason = "Braze refused the object as too large (HTTP 413)"
            self._settle(refused("rejected", batch.entries, reason), batch, attempts, sent_at)
        elif action is Action.ABORT_AUTH:
            hint = _AUTH_HINT.format(path=self._policy.path)
            self._stop.abort(AuthError(f"Braze refused the request (HTTP {outcome.status}): {hint}"))
            self._fail(batch, f"HTTP {outcome.status} from Braze: {hint}", attempts, sent_at)
        else:
            self._stop.abort(DeliveryError(f"Braze answered HTTP {outcome.status} ({outcome.message}); "
                                           f"check the endpoint"))
            self._fail(batch, f"HTTP {outcome.status} from Braze: {outcome.message}", attempts, sent_at)

    def _partial(self, batch: Batch, outcome: Outcome, attempts: int, sent_at: float) -> None:
        named: dict[int, str] = {}
        for err in outcome.errors:
            if err.index is not None and 0 <= err.index < len(batch.entries) and err.array in (None, batch.array):
                named.setdefault(err.index, err.reason)
            else:
                log.warning("Braze reported an error not tied to an object of %s: %s", batch.rows, err.reason)
        default = None if outcome.others_accepted else outcome.message    # nothing was accepted
        delivered, rejections = [], []
        for i, entry in enumerate(batch.entries):
            reason = named.get(i, default)
            if reason:
                rejections.append(Refusal("rejected", entry, f"rejected by Braze: {reason}", reason))
            else:
                delivered.append(entry)
        self._settle(Settlement(delivered, rejections), batch, attempts, sent_at)

    def _set_aside_unsendable(self, batch: Batch, work: collections.deque[Batch]) -> None:
        """A last guard (the writers refuse such rows first): fail the objects that cannot be
        JSON, send the others."""
        good = [e for e in batch.entries if sendable(e)]
        bad = [e for e in batch.entries if not sendable(e)]
        self._outcomes.settled(refused("failed", bad, "cannot be sent as JSON (NaN, Infinity or text "
                                                      "that is not valid UTF-8)"))
        if good:
            work.appendleft(Batch(batch.array, good, batch.opened, batch.lanes))

    def _settle(self, settlement: Settlement, batch: Batch, attempts: int, sent_at: float,
                lost: bool = False) -> None:
        self._outcomes.settled(Settlement(settlement.delivered, settlement.refused, batch, attempts,
                                          sent_at or None, self._wall() if attempts else None, lost))

    def _fail(self, batch: Batch, reason: str, attempts: int, sent_at: float) -> None:
        self._settle(refused("failed", batch.entries, reason), batch, attempts, sent_at)

    def _give_up(self, batch: Batch, reason: str, attempts: int, sent_at: float) -> None:
        self._stop.abort(DeliveryError(f"{batch.rows}: {reason}"))
        self._fail(batch, reason, attempts, sent_at)
