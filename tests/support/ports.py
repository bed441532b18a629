"""Loopback ports: one that nothing listens on the moment it is returned (for servers the tests
start), and one held bound for a block (for endpoints that must refuse connections)."""

from __future__ import annotations

import contextlib
import socket
from typing import Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port held bound (not listening) for the block: a connection to it is refused,
    and no server the tests start meanwhile can take it. (A port merely free when picked was
    once taken by another test's PostgreSQL before the connection that was to be refused.)"""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])
