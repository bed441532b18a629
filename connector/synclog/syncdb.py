"""The sync log's database: the two tables' shapes, connecting through SQLAlchemy, creating or checking them.

`open_database(settings)` parses the URL (connector/config/sqlurl.py: nothing of it is ever shown
but engine, host, port and database), makes the engine, and `ensure_tables()` creates the tables
that are missing and refuses an existing table whose columns are not ours (it is never altered).
Rows are written by syncflush.py. Errors become one line in our words, without the URL's secrets.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any, Mapping

from connector.config.settings import SyncLogSettings
from connector.config.sqlurl import Target, missing_driver, parse_target
from connector.errors import ConfigError, JobError
from connector.sources.sqlerrors import connect_error, server_text

EXTRA = "synclog"
ROW_COLUMNS = ("run_id", "row", "identifier_type", "identifier", "alias_label", "mode", "record_type", "outcome",
               "reason", "error_type", "attempts", "sent_at", "acknowledged_at", "row_values")
RUN_COLUMNS = ("run_id", "started_at", "ended_at", "status", "exit_code", "error", "mode", "record_type",
               "rows_read", "rows_delivered", "rows_skipped", "rows_rejected", "rows_failed", "requests", "retries",
               "rows_logged", "config_fingerprint", "input", "version")
CONNECT_TIMEOUT_S = 10
STATEMENT_TIMEOUT_MS = 60_000
SQLITE_BUSY_S = 30


def missing_sqlalchemy() -> ConfigError:
    return ConfigError(f"sync_log needs SQLAlchemy: pip install 'braze-export[{EXTRA}]' "
                       f"(for PostgreSQL: 'braze-export[{EXTRA},postgres]')")


def _tables(metadata: Any, settings: SyncLogSettings) -> tuple[Any, Any]:
    from sqlalchemy import BigInteger, Column, DateTime, Integer, PrimaryKeyConstraint, String, Table, Text

    def split(name: str) -> tuple[str | None, str]:
        schema, _, table = name.rpartition(".")
        return schema or None, table

    schema, name = split(settings.table)
    rows = Table(name, metadata,
                 Column("run_id", String(36), nullable=False), Column("row", BigInteger, nullable=False),
                 Column("identifier_type", String(16)), Column("identifier", Text), Column("alias_label", Text),
                 Column("mode", String(32), nullable=False), Column("record_type", String(32)),
                 Column("outcome", String(16), nullable=False), Column("reason", Text), Column("error_type", Text),
                 Column("attempts", Integer, nullable=False),
                 Column("sent_at", DateTime(timezone=True)), Column("acknowledged_at", DateTime(timezone=True)),
                 Column("row_values", Text),
                 PrimaryKeyConstraint("run_id", "row", name=f"{name}_pkey"), schema=schema,
                 sqlite_with_rowid=False)      # SQLite: the primary key is the table, one B-tree less
    schema, name = split(settings.runs_table)
    counts = [Column(c, BigInteger) for c in RUN_COLUMNS[8:16]]
    runs = Table(name, metadata,
                 Column("run_id", String(36), primary_key=True),
                 Column("started_at", DateTime(timezone=True), nullable=False),
                 Column("ended_at", DateTime(timezone=True)), Column("status", String(16), nullable=False),
                 Column("exit_code", Integer), Column("error", Text),
                 Column("mode", String(32), nullable=False), Column("record_type", String(32)), *counts,
                 Column("config_fingerprint", String(64)), Column("input", Text), Column("version", String(32)),
                 schema=schema)
    return rows, runs


def _engine_args(target: Target) -> dict[str, Any]:
    if target.backend == "sqlite":
        return {"connect_args": {"timeout": SQLITE_BUSY_S, "check_same_thread": False}}
    if target.backend == "postgresql":
        return {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_S,
                                 "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"}}
    return {}


@dataclass
class SyncDatabase:
    """The sync log's engine and tables; `where()` says where it is, never how to log in."""

    target: Target
    engine: Any
    rows: Any
    runs: Any
    fast: bool      # SQLite or PostgreSQL: a flush is one statement over one JSON parameter

    def where(self) -> str:
        return self.target.where()

    def connect(self) -> Any:
        """A connection (JobError when the database cannot be reached)."""
        try:
            conn = self.engine.connect()
            if self.target.backend == "sqlite":
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
                conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
                conn.commit()
            return conn
        except Exception as exc:  # noqa: BLE001 - a driver's error: our words, no secret
            raise JobError(f"sync log: {connect_error(exc, self.target)}") from None

    def error(self, exc: BaseException, doing: str) -> JobError:
        """A failed statement, in the server's words scrubbed of the URL's secrets."""
        return JobError(f"sync log ({self.where()}): {doing} failed: {server_text(exc, self.target)}")

    def ensure_tables(self, create: bool = True) -> None:
        """Create the missing tables (with `create`), check the shape of those that exist."""
        import sqlalchemy

        conn = self.connect()
        try:
            for table in (self.rows, self.runs):
                inspector = sqlalchemy.inspect(conn)
                if not inspector.has_table(table.name, schema=table.schema):
                    if create:
                        table.create(conn, checkfirst=True)
                        conn.commit()
                    continue
                have = {str(c["name"]).lower() for c in inspector.get_columns(table.name, schema=table.schema)}
                _check_shape(table, have, self.rows is table)
        except ConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - as in connect()
            raise self.error(exc, "creating or checking the tables") from None
        finally:
            conn.close()

    def close(self) -> None:
        self.engine.dispose()


def _check_shape(table: Any, have: set[str], is_rows: bool) -> None:
    want = [c.name for c in table.columns]
    if have == set(want):
        return
    key = "sync_log.table" if is_rows else "sync_log.runs_table"
    missing, extra = [c for c in want if c not in have], sorted(have - set(want))
    said = "; ".join(part for part in (f"missing {', '.join(missing)}" if missing else "",
                                       f"not ours {', '.join(extra)}" if extra else "") if part)
    raise ConfigError(f"{key}: the table {table.fullname} exists with other columns ({said}); it is not "
                      f"altered: drop or rename it, or name another table") from None


def open_database(settings: SyncLogSettings) -> SyncDatabase:
    """The engine and tables of the sync log (ConfigError when SQLAlchemy or the driver is missing)."""
    try:
        import sqlalchemy
        from sqlalchemy.pool import NullPool
    except ImportError:
        raise missing_sqlalchemy() from None
    target = parse_target(settings.url.reveal(), key="sync_log.url")
    try:
        engine = sqlalchemy.create_engine(target.url, poolclass=NullPool, **_engine_args(target))
    except (sqlalchemy.exc.NoSuchModuleError, ImportError):
        raise missing_driver(target.backend, key="sync_log.url") from None
    rows, runs = _tables(sqlalchemy.MetaData(), settings)
    return SyncDatabase(target, engine, rows, runs, fast=target.backend in ("sqlite", "postgresql"))



def record_run(db: SyncDatabase, run_id: str, values: Mapping[str, Any], *, new: bool) -> None:
    """Insert the run's row (`new`) or update it; JobError (no secret) when the database fails."""
    import sqlalchemy

    record = {k: _utc(v) if k in ("started_at", "ended_at") else v for k, v in values.items()}
    conn = db.connect()
    try:
        with conn.begin():
            if new:
                conn.execute(db.runs.insert(), [{"run_id": run_id, **record}])
            else:
                conn.execute(db.runs.update().where(db.runs.c.run_id == run_id), record)
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise db.error(exc, "recording the run") from None
    finally:
        conn.close()


def _utc(epoch: float | None) -> _dt.datetime | None:
    return None if epoch is None else _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc)


def time_text(epoch: float | None, backend: str) -> str | None:
    """A time as a flush carries it: for SQLite SQLAlchemy's own text form (UTC), else ISO 8601 with +00:00."""
    moment = _utc(epoch)
    if moment is None:
        return None
    if backend == "sqlite":
        return moment.replace(tzinfo=None).isoformat(" ", "microseconds")
    return moment.isoformat(" ", "microseconds")
