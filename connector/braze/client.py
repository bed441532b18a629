"""POST JSON bodies to Braze's REST endpoints over a kept-alive connection, with a timeout."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Mapping

import requests
from requests.adapters import HTTPAdapter

from connector import __version__
from connector.braze.outcome import Outcome, classify_exception, classify_response


@dataclass(frozen=True)
class Endpoint:
    path: str
    bucket: str        # Braze's rate-limit bucket: "track", or "users" (identify/alias/delete)
    max_objects: int   # per request, before track_object_limit narrows /users/track


ENDPOINTS: Mapping[str, Endpoint] = {
    e.path: e for e in (
        Endpoint("/users/track", "track", 75),
        Endpoint("/users/identify", "users", 50),
        Endpoint("/users/alias/new", "users", 50),
        Endpoint("/users/delete", "users", 50),
    )
}


class BrazeClient:
    """One HTTP connection pool; thread-safe when each thread has its own client."""

    def __init__(self, base_url: str, api_key: str, timeout_s: float, pool_size: int = 1,
                 clock: Callable[[], float] = time.time) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = timeout_s
        self._clock = clock
        session = requests.Session()
        session.trust_env = False     # no proxy/netrc look-ups per request; config says the host
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers.update({
            "Authorization": f"Bearer {api_key}",
            "Content-Type": "application/json",
            "User-Agent": f"braze-export/{__version__}",
        })
        self._session = session

    def __repr__(self) -> str:
        return f"BrazeClient({self._base!r})"

    def post(self, path: str, body: bytes) -> Outcome:
        try:
            response = self._session.post(self._base + path, data=body, timeout=self._timeout)
        except requests.RequestException as exc:
            return classify_exception(exc)
        return classify_response(response.status_code, response.headers, response.text, self._clock())

    def close(self) -> None:
        self._session.close()
