"""A local Braze-compatible HTTP server (the sandbox): its own model of Braze, a SQLite store, faults."""

from .sandbox import DEFAULT_API_KEY, Sandbox

__all__ = ["DEFAULT_API_KEY", "Sandbox"]
