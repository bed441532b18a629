"""Where a job's requests go: the endpoint's base URL and key (starting the in-process sandbox for
`endpoint: sandbox`), and the transport each sender gets — a Braze client, or a dry run's stand-in."""

from __future__ import annotations

import contextlib
import logging
import secrets
from typing import Callable, Iterator

from connector.braze.client import BrazeClient
from connector.braze.outcome import Kind, Outcome
from connector.config import Settings
from connector.delivery import Transport
from connector.version import __version__

log = logging.getLogger("braze_export")

USER_AGENT = f"braze-export/{__version__}"


class DryRun:
    """A transport that sends nothing and answers as if Braze accepted every object."""

    def post(self, path: str, body: bytes) -> Outcome:
        return Outcome(Kind.DELIVERED, None, "dry run")

    def expire(self, at: float) -> None:
        """Nothing is ever in flight."""

    def close(self) -> None:
        """Nothing to close."""


@contextlib.contextmanager
def braze_endpoint(settings: Settings) -> Iterator[tuple[str, str]]:
    """(base URL, API key) for the job; `endpoint: sandbox` starts an in-process sandbox."""
    key = settings.api_key.reveal() if settings.api_key is not None else secrets.token_hex(16)
    if settings.endpoint != "sandbox":
        yield settings.endpoint, key
        return
    from connector.sandbox import Sandbox

    with Sandbox(api_key=key, db_path=settings.sandbox_db) as sandbox:
        log.info("sandbox: a local Braze-compatible server at %s, storing into %s",
                 sandbox.url, settings.shown("sandbox_db"))
        yield sandbox.url, key


def clients(base_url: str, key: str, settings: Settings) -> Callable[[], Transport]:
    """A factory of Braze clients, one per sender."""
    timeout_s = settings.timeout_millis / 1000
    return lambda: BrazeClient(base_url, key, timeout_s, user_agent=USER_AGENT)
