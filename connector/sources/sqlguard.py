"""What each engine is told before the query runs: read-only where it can be, and the timeout.

One frozen `Guard` per engine, built from the target and `input.query_timeout_seconds` (0: leave
the engine's own limits). Engines not listed get no guard beyond the statement check (docs/sources.md
says which are which); a read-only database role is the guard that holds everywhere.

    postgresql  SET TRANSACTION READ ONLY, then SET LOCAL statement_timeout (each fetch of the
                server-side cursor is bounded by it); libpq connect_timeout
    redshift    SET statement_timeout
    duckdb      a database file is opened read_only
    trino       the session property query_max_run_time (merged with the URL's own)
    snowflake   ALTER SESSION SET STATEMENT_TIMEOUT_IN_SECONDS
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from connector.config.sqlurl import Target

CONNECT_TIMEOUT_S = 30
_LIBPQ_DRIVERS = ("psycopg", "psycopg2")


@dataclass(frozen=True)
class Guard:
    """Arguments for the driver's connect() and the statements run first in the transaction."""

    statements: tuple[str, ...] = ()
    connect_args: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    read_only: str = "the statement check only"   # how reads are enforced, for the docs and logs


def guard_for(target: Target, timeout_s: int) -> Guard:
    """The guard of `target`'s engine, with a statement timeout of timeout_s seconds (0: none)."""
    backend = target.backend
    if backend == "postgresql":
        args: dict[str, Any] = {}
        if target.driver in _LIBPQ_DRIVERS:
            args = {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "braze-export"}
        timeout = (f"SET LOCAL statement_timeout = {timeout_s * 1000}",) if timeout_s else ()
        return Guard(("SET TRANSACTION READ ONLY", *timeout), MappingProxyType(args), "a read-only transaction")
    if backend == "redshift":
        timeout = (f"SET statement_timeout TO {timeout_s * 1000}",) if timeout_s else ()
        return Guard(timeout)
    if backend == "duckdb":
        on_disk = target.database not in (None, "", ":memory:")
        args = {"read_only": True} if on_disk else {}
        return Guard((), MappingProxyType(args), "a read-only database file" if on_disk else "the statement check only")
    if backend == "trino":
        properties = _url_session_properties(target)
        if timeout_s and "query_max_run_time" not in properties:
            properties["query_max_run_time"] = f"{timeout_s}s"
        return Guard((), MappingProxyType({"session_properties": properties} if properties else {}))
    if backend == "snowflake":
        return Guard((f"ALTER SESSION SET STATEMENT_TIMEOUT_IN_SECONDS = {timeout_s}",) if timeout_s else ())
    return Guard()


def _url_session_properties(target: Target) -> dict[str, Any]:
    """The session_properties the URL already sets (connect_args would replace them otherwise)."""
    raw = target.url.query.get("session_properties")
    if not isinstance(raw, str):
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return dict(value) if isinstance(value, dict) else {}
