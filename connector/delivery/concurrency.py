"""How many requests may be in flight: pinned by an integer, or `auto` — following rate × latency.

With `concurrency: auto` the limit is what the rate budget and the measured latency need
(Little's law: in flight = rate × latency), reconsidered every `interval_s`:

- it grows to what rate × latency needs (at least one more each interval) while requests wait
  for a free slot, the pace is below the budget and the latency holds (under `RISING` × the
  least latency seen). The latency it plans with is the 90th percentile of the latest answers,
  not their median: a token bucket's tokens are lost while every slot waits on a slow answer,
  so the limit must cover the slow ones too;
- it is cut by `CUT` on a 429, or when more than `SCATTERED` of an interval's answers are 5xx or
  lost connections (once per interval), and may not grow again for `COOL_OFF_S`. A few scattered
  faults are a property of their batches (retried on their own), not a sign that Braze is
  overloaded: cut on every one, 2% of 503s kept a job at a sixth of its pace;
- it shrinks when the latency rises past `QUEUEING` × the least latency seen (Braze queues what
  we send: more in flight would only wait longer), or when it is well above what is needed;
- it does not grow while this process uses a core's worth of CPU (`CPU_BOUND`): the pace is
  bounded by the tool then (one Python process: the GIL), not by Braze, and more threads would
  only slow the reading thread down — at a sink on loopback, growing from 8 to 30 in flight cost
  a sixth of the pace and doubled the memory (bench/README.md);
- a growth is a trial, judged on the pace of an interval that began once its requests had time
  to come back (`JUDGE_AFTER` latencies): if the pace is not `GAIN` × the pace before it, the
  limit goes back and may not grow for `FUTILE_HOLD_S`; if it rose but uses less than `TRIM` of
  the requests in flight allowed (pace × latency), the limit comes down to what it uses, and may
  not grow for as long. Something else bounds the pace then (the reading thread, this machine's
  CPU, a sink on loopback answering in microseconds), and more threads would only cost memory
  and the GIL.

Before the first answer comes back, nothing is known of the latency but that it is at least the
time since requests began to wait for a slot; in flight = rate x latency then needs at least
what the budget sends in that time. So until the first answer the limit follows the clock (the
opening: `initial` + the budget x the seconds since x `HEADROOM`), and the pacer bounds what goes out: at
300 ms per answer, a job that waited for its first 8 answers before growing lost a latency at
the start, 7% of a 300,000-row job (bench/README.md). The first decision comes as soon as as
many answers as the limit have come back, not after an interval.

The same line tells a batch's own fault from a Braze in trouble for the retries
(`quick_retry_s`): while the faults of this interval and the last are scattered and no 429 came,
a 5xx or lost connection goes again after twice the median latency, not after TD's back-off.

An integer pins the limit; the controller then only measures. `tests/delivery/test_concurrency.py`
drives these rules with an injected clock.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, NamedTuple

SCATTERED = 0.1     # 5xx / lost connections up to this share of an interval's answers: faults, not congestion
FEW = 2             # ... and never fewer than this: one 503 among the first 8 answers says nothing
CUT = 0.7           # the limit after a congestion signal, as a share of the limit before
COOL_OFF_S = 2.0    # no growth for this long after a cut
RISING = 1.5        # latency over this multiple of the least seen: do not grow
QUEUEING = 3.0      # latency over this multiple of the least seen: shrink
HEADROOM = 1.25     # in flight = rate x latency x this, plus one
SAMPLES = 64        # latencies the median is taken over
GAIN = 1.1          # a growth must raise the pace by this much to be kept
JUDGE_AFTER = 3.0   # latencies after a growth before the interval it is judged on: its requests are back
FUTILE_HOLD_S = 10.0    # no growth for this long after one that raised nothing
TRIM = 0.5          # a growth whose pace uses less than this share of it is cut to what it uses
CPU_BOUND = 0.9     # CPU seconds per second over an interval at which the tool is the bottleneck


class Trial(NamedTuple):
    """A growth on trial: the limit and the pace before it, and when it is judged."""

    before: int
    pace: float
    judged_at: float


@dataclass(frozen=True)
class ConcurrencyPolicy:
    pinned: int | None = None   # an integer from the config; None for auto
    initial: int = 8
    maximum: int = 512
    interval_s: float = 0.5

    @property
    def start(self) -> int:
        return self.pinned if self.pinned is not None else min(self.initial, self.maximum)

    @property
    def most(self) -> int:
        """The most requests that may ever be in flight: the pinned number, or the auto bound."""
        return self.pinned if self.pinned is not None else self.maximum


class Controller:
    """The limit on requests in flight, and what was measured; thread-safe."""

    def __init__(self, policy: ConcurrencyPolicy, budget: Callable[[], float],
                 clock: Callable[[], float] = time.monotonic,
                 cpu: Callable[[], float] = time.process_time) -> None:
        self._policy = policy
        self._cpu = cpu                 # this process's CPU seconds so far (all its threads)
        self._budget = budget           # requests per second the pacer allows now
        self._clock = clock
        self._lock = threading.Lock()
        self._limit = policy.start
        self._latencies: deque[float] = deque(maxlen=SAMPLES)
        self._least = math.inf
        self._next = clock() + policy.interval_s
        self._cool_until = 0.0
        self._congested = 0             # 5xx and lost connections in this interval
        self._rate_limited = False      # a 429 in this interval
        self._starved = False           # a request waited for a slot in this interval
        self._answers = 0               # answers in this interval
        self._trial: Trial | None = None
        self._interval_start = clock()
        self._cpu_start = cpu()
        self._first = True              # the first decision comes once the first requests are back
        self._opening = True            # no answer yet: the limit follows the clock (see tick)
        self._since: float | None = None    # when a request first waited for a slot
        self._calm = True               # the last interval's faults were scattered (see quick_retry_s)

    @property
    def limit(self) -> int:
        return self._limit

    def latency(self) -> float | None:
        """The median latency of the latest answers, in seconds."""
        with self._lock:
            return statistics.median(self._latencies) if self._latencies else None

    @property
    def opening(self) -> bool:
        """No answer has come back yet: the limit follows the clock (call `tick` often)."""
        return self._opening

    def waited(self) -> None:
        """A request had to wait for a slot: more in flight might have helped."""
        self._starved = True
        if self._since is None:
            self._since = self._clock()

    def quick_retry_s(self) -> float | None:
        """How soon a batch may go again after a 5xx or a lost connection of its own: twice the
        median latency, while the bucket's answers are otherwise fine (the faults of this
        interval and the last one scattered, no 429); None (the back-off) otherwise."""
        with self._lock:
            calm = self._calm and not self._rate_limited and not self._congested_now()
            if not calm or not self._latencies:
                return None
            return 2 * statistics.median(self._latencies)

    def _congested_now(self) -> bool:
        """More 5xx / lost connections in this interval than scattered faults explain."""
        return self._congested > max(SCATTERED * self._answers, FEW)

    def answered(self, latency_s: float, congested: bool, rate_limited: bool = False) -> None:
        """One answer came back after `latency_s`; `congested`: a 429, a 5xx or a lost connection
        (`rate_limited`: a 429, which speaks for the whole bucket)."""
        with self._lock:
            self._answers += 1
            self._opening = False
            if congested:
                self._congested += 1
                self._rate_limited = self._rate_limited or rate_limited
            else:
                self._latencies.append(latency_s)
            now = self._clock()
            if now >= self._next or (self._first and self._answers >= self._limit):
                self._reconsider(now)

    def tick(self) -> int:
        """Reconsider the limit if an interval has passed (called when no answer comes); in the
        opening, follow the clock. The limit now."""
        with self._lock:
            now = self._clock()
            policy = self._policy
            if self._opening and self._since is not None and policy.pinned is None:
                # no answer for this long: the latency is at least that, and so is what it needs
                due = policy.start + math.ceil(self._budget() * (now - self._since) * HEADROOM)
                self._limit = max(self._limit, min(policy.maximum, due))
            if now >= self._next:
                self._reconsider(now)
            return self._limit

    def _reconsider(self, now: float) -> None:
        policy = self._policy
        elapsed = max(now - self._interval_start, 1e-9)
        pace = self._answers / elapsed
        cpu = self._cpu()
        busy = (cpu - self._cpu_start) / elapsed      # cores' worth of CPU this process used
        latency = statistics.median(self._latencies) if self._latencies else None
        if latency is not None:
            self._least = min(self._least, latency)
        self._calm = not self._rate_limited and not self._congested_now()
        if policy.pinned is None:
            slow = statistics.quantiles(self._latencies, n=10)[-1] if len(self._latencies) > 1 else latency
            self._limit = self._next_limit(now, pace, latency, slow, busy)
        self._next = now + policy.interval_s
        self._first = False
        self._interval_start = now
        self._cpu_start = cpu
        self._answers = 0
        self._congested = 0
        self._rate_limited = self._starved = False

    def _next_limit(self, now: float, pace: float, latency: float | None, slow: float | None,
                    busy: float) -> int:
        limit, most = self._limit, self._policy.maximum
        trial = self._trial
        if self._rate_limited or self._congested_now():
            self._trial = None
            self._cool_until = now + COOL_OFF_S
            return max(1, math.floor(limit * CUT))
        if trial is not None:
            if now < trial.judged_at:
                return limit                            # its requests are still on their way
            self._trial = None
            if pace < GAIN * trial.pace:
                self._cool_until = now + FUTILE_HOLD_S      # more in flight raised nothing: undo it
                return trial.before
            if slow is not None:        # keep what the pace reached uses (Little's law), not what was asked
                used = math.ceil(pace * slow * HEADROOM) + 1
                if used < TRIM * limit:
                    self._cool_until = now + FUTILE_HOLD_S  # the rest raised nothing: not again soon
                    return max(trial.before, used)
        if latency is None or slow is None or now < self._cool_until:
            return limit
        budget = self._budget()
        need = min(most, math.ceil(budget * slow * HEADROOM) + 1)
        if latency > QUEUEING * self._least:
            return max(1, math.floor(limit * 0.8))
        if self._starved and pace < 0.95 * budget and latency <= RISING * self._least and busy < CPU_BOUND:
            grown = min(most, max(limit + 1, need))      # what the budget needs at this latency
            if grown > limit:
                # judged on an interval that starts once the first of its requests came back:
                # the one it starts in holds the ramp (no answer for a latency), not its pace
                self._trial = Trial(limit, pace, now + self._policy.interval_s + JUDGE_AFTER * latency)
            return grown
        if limit > 1.5 * need:
            return max(need, math.floor(limit * 0.9))
        return limit
