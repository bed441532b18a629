"""The notice a run posts when it ends: a JSON body signed with HMAC-SHA256, retried for a bounded time.

The body is `notice_body(...)`'s JSON (run_id, status, exit_code, error, counts, started_at,
ended_at, mode, record_type, config_fingerprint); the header `X-Braze-Export-Signature` holds
`sha256=` and the lowercase hex HMAC-SHA256 of the body's exact bytes under `notify.secret`.
Connection failures, 408, 425, 429 and 5xx answers are retried with back-off (delivery/retry.py's
policy: at most MAX_RETRIES resends, within TOTAL_S seconds, Retry-After honoured up to 8 s);
any other answer ends it. `send_notice` never raises: a notice that cannot be delivered is one
warning line, and the job's exit code is never changed by it. Messages name the webhook's host
only, since its path or query often holds a token.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import json
import logging
import random
import time
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

import urllib3

from connector.braze.client import connection_pool
from connector.config.settings import NotifySettings
from connector.delivery.retry import RetriesExhausted, RetryPolicy, RetryState
from connector.outcomes.ledger import COUNTS

log = logging.getLogger("braze_export")

SIGNATURE_HEADER = "X-Braze-Export-Signature"
TIMEOUT_S = 10.0
MAX_RETRIES = 4
TOTAL_S = 30.0
POLICY = RetryPolicy(maximum_retries=MAX_RETRIES, initial_s=1.0, maximum_s=8.0, total_s=TOTAL_S)
MAX_ANSWER_BYTES = 64 * 1024
_RESEND = frozenset({408, 425, 429})


def iso_time(epoch: float) -> str:
    """'2024-05-01T10:00:00.123Z'."""
    moment = _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def notice_body(report: Mapping[str, Any], *, exit_code: int, started_at: float, ended_at: float,
                mode: str, record_type: str | None, fingerprint: str | None) -> bytes:
    """The notice's bytes (compact JSON, UTF-8): what the signature is computed over."""
    notice = {
        "run_id": report["run_id"], "status": report["status"], "exit_code": exit_code,
        "error": report.get("error"), "counts": {name: report.get(name, 0) for name in COUNTS},
        "started_at": iso_time(started_at), "ended_at": iso_time(ended_at),
        "mode": mode, "record_type": record_type, "config_fingerprint": fingerprint,
    }
    return json.dumps(notice, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign(secret: str, body: bytes) -> str:
    """The header's value: 'sha256=' + hex HMAC-SHA256(secret, body)."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def webhook_host(url: str) -> str:
    """The host (and port) of a webhook URL: all a message may show of it."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{host}:{parts.port}" if parts.port else host


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _post(pool: Any, path: str, body: bytes, headers: Mapping[str, str]) -> tuple[int | None, float | None, str]:
    """(status or None, Retry-After seconds, words for a log line) of one POST."""
    try:
        response = pool.urlopen("POST", path, body=body, headers=dict(headers), retries=False, redirect=False,
                                preload_content=False, assert_same_host=False)
    except urllib3.exceptions.SSLError:
        return None, None, "its TLS certificate could not be verified"
    except (OSError, urllib3.exceptions.HTTPError) as exc:
        return None, None, f"no answer ({type(exc).__name__})"
    try:
        response.read(MAX_ANSWER_BYTES)
    except (OSError, urllib3.exceptions.HTTPError):
        pass                    # the status is what counts; the answer's body is not used
    finally:
        response.release_conn()
    return response.status, _retry_after(response.headers.get("Retry-After")), f"HTTP {response.status}"


def send_notice(notify: NotifySettings, body: bytes, *, user_agent: str,
                sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                rng: random.Random | None = None) -> bool:
    """POST the signed notice; True when the webhook answered 2xx. Never raises."""
    url = notify.url.reveal()
    host = webhook_host(url)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"Content-Type": "application/json", "User-Agent": user_agent,
               SIGNATURE_HEADER: sign(notify.secret.reveal(), body)}
    pool = connection_pool(f"{parts.scheme}://{parts.netloc}", TIMEOUT_S)
    state, attempts, rng = RetryState(POLICY, clock()), 0, rng or random.Random()
    try:
        while True:     # ends: each pass posts once, and the retry state bounds the passes
            attempts += 1
            status, retry_after, said = _post(pool, path, body, headers)
            if status is not None and 200 <= status < 300:
                log.info("notice sent to %s (%s)", host, said)
                return True
            if status is not None and status < 500 and status not in _RESEND or said.startswith("its TLS"):
                log.warning("the notice to %s was refused (%s); not resent; the exit code is not changed", host, said)
                return False
            try:
                state, wait = state.increment(clock(), retry_after, rng)
            except RetriesExhausted:
                log.warning("the notice to %s was not delivered after %d attempts (last: %s); the exit code "
                            "is not changed", host, attempts, said)
                return False
            log.warning("notice to %s: attempt %d failed (%s); trying again in %.1fs", host, attempts, said, wait)
            sleep(wait)
    except KeyboardInterrupt:
        log.warning("the notice to %s was not sent: interrupted", host)
        return False
    finally:
        pool.close()
