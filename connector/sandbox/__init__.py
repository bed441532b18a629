"""A local Braze-compatible HTTP server (the sandbox): its own model of Braze, a SQLite store, faults."""

from __future__ import annotations

from typing import Any

DEFAULT_API_KEY = "sandbox-key"

__all__ = ["DEFAULT_API_KEY", "Sandbox"]


def __getattr__(name: str) -> Any:
    # Imported on first use: `braze-export run` builds the sandbox's arguments but never starts
    # one, and the server's modules (http.server, the store) cost ~30 ms of its start-up.
    if name == "Sandbox":
        from .sandbox import Sandbox

        return Sandbox
    raise AttributeError(name)
