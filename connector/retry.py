"""The retry policy as a value: how often, how long to wait, and when to give up."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with full jitter, bounded in attempts and in total time.

    maximum_retries: resends after the first attempt. The n-th retry waits a random time in
    [base/2, base] with base = min(initial * 2**(n-1), maximum) — unless the server said how long
    to wait (Retry-After on a 429): then that, plus up to 10% jitter so the lanes do not return
    at the same instant. A batch gives up once it has used `maximum_retries` resends or would
    pass `total_s` seconds (so a Retry-After beyond the budget ends the batch at once).
    """

    maximum_retries: int = 6
    initial_s: float = 1.0
    maximum_s: float = 32.0
    total_s: float = 600.0

    def delay(self, retry_number: int, retry_after: float | None, rng: random.Random) -> float:
        if retry_after is not None:
            return retry_after * rng.uniform(1.0, 1.1)
        base = min(self.initial_s * (2 ** max(0, retry_number - 1)), self.maximum_s)
        return rng.uniform(base / 2, base)

    def allows(self, retry_number: int, elapsed_s: float, next_delay_s: float) -> bool:
        """May the `retry_number`-th resend happen after waiting `next_delay_s`?"""
        return retry_number <= self.maximum_retries and elapsed_s + next_delay_s <= self.total_s
