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
from connector.delivery.breaker import Breaker
from connector.delivery.concurrency import ConcurrencyPolicy, Controller
from connector.delivery.bodies import AnswerReader, as_classified
from connector.delivery.pacing import Pacer
from connector.delivery.retry import RetriesExhausted, RetryPolicy, RetryState
from connector.delivery.retrylog import RetryLog
from connector.errors import AuthError, DeliveryError, JobError
from connector.outcomes import Outcomes, Refusal, Settlement, refused

log = logging.getLogger("braze_export")

_AUTH_HINT = ("check the API key, that the endpoint is your instance's REST host, "
              "and that the key has the permission for {path}")
_IN_FLIGHT = ("sent, but its answer did not come before the job stopped, so Braze may or may not have it; "
              "a run on the same input with a state_file treats it as of unknown fate")
CONGESTION = frozenset({Kind.RATE_LIMITED, Kind.RETRY, Kind.UNKNOWN_FATE})   # signals to slow down
_LOST = ("the connection was lost after the request was sent, so Braze may or may not have it; not resent "
         "because event_delivery is at_most_once")


class Transport(Protocol):
    def post(self, path: str, body: bytes) -> Outcome: ...
    def expire(self, at: float) -> None: ...     # no request may run past `at` (time.monotonic)
    def close(self) -> None: ...


class Tally(Protocol):
    """Counts requests and retries (the ledger)."""

    def request(self, unknown_fate: bool = False, latency_s: float | None = None) -> None: ...
    def retry(self) -> None: ...


class Journal(Protocol):
    """Told of each batch before its first request, and when it is split unsent (the state file)."""

    def sending(self, batch: Batch) -> None: ...
    def unsent(self, batch: Batch) -> None: ...


@dataclass(frozen=True)
class DeliveryPolicy:
    path: str
    concurrency: ConcurrencyPolicy
    max_objects: int
    retry: RetryPolicy
    resend_unknown: bool = True     # a request of unknown fate is resent (replay-safe, or at_least_once)
    queue_depth: int = 1            # batches waiting per request in flight, on average: bounds memory
    max_wait_s: float = 1.0         # a partial batch waits this long for more rows
    stop_grace_s: float = 5.0       # after a stop, requests in flight get this long to end, then are cut
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


class Sending:
    """A batch on its way: its parts still to send (a split leaves halves), the current part's retries."""

    __slots__ = ("batch", "work", "state", "attempts", "sent_at", "unknown")

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.work: collections.deque[Batch] = collections.deque([batch])
        self.state: RetryState | None = None
        self.attempts = 0
        self.sent_at = 0.0
        self.unknown = False    # an attempt of the current part had an unknown fate: Braze may have it

    def next_part(self) -> None:
        """The current part has left the work (settled or split): the next starts afresh."""
        self.state, self.attempts, self.sent_at, self.unknown = None, 0, 0.0, False


class Attempts:
    """Advances batches for every sender thread; a sender owns a batch while it steps it."""

    def __init__(self, policy: DeliveryPolicy, pacer: Pacer, outcomes: Outcomes, tally: Tally, stop: Stop, *,
                 controller: Controller, breaker: Breaker, retries: RetryLog, journal: Journal | None = None,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
        self._policy, self._pacer, self._outcomes, self._tally = policy, pacer, outcomes, tally
        self._stop, self._journal, self._clock, self._wall = stop, journal, clock, wall
        self._controller, self._breaker, self._retries = controller, breaker, retries

    def step(self, sending: Sending, transport: Transport, rng: random.Random) -> float | None:
        """Send the batch's next part (again): None once every row is settled, else the seconds to
        wait before the next attempt (the sender parks the batch meanwhile)."""
        work = sending.work
        while work:     # ends: each pass settles or splits a part (halves are smaller), or returns
            part = work[0]
            if self._stop.error is not None:
                reason = self._stop.not_sent()
                first = f"{_IN_FLIGHT} ({self._stop.error})" if sending.unknown else reason
                self._settle(refused("failed", part.entries, first), sending, unknown=sending.unknown)
                while work:
                    rest = work.popleft()
                    self._outcomes.settled(refused("failed", rest.entries, reason, rest))
                return None
            try:
                payload = part.body(self._policy.encode)
            except (ValueError, UnicodeEncodeError):
                work.popleft()
                self._set_aside_unsendable(part, work)
                continue
            if len(payload) > MAX_BODY_BYTES and len(part.entries) > 1:
                work.popleft()
                work.extendleft(reversed(part.halves()))
                continue
            wait = self._attempt(part, payload, sending, transport, rng)
            if wait is not None:
                return wait
        return None

    def _attempt(self, part: Batch, payload: bytes, sending: Sending, transport: Transport,
                 rng: random.Random) -> float | None:
        """One request of the current part: None when the part left the work (settled or split),
        else the wait before it is sent again."""
        policy, pacer = self._policy, self._pacer
        if sending.state is None:
            sending.state = RetryState(policy.retry, self._clock())
        state = sending.state
        if not pacer.acquire(state.give_up_at):
            if self._stop.error is not None:
                self._fail(part, self._stop.not_sent(), sending)
                return None
            self._give_up(part, sending, "the rate limit left no slot within the retry time")
            return None
        if sending.attempts == 0:
            if self._journal is not None:
                self._journal.sending(part)
            sending.sent_at = self._wall()
        started = self._clock()
        outcome = policy.read_answer(transport.post(policy.path, payload))
        latency = self._clock() - started
        sending.attempts += 1
        answered = outcome.status is not None
        self._tally.request(unknown_fate=outcome.kind is Kind.UNKNOWN_FATE, latency_s=latency if answered else None)
        sending.unknown = sending.unknown or outcome.kind is Kind.UNKNOWN_FATE
        self._controller.answered(latency, outcome.kind in CONGESTION, outcome.kind is Kind.RATE_LIMITED)
        rate = outcome.rate
        pacer.observe(rate.limit, rate.remaining, rate.reset_in)
        action = ACTIONS[outcome.kind]
        if action is Action.RETRY_IF_REPLAYABLE:
            if not policy.resend_unknown:
                self._settle(refused("failed", part.entries, _LOST), sending, unknown=True)
                self._failed(_LOST)
                return None
            action = Action.RETRY
        if action not in RESENDS:
            self._answer(part, outcome, action, sending)
            return None
        # A 5xx or a lost connection while the bucket's other answers are fine is this batch's
        # own: it goes again after about a round trip, not after the back-off meant for a Braze
        # in trouble (at 2% of 503s, a 4-second job ended 1-2 s late on its last back-offs).
        quick = self._controller.quick_retry_s() if action is Action.RETRY else None
        try:
            sending.state, wait = state.increment(self._clock(), rate.retry_after, rng, quick)
        except RetriesExhausted as exhausted:
            self._give_up(part, sending, f"not delivered after {exhausted.retries} attempts; last: "
                                         f"{_describe(outcome)}")
            return None
        if action is Action.WAIT_FOR_BUCKET:      # the whole bucket waits what Braze asked
            pacer.pause(min(rate.retry_after, policy.retry.maximum_s) if rate.retry_after is not None else wait)
        self._tally.retry()
        self._retries.retried(sending.state.retries, policy.retry.maximum_retries, part.rows, _describe(outcome), wait)
        return wait

    def _answer(self, part: Batch, outcome: Outcome, action: Action, sending: Sending) -> None:
        """Settle (or split) the current part as a final answer's action says."""
        if action is Action.SPLIT and len(part.entries) > 1:
            sending.work.popleft()
            sending.work.extendleft(reversed(part.halves()))
            if self._journal is not None:
                self._journal.unsent(part)
            sending.next_part()
            return
        if action is Action.ACCEPT:
            self._settle(Settlement(delivered=part.entries), sending)
        elif action is Action.ACCEPT_OTHERS:
            self._partial(part, outcome, sending)
        elif action is Action.REJECT:
            reason = f"Braze refused the request (HTTP {outcome.status}): {outcome.message}"
            self._settle(refused("rejected", part.entries, reason), sending)
        elif action is Action.SPLIT:
            self._settle(refused("rejected", part.entries, "Braze refused the object as too large (HTTP 413)"), sending)
        elif action is Action.ABORT_AUTH:
            hint = _AUTH_HINT.format(path=self._policy.path)
            self._stop.abort(AuthError(f"Braze refused the request (HTTP {outcome.status}): {hint}"))
            self._fail(part, f"HTTP {outcome.status} from Braze: {hint}", sending)
            return
        else:
            self._stop.abort(DeliveryError(f"Braze answered HTTP {outcome.status} ({outcome.message}); "
                                           f"check the endpoint"))
            self._fail(part, f"HTTP {outcome.status} from Braze: {outcome.message}", sending)
            return
        self._breaker.delivered()

    def _partial(self, part: Batch, outcome: Outcome, sending: Sending) -> None:
        named: dict[int, str] = {}
        for err in outcome.errors:
            if err.index is not None and 0 <= err.index < len(part.entries) and err.array in (None, part.array):
                named.setdefault(err.index, err.reason)
            else:
                log.warning("Braze reported an error not tied to an object of %s: %s", part.rows, err.reason)
        default = None if outcome.others_accepted else outcome.message    # nothing was accepted
        delivered, rejections = [], []
        for i, entry in enumerate(part.entries):
            reason = named.get(i, default)
            if reason:
                rejections.append(Refusal("rejected", entry, f"rejected by Braze: {reason}", reason))
            else:
                delivered.append(entry)
        self._settle(Settlement(delivered, rejections), sending)

    def _set_aside_unsendable(self, part: Batch, work: collections.deque[Batch]) -> None:
        """A last guard (the writers refuse such rows first): fail the objects that cannot be
        JSON, send the others."""
        good = [e for e in part.entries if sendable(e)]
        bad = [e for e in part.entries if not sendable(e)]
        self._outcomes.settled(refused("failed", bad, "cannot be sent as JSON (NaN, Infinity or text "
                                                      "that is not valid UTF-8)"))
        if good:
            work.appendleft(Batch(part.array, good, part.opened))

    def _settle(self, settlement: Settlement, sending: Sending, unknown: bool = False) -> None:
        """Tell the outcomes of the current part's rows; the part leaves the work."""
        part = sending.work.popleft()
        attempts, sent_at = sending.attempts, sending.sent_at
        self._outcomes.settled(Settlement(
            settlement.delivered, settlement.refused, part, attempts, sent_at or None,
            self._wall() if attempts else None, unknown_fate=unknown,
            resent_after_unknown=sending.unknown and not unknown and bool(settlement.delivered)))
        sending.next_part()

    def _fail(self, part: Batch, reason: str, sending: Sending) -> None:
        """The part's rows failed; if an attempt of it had an unknown fate, Braze may have them."""
        if sending.unknown:
            reason = f"{reason} (an earlier attempt's fate is unknown: Braze may have these rows)"
        self._settle(refused("failed", part.entries, reason), sending, unknown=sending.unknown)

    def _give_up(self, part: Batch, sending: Sending, reason: str) -> None:
        """The part's retries ran out: its rows fail, the job goes on unless failures are sustained."""
        rows = part.rows
        self._fail(part, reason, sending)
        self._failed(f"{rows}: {reason}")

    def _failed(self, reason: str) -> None:
        error = self._breaker.failed(reason)
        if error is not None:
            self._stop.abort(error)
