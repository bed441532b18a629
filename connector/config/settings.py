"""The typed, read-only settings a validated config becomes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Secret:
    """A secret string whose repr and str never show it; reveal() does."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        """The secret value, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True)
class InputSettings:
    """Where rows come from: format (always set), path or "-" for stdin, sqlite/sql query, text options,
    the sql input's URL and limits (the defaults below are the schema's, for specs built by hand)."""

    format: str
    path: str | None
    query: str | None
    delimiter: str | None  # the effective delimiter for csv/tsv, None for other formats
    encoding: str
    columns: Mapping[str, str]  # column -> type; a read-only mapping
    url: Secret | None = None  # sql: the SQLAlchemy URL (from input.url or input.url_file); holds the password
    query_timeout_seconds: int = 1800  # sql: the engine's statement timeout; 0 leaves the engine's own
    fetch_size: int = 10000  # sql: rows per fetch; parquet: rows per record batch


@dataclass(frozen=True)
class SyncLogSettings:
    """Where every row's outcome is written (docs/sync-log.md): an SQLAlchemy URL and two tables."""

    url: Secret  # from sync_log.url or sync_log.url_file; holds the password
    table: str = "braze_sync_log"
    runs_table: str = "braze_sync_runs"
    include_values: bool = False


@dataclass(frozen=True)
class NotifySettings:
    """The signed notice posted when a run ends: the webhook's URL (it may hold a token) and the key."""

    url: Secret
    secret: Secret


@dataclass(frozen=True)
class Settings:
    """A validated config with the schema's defaults filled in."""

    endpoint: str  # resolved base URL without trailing slash, or "sandbox"
    api_key: Secret | None  # None only when endpoint == "sandbox" and none was given
    mode: str
    track_record_type: str | None
    pre_formatted_fields: tuple[str, ...]
    skip_on_invalid_records: bool
    input: InputSettings
    update_existing_only: bool
    null_values: str
    reject_file: str
    state_file: str | None
    concurrency: int
    batch_size: int
    track_object_limit: str
    requests_per_second: float | None
    requests_per_hour: int | None
    maximum_retries: int
    initial_retry_interval_millis: int
    maximum_retry_interval_millis: int
    timeout_millis: int
    maximum_retry_duration_millis: int
    event_delivery: str
    delta: bool
    dedupe_key: str | None
    allow_custom_endpoint: bool
    sandbox_db: str
    workers: int = 1  # processes sharing the export by user (connector/parallel.py)
    sync_log: SyncLogSettings | None = None
    notify: NotifySettings | None = None
    max_rejected_ratio: float | None = None  # beyond it (rows_rejected / rows_read) the run is failed
    max_failed_ratio: float | None = None  # beyond it (rows not delivered / rows_read) the run is failed
