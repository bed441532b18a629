"""Client-side pacing per Braze bucket: a token bucket, an hourly budget, and server feedback."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class PacingPolicy:
    per_second: float
    per_hour: int | None = None

    @property
    def burst(self) -> float:
        """Tokens a quiet bucket may hold: a twentieth of a second's worth, so that no 1-second
        window ever holds more than 1.05 x the rate."""
        return max(1.0, self.per_second / 20)


class _Bucket:
    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = now

    def wait_for_token(self, now: float) -> float:
        """Take a token if there is one (returns 0), else the seconds until there will be."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1 - 1e-9:     # tolerance: float sums of refills land just under 1
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class Pacer:
    """Blocks each request until its bucket allows it. Shared by all lanes; thread-safe.

    Also obeys the server: a 429's retry-after, or a remaining count of 0 with a reset time,
    pauses every lane of that bucket until then.
    """

    def __init__(self, policy: PacingPolicy, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        now = clock()
        self._second = _Bucket(policy.per_second, policy.burst, now)
        self._hour = None
        if policy.per_hour:
            # Refill at 59/60 of the hourly rate with a minute's burst: any hour holds at most
            # per_hour requests.
            self._hour = _Bucket(policy.per_hour * 59 / 60 / 3600, policy.per_hour / 60, now)
        self._paused_until = 0.0

    def acquire(self, give_up_at: float | None = None) -> bool:
        """Wait for a slot. False if it would come after `give_up_at` (a clock value)."""
        while True:     # ends: each pass takes a token or sleeps until one is due
            with self._lock:
                now = self._clock()
                wait = self._paused_until - now
                if wait <= 0:
                    wait = self._second.wait_for_token(now)
                    if wait == 0 and self._hour is not None:
                        wait = self._hour.wait_for_token(now)
                        if wait > 0:
                            self._second.tokens += 1   # give back: not sent this time
                    if wait == 0:
                        return True
            if give_up_at is not None and now + wait > give_up_at:
                return False
            self._sleep(wait)

    def pause(self, seconds: float) -> None:
        """The server asked for a pause: hold every lane of this bucket for `seconds`."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)
