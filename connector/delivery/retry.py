"""The retry policy and one batch's retry state, as values: how often, how long to wait, when to give up."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace


class RetriesExhausted(Exception):
    """The batch has used its retries or its time; `retries` is how many failed attempts it had."""

    def __init__(self, retries: int) -> None:
        super().__init__(retries)
        self.retries = retries


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with full jitter, bounded in attempts and in total time.

    maximum_retries: resends after the first attempt. The n-th retry waits a random time in
    [base/2, base] with base = min(initial * 2**(n-1), maximum) — unless the server said how long
    to wait (Retry-After on a 429): then that, capped at `maximum_s`, plus up to 10% jitter so
    the senders do not return at the same instant; or the fault was the batch's own (`quick_s`:
    delivery says so while the bucket's other answers are fine): then [quick/2, quick]. A batch
    gives up once it has used `maximum_retries` resends or would pass `total_s` seconds.
    """

    maximum_retries: int = 6
    initial_s: float = 1.0
    maximum_s: float = 32.0
    total_s: float = 600.0

    def delay(self, retry_number: int, retry_after: float | None, rng: random.Random,
              quick_s: float | None = None) -> float:
        if retry_after is not None:
            return min(retry_after, self.maximum_s) * rng.uniform(1.0, 1.1)
        base = min(self.initial_s * (2 ** max(0, retry_number - 1)), self.maximum_s)
        if quick_s is not None:
            base = min(base, quick_s)
        return rng.uniform(base / 2, base)

    def allows(self, retry_number: int, elapsed_s: float, next_delay_s: float) -> bool:
        """May the `retry_number`-th resend happen after waiting `next_delay_s`?"""
        return retry_number <= self.maximum_retries and elapsed_s + next_delay_s <= self.total_s


@dataclass(frozen=True)
class RetryState:
    """Where one batch stands: when its first attempt started and how many retries it used."""

    policy: RetryPolicy
    started: float
    retries: int = 0

    @property
    def give_up_at(self) -> float:
        """The clock time after which no attempt of this batch may start."""
        return self.started + self.policy.total_s

    def increment(self, now: float, retry_after: float | None, rng: random.Random,
                  quick_s: float | None = None) -> tuple["RetryState", float]:
        """After one more failed attempt: the new state and the wait before the next attempt.
        Raises RetriesExhausted when the policy allows no further attempt."""
        retries = self.retries + 1
        wait = self.policy.delay(retries, retry_after, rng, quick_s)
        if not self.policy.allows(retries, now - self.started, wait):
            raise RetriesExhausted(retries)
        return replace(self, retries=retries), wait
