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
    reserve: float = 0.0    # share of Braze's limit left to other integrations (rate_limit_reserve)

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

    def reserve(self, now: float) -> float:
        """Take the next token, now or to come: the seconds until it is due (0: now). Tokens to
        come are a debt (the tokens go below 0) that the refill pays off in order, so each
        caller's token is its own and no two callers wait for the same one."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1
        if self.tokens >= -1e-9:        # tolerance: float sums of refills land just under a whole token
            return 0.0
        return -self.tokens / self.rate


FLOOR = 0.02    # the slowest the job goes when Braze says its limit is nearly used up: 2% of the budget


class Pacer:
    """Blocks each request until its bucket allows it. Shared by all senders; thread-safe.

    Also obeys the server: a 429's retry-after, or a remaining count of 0 with a reset time,
    pauses every sender of the bucket until then; and when Braze's headers say that what is left
    of its limit, above the reserve kept for other integrations, runs out before the reset at
    this pace, the pace drops to what is left until the reset (so jobs sharing a workspace
    converge on a fair share under its limit).
    """

    def __init__(self, policy: PacingPolicy, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] | None = None) -> None:
        self._clock = clock
        self._stopped = threading.Event()
        self._sleep = sleep if sleep is not None else self._stopped.wait
        self._lock = threading.Lock()
        self._base = policy.per_second
        self._reserve = policy.reserve
        now = clock()
        self._second = _Bucket(policy.per_second, policy.burst, now)
        self._hour = None
        if policy.per_hour:
            # Spread evenly: a second's burst at most, and a refill that keeps any hour
            # (Braze's hourly windows start at the top of the hour) within per_hour requests.
            burst = max(1.0, policy.per_hour / 3600)
            self._hour = _Bucket((policy.per_hour - burst) / 3600, burst, now)
        self._paused_until = 0.0
        self._capped_until = 0.0

    def rate(self) -> float:
        """The requests per second allowed now."""
        with self._lock:
            return self._current(self._clock())

    def _current(self, now: float) -> float:
        if self._capped_until and now >= self._capped_until:
            self._second.rate, self._capped_until = self._base, 0.0
        rate = self._second.rate
        return min(rate, self._hour.rate) if self._hour is not None else rate

    def acquire(self, give_up_at: float | None = None) -> bool:
        """Wait for a slot. False if it would come after `give_up_at` (a clock value), or if the
        pacer was stopped.

        Each caller reserves its own token and sleeps once, until it is due. When each slept
        until the next token and took it if still there, every token woke all the waiting
        senders and all but one slept again: at 300 requests in flight, tens of wake-ups per
        request, and the reading thread lost the GIL to them (bench/README.md)."""
        while not self._stopped.is_set():     # ends: a pass reserves a token, or sleeps out a pause
            with self._lock:
                now = self._clock()
                self._current(now)
                wait = self._paused_until - now
                reserved = wait <= 0
                if reserved:
                    wait = self._second.reserve(now)
                    if self._hour is not None:
                        wait = max(wait, self._hour.reserve(now))
                if give_up_at is not None and now + wait > give_up_at:
                    if reserved:
                        self._give_back()
                    return False
            if wait > 0:
                self._sleep(wait)
            if reserved:
                with self._lock:    # a pause that began while it slept holds it too (its token is spent)
                    if self._paused_until <= self._clock():
                        return not self._stopped.is_set()
        return False

    def _give_back(self) -> None:
        """Return the token just reserved (the lock is held): it is not used."""
        self._second.tokens += 1
        if self._hour is not None:
            self._hour.tokens += 1

    def pause(self, seconds: float) -> None:
        """The server asked for a pause: hold every sender of this bucket for `seconds`."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def observe(self, limit: int | None, remaining: int | None, reset_in: float | None) -> None:
        """Braze's X-RateLimit-* on an answer: pause when nothing is left; slow down to what is left
        above the reserve when that runs out before the reset; else the budget's pace."""
        if remaining is None or not reset_in or reset_in <= 0:
            return
        with self._lock:
            now = self._clock()
            if remaining == 0:
                self._paused_until = max(self._paused_until, now + reset_in)
                return
            spare = remaining - self._reserve * (limit or 0)
            rate = spare / reset_in
            if rate < self._base:
                self._second.rate = max(rate, self._base * FLOOR)
                self._capped_until = now + reset_in
            else:
                self._second.rate, self._capped_until = self._base, 0.0

    def stop(self) -> None:
        """The job stops: waiting senders give up their wait at once."""
        self._stopped.set()
