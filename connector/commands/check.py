"""`braze-export check`: the config, the input's header, and the key, with no user data sent."""

from __future__ import annotations

import logging

from connector.braze.client import BrazeClient
from connector.braze.outcome import Kind
from connector.config import Settings
from connector.errors import AuthError, JobError
from connector.pipeline import prepare
from connector.pipeline.plan import KNOWN_COLUMNS
from connector.pipeline.endpoint import USER_AGENT, braze_endpoint
from connector.sources import open_source
from connector.config.statement import order_note
from connector.sources.looks import typed_looking

log = logging.getLogger("braze_export")

KEY_CHECK_TIMEOUT_S = 10.0


def check_settings(settings: Settings, strict: bool = False) -> int:
    """0 when the config, the header and the key are good; `strict`: 1 when the key could not be
    checked because the endpoint did not answer."""
    prepare(settings, None)
    log.info("config: valid (mode %s%s)", settings.mode,
             f", {settings.track_record_type}" if settings.track_record_type else "")
    if settings.input.path and settings.input.path != "-":
        with open_source(settings.input) as source:
            prepare(settings, source.columns)
        log.info("input: %s can serve the mode", settings.input.where)
        for note in typed_looking(settings.input, KNOWN_COLUMNS):
            log.warning("%s", note)
    if settings.state_file and (unordered := order_note(settings.input)):
        log.warning("%s", unordered)
    with braze_endpoint(settings) as (base_url, key):
        client = BrazeClient(base_url, key, KEY_CHECK_TIMEOUT_S, user_agent=USER_AGENT)
        try:
            # An empty track request: Braze checks the key before the body, so a bad key gets
            # 401 and a good one 400 (no data); nothing about any user is sent.
            outcome = client.post("/users/track", b"{}")
        finally:
            client.close()
    if outcome.kind is Kind.AUTH:
        raise AuthError(f"the API key was refused (HTTP {outcome.status}): check the key, that the "
                        f"endpoint is your instance's REST host, and the key's permissions")
    if outcome.status is None:
        if strict:
            raise JobError(f"endpoint not reachable ({outcome.message}): the API key was not checked")
        log.warning("endpoint not reachable (%s): the API key was not checked (--strict makes this exit 1)",
                    outcome.message)
        return 0
    log.info("API key: accepted by %s (HTTP %s to an empty request)", _host(base_url), outcome.status)
    return 0


def _host(url: str) -> str:
    return url.split("://", 1)[-1]
