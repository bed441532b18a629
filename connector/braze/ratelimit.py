"""Read Braze's rate-limit headers into seconds, whichever of their documented forms they take."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Headers(Protocol):
    """An answer's headers: a case-insensitive `get`."""

    def get(self, name: str, /) -> str | None: ...

# A reset value above this is an epoch timestamp; below it, seconds left (Braze's pages disagree).
_EPOCH_THRESHOLD = 1_000_000_000


@dataclass(frozen=True)
class RateInfo:
    limit: int | None = None
    remaining: int | None = None
    reset_in: float | None = None      # seconds until the bucket refills
    retry_after: float | None = None   # seconds the server asks us to wait


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if number == number and number >= 0 else None


def parse_rate_headers(headers: Headers, now: float) -> RateInfo:
    """Headers are matched case-insensitively (http.client's HTTPMessage, or any such `get`)."""
    limit = _number(headers.get("X-RateLimit-Limit"))
    remaining = _number(headers.get("X-RateLimit-Remaining"))
    reset = _number(headers.get("X-RateLimit-Reset"))
    if reset is not None and reset > _EPOCH_THRESHOLD:
        reset = max(0.0, reset - now)
    retry_after = _number(headers.get("X-Ratelimit-Retry-After"))
    if retry_after is None:
        retry_after = _number(headers.get("Retry-After"))
    return RateInfo(
        limit=int(limit) if limit is not None else None,
        remaining=int(remaining) if remaining is not None else None,
        reset_in=reset,
        retry_after=retry_after,
    )
