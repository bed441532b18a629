"""Turn an HTTP answer or a transport exception into one of a few declared outcomes.

This is the only module that looks at status codes and exception classes; delivery branches on
`Outcome.kind` alone.

    DELIVERED     2xx, every object accepted
    PARTIAL       2xx with an `errors` list naming some objects; the rest were accepted — or 400
                  with such a list: nothing was accepted (`others_accepted` is False)
    REJECTED      400 without per-object errors: Braze refused the whole batch as it is
    RATE_LIMITED  429: wait (Retry-After or the bucket's reset), then resend
    RETRY         5xx, or a connection that failed before the request was sent: resend
    UNKNOWN_FATE  the body was sent but no answer came (dropped connection, read timeout):
                  Braze may have applied it; resend only where a replay is safe or allowed
    SPLIT         413: the body is too large; resend its halves
    AUTH          401/403: the key, the instance host or a permission is wrong; abort the job
    FATAL         any other answer (404 and the like), or a TLS certificate that does not
                  verify: abort the job
"""

from __future__ import annotations

import enum
import json
import ssl
from dataclasses import dataclass, field
from typing import Any, Mapping

from connector.braze.ratelimit import Headers, RateInfo, parse_rate_headers


class Kind(enum.Enum):
    DELIVERED = "delivered"
    PARTIAL = "partial"
    REJECTED = "rejected"
    RATE_LIMITED = "rate_limited"
    RETRY = "retry"
    UNKNOWN_FATE = "unknown_fate"
    SPLIT = "split"
    AUTH = "auth"
    FATAL = "fatal"


@dataclass(frozen=True)
class ObjectError:
    """One entry of Braze's `errors` list: which object (array, 0-based index) and why."""

    array: str | None
    index: int | None
    reason: str


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    status: int | None
    message: str
    errors: tuple[ObjectError, ...] = ()
    rate: RateInfo = RateInfo()
    others_accepted: bool = True    # PARTIAL: the objects `errors` does not name were accepted
    # The answer's JSON object, for an endpoint's own per-entry errors (read by its mode's card,
    # connector/delivery/bodies.py); never shown: it may hold ids.
    answer: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)


# Status -> kind, for the answers that carry no per-object errors.
_BY_STATUS: Mapping[int, Kind] = {
    400: Kind.REJECTED,
    401: Kind.AUTH,
    403: Kind.AUTH,
    413: Kind.SPLIT,
    429: Kind.RATE_LIMITED,
}

_MESSAGE_LIMIT = 200


def _body(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _object_errors(body: Mapping[str, Any]) -> tuple[ObjectError, ...]:
    entries = body.get("errors")
    if not isinstance(entries, list):
        return ()
    found = []
    for entry in entries:
        if isinstance(entry, dict):
            index = entry.get("index")
            found.append(ObjectError(
                array=entry.get("input_array") if isinstance(entry.get("input_array"), str) else None,
                index=index if isinstance(index, int) and not isinstance(index, bool) else None,
                reason=str(entry.get("type") or entry.get("message") or "rejected by Braze")[:_MESSAGE_LIMIT],
            ))
        else:
            found.append(ObjectError(None, None, str(entry)[:_MESSAGE_LIMIT]))
    return tuple(found)


def classify_response(status: int, headers: Headers, text: str, now: float) -> Outcome:
    """Classify an answer. `now` (epoch seconds) turns an epoch-style reset into seconds left."""
    rate = parse_rate_headers(headers, now)
    body = _body(text)
    message = str(body.get("message") or f"HTTP {status}")[:_MESSAGE_LIMIT]
    errors = _object_errors(body)
    if 200 <= status < 300:
        return Outcome(Kind.PARTIAL if errors else Kind.DELIVERED, status, message, errors, rate, answer=body)
    if status == 400 and errors:
        return Outcome(Kind.PARTIAL, status, message, errors, rate, others_accepted=False, answer=body)
    if status >= 500:
        return Outcome(Kind.RETRY, status, message, (), rate)
    return Outcome(_BY_STATUS.get(status, Kind.FATAL), status, message, (), rate)


class Phase(enum.Enum):
    """How far a request got before it failed."""

    CONNECT = "connect"    # no connection: nothing reached the server
    SEND = "send"          # the body was not fully sent: the server cannot have applied it
    ANSWER = "answer"      # the body was sent, the answer never came: it may have been applied


def classify_failure(phase: Phase, exc: BaseException) -> Outcome:
    """Classify a transport failure by how far the request got. Messages name the exception's
    class, never its text (which may quote a host or a header)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Outcome(Kind.FATAL, None, "the endpoint's TLS certificate could not be verified")
    what = type(exc).__name__
    if phase is Phase.CONNECT:
        return Outcome(Kind.RETRY, None, f"could not connect ({what})")
    if phase is Phase.SEND:
        return Outcome(Kind.RETRY, None, f"connection lost while sending ({what})")
    if isinstance(exc, TimeoutError):
        return Outcome(Kind.UNKNOWN_FATE, None, "no answer within the timeout")
    return Outcome(Kind.UNKNOWN_FATE, None, f"connection lost before the answer ({what})")
