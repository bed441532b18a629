"""Rows of one read-only SELECT/WITH query run through SQLAlchemy, streamed in chunks.

`SqlSource(spec)` checks the statement (ConfigError, exit 2), loads the engine's dialect and
driver (a missing one is a ConfigError naming the extra), connects, applies the engine's guard
(connector/sources/sqlguard.py: read-only transaction, statement timeout) and executes the query
with `stream_results` (a server-side cursor where the dialect has one), so the header is known
before the first row and memory stays flat: rows are fetched `input.fetch_size` at a time and
numbered as they arrive. A database that cannot be reached, refuses us, or fails the query (at
execute or at any fetch) is an InputError (exit 1) in words that hold no secret (sqlerrors.py).
Values are converted by connector/sources/typed.py.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from connector.config import InputSettings
from connector.errors import ConfigError, InputError, InvalidRow
from connector.sources.files import ClosingSource
from connector.sources.sqlerrors import connect_error, query_error
from connector.sources.sqlguard import Guard, guard_for
from connector.config.sqlurl import Target, missing_driver, missing_sqlalchemy, parse_target
from connector.config.statement import read_only_problem
from connector.sources.typed import plain_row

log = logging.getLogger("braze_export")


def sql_target(spec: InputSettings) -> Target:
    """The checked target of an sql input spec: URL parsed, query read-only (ConfigError if not)."""
    if spec.url is None:
        raise ConfigError("input.url: is required when the input format is sql (or input.url_file)")
    if not spec.query:
        raise ConfigError("input.query: is required when the input format is sql")
    target = parse_target(spec.url.reveal())
    problem = read_only_problem(spec.query, target.backend)
    if problem is not None:
        raise ConfigError(f"input.query: {problem}")
    return target


def _engine(target: Target, guard: Guard) -> Any:
    """An SQLAlchemy engine without a pool (one connection, closed with the source)."""
    try:
        import sqlalchemy
        from sqlalchemy.pool import NullPool
    except ImportError:
        raise missing_sqlalchemy(target.backend + "://") from None
    try:
        return sqlalchemy.create_engine(target.url, poolclass=NullPool, connect_args=dict(guard.connect_args))
    except (sqlalchemy.exc.NoSuchModuleError, ImportError):
        raise missing_driver(target.backend) from None


class SqlSource(ClosingSource):
    """The result of `spec.query` on the database at `spec.url`, read-only, fetched in chunks."""

    def __init__(self, spec: InputSettings) -> None:
        self.target = sql_target(spec)
        self._query = spec.query or ""
        self._timeout_s = spec.query_timeout_seconds
        self._fetch = spec.fetch_size
        guard = guard_for(self.target, self._timeout_s)
        self._engine: Any = _engine(self.target, guard)
        self._conn: Any = None
        self._result: Any = None
        try:
            result = self._open(guard)
        except BaseException:
            self.close()
            raise
        self.columns: list[str] | None = [str(name) for name in result.keys()]
        log.info("input: %s, reads enforced by %s", self.target.where(), guard.read_only)

    def _open(self, guard: Guard) -> Any:
        """Connect, apply the guard, execute the query: the streaming result."""
        # Drivers raise their own exception classes, whose text may quote the DSN: every one is
        # turned into our words here, so none reaches the user (or a traceback) as it is.
        try:
            self._conn = self._engine.connect()
        except Exception as exc:  # noqa: BLE001 - any driver error: our words, no secret
            raise connect_error(exc, self.target) from None
        try:
            for statement in guard.statements:
                self._conn.exec_driver_sql(statement)
            # no_parameters: the query reaches the driver as cursor.execute(query), so that a % in
            # it is not read as a placeholder (psycopg, mysqlclient).
            streaming = self._conn.execution_options(stream_results=True, max_row_buffer=self._fetch,
                                                     no_parameters=True)
            self._result = streaming.exec_driver_sql(self._query)
        except Exception as exc:  # noqa: BLE001 - as above
            raise query_error(exc, self.target, self._timeout_s) from None
        if not self._result.returns_rows:
            raise InputError("the query returned no rows (it must be a SELECT or WITH ... SELECT)")
        return self._result

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any] | InvalidRow]]:
        result, names, number, fetch = self._result, self.columns or [], 0, self._fetch
        if result is None:
            return
        while True:  # ends when the cursor is exhausted (or fails)
            try:
                chunk = result.fetchmany(fetch)
            except Exception as exc:  # noqa: BLE001 - as in _open
                raise query_error(exc, self.target, self._timeout_s, after_row=number) from None
            if not chunk:
                return
            for values in chunk:
                number += 1
                yield number, plain_row(names, values)

    def describe(self) -> dict[str, Any]:
        """Engine, driver, host, port, database and a hash of the query; no secret."""
        return self.target.describe(self._query)

    def progress(self) -> float | None:
        """Unknown for a query: None."""
        return None

    def close(self) -> None:
        """Close the cursor and the connection (its transaction is rolled back: nothing to keep)."""
        result, conn, engine = self._result, self._conn, self._engine
        self._result = self._conn = self._engine = None
        # A connection that broke mid-query may fail again while closing; there is nothing left to
        # save and its text may quote the DSN, so such errors are dropped.
        for closing in (result, conn):
            if closing is not None:
                with contextlib.suppress(Exception):
                    closing.close()
        if engine is not None:
            with contextlib.suppress(Exception):
                engine.dispose()
