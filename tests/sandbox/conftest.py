"""Fixtures for the sandbox tests: a started Sandbox on a free loopback port and a kept-alive session."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
import requests

from connector.sandbox import Sandbox

KEY = "test-key"
TIME = "2024-05-01T10:00:00Z"


class Client:
    """Posts JSON to a sandbox with the right key (or another one)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.session = requests.Session()

    def post(self, path: str, body: Any = None, key: str | None = KEY, data: bytes | None = None,
             timeout: float = 10) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        if data is None and body is not None:
            return self.session.post(self.sandbox.url + path, json=body, headers=headers, timeout=timeout)
        return self.session.post(self.sandbox.url + path, data=data or b"", headers=headers, timeout=timeout)

    def track(self, **arrays: Any) -> requests.Response:
        return self.post("/users/track", arrays)

    @staticmethod
    def event(uid: str, name: str = "played", **extra: Any) -> dict[str, Any]:
        return {"external_id": uid, "name": name, "time": TIME, **extra}

    @staticmethod
    def purchase(uid: str, **extra: Any) -> dict[str, Any]:
        return {"external_id": uid, "product_id": "p1", "currency": "USD", "price": 9.5, "time": TIME, **extra}

    def control(self, method: str, path: str, body: Any = None) -> requests.Response:
        return self.session.request(method, self.sandbox.url + path, json=body, timeout=10)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(api_key=KEY) as sb:
        yield sb


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[Client]:
    c = Client(sandbox)
    yield c
    c.session.close()



@pytest.fixture
def make_client() -> Iterator[Any]:
    """make_client(**Sandbox options) -> Client of a started sandbox (stopped after the test)."""
    started: list[Client] = []

    def make(**options: Any) -> Client:
        options.setdefault("api_key", KEY)
        c = Client(Sandbox(**options).start())
        started.append(c)
        return c

    yield make
    for c in started:
        c.session.close()
        c.sandbox.stop()
