"""Token buckets per Braze rate-limit bucket, and the X-RateLimit-* headers they produce."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping

BUCKET_OF_PATH = {
    "/users/track": "track",
    "/users/identify": "users",
    "/users/alias/new": "users",
    "/users/delete": "users",
    "/users/merge": "users",
    "/subscription/status/set": "subscription",
    "/v2/subscription/status/set": "subscription",
    "/users/external_ids/rename": "rename",
    "/users/external_ids/remove": "remove",
}
# Braze's default limits, as requests per second: 3,000 per 3 s; 20,000/min shared by identify, alias/new,
# delete and merge; 5,000/min shared by both subscription paths; 1,000/min each for rename and remove.
DEFAULT_RPS = {"track": 1000.0, "users": 333.0, "subscription": 5000 / 60, "rename": 1000 / 60,
               "remove": 1000 / 60}
BUCKETS = tuple(DEFAULT_RPS)
RESET_STYLES = ("epoch", "seconds")


@dataclass(frozen=True)
class Verdict:
    """One look at a bucket: allowed or not, what is left, and when it is full again / has a token."""

    allowed: bool
    limit: int
    remaining: int
    full_in: float
    retry_after: float


class Bucket:
    """A token bucket: `rate` tokens per second, holding at most `capacity`."""

    def __init__(self, rate: float, capacity: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("a bucket needs a positive rate and a capacity of at least 1")
        self.rate = rate
        self.capacity = capacity
        self.clock = clock
        self.tokens = capacity
        self.stamp = clock()
        self.lock = threading.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def _verdict(self, allowed: bool) -> Verdict:
        missing = max(0.0, 1.0 - self.tokens)
        return Verdict(allowed, int(self.capacity), max(0, math.floor(self.tokens)),
                       (self.capacity - self.tokens) / self.rate, missing / self.rate)

    def take(self) -> Verdict:
        """Take one token if there is one."""
        with self.lock:
            self._refill()
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return self._verdict(True)
            return self._verdict(False)

    def peek(self) -> Verdict:
        """The bucket's state, taking nothing."""
        with self.lock:
            self._refill()
            return self._verdict(True)

    def refill(self) -> None:
        with self.lock:
            self.tokens = self.capacity
            self.stamp = self.clock()


class RateLimits:
    """The sandbox's buckets (see BUCKETS) and how their state is written in headers.

    `rates` and `bursts` set any bucket by name; a burst defaults to 3 seconds' worth of the rate.
    """

    def __init__(self, track_rps: float = DEFAULT_RPS["track"], users_rps: float = DEFAULT_RPS["users"],
                 track_burst: float | None = None, users_burst: float | None = None, reset_style: str = "epoch",
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time,
                 rates: Mapping[str, float] | None = None, bursts: Mapping[str, float | None] | None = None) -> None:
        if reset_style not in RESET_STYLES:
            raise ValueError(f"reset_style must be one of {', '.join(RESET_STYLES)}")
        unknown = sorted((set(rates or {}) | set(bursts or {})) - set(BUCKETS))
        if unknown:
            raise ValueError(f"unknown rate-limit bucket(s): {', '.join(unknown)}")
        rate = {**DEFAULT_RPS, "track": track_rps, "users": users_rps, **(rates or {})}
        burst: dict[str, float | None] = {"track": track_burst, "users": users_burst, **(bursts or {})}
        self.buckets = {name: Bucket(rate[name], burst.get(name) or max(1.0, rate[name] * 3), clock)
                        for name in BUCKETS}
        self.reset_style = reset_style
        self.wall = wall

    def take(self, path: str) -> Verdict:
        return self.buckets[BUCKET_OF_PATH[path]].take()

    def peek(self, path: str) -> Verdict:
        return self.buckets[BUCKET_OF_PATH[path]].peek()

    def refill(self) -> None:
        for bucket in self.buckets.values():
            bucket.refill()

    def headers(self, verdict: Verdict) -> list[tuple[str, str]]:
        """X-RateLimit-Limit / -Remaining / -Reset, plus X-Ratelimit-Retry-After when refused."""
        full_in = math.ceil(verdict.full_in)
        reset = full_in if self.reset_style == "seconds" else math.ceil(self.wall()) + full_in
        out = [("X-RateLimit-Limit", str(verdict.limit)), ("X-RateLimit-Remaining", str(verdict.remaining)),
               ("X-RateLimit-Reset", str(reset))]
        if not verdict.allowed:
            out.append(("X-Ratelimit-Retry-After", format_seconds(verdict.retry_after)))
        return out


def format_seconds(seconds: float) -> str:
    """Seconds as a short decimal ("0.25", "2")."""
    text = f"{math.ceil(max(0.0, seconds) * 1000) / 1000:.3f}".rstrip("0").rstrip(".")
    return text or "0"
