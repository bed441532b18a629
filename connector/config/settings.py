"""The typed, read-only settings a validated config becomes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


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
    shown_path: str | None = None  # the path as written, when it took a ${VAR}: what messages show
    max_record_bytes: int = 4 * 1024 * 1024  # the top-level max_record_bytes: the bound on one csv/tsv/jsonl/json record

    @property
    def where(self) -> str:
        """The path for a message: as written when it came from the environment, never its value."""
        return self.shown_path or self.path or ""


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
    concurrency: int | str  # requests in flight: an integer pins it, "auto" lets it follow rate x latency
    batch_size: int
    track_object_limit: str
    requests_per_second: float | None
    requests_per_hour: int | None
    rate_limit_reserve: float
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
    workers: int = 1  # processes sharing the export by user (connector/workers/)
    subscription_group_id: str | None = None  # user_subscription: the group of rows that give none
    mapping_columns: Mapping[str, str] = field(default_factory=dict)  # input column -> Braze field
    mapping_constants: Mapping[str, Any] = field(default_factory=dict)  # Braze field -> value of every row
    on_removed: str = "ignore"  # ignore | unset | unsubscribe | delete: users who left the audience (docs/mirror.md)
    max_removed_ratio: float = 0.2  # with on_removed: the share of the last complete run's users removed at most
    sync_log: SyncLogSettings | None = None
    notify: NotifySettings | None = None
    max_rejected_ratio: float | None = None  # beyond it (rows_rejected / rows_read) the run is failed
    max_failed_ratio: float | None = None  # beyond it (rows not delivered / rows_read) the run is failed
    origins: Mapping[str, str] = field(default_factory=dict)  # key -> the text as written, where it took a ${VAR}

    @property
    def max_record_bytes(self) -> int:
        """The top-level key, kept with the input (the readers enforce it): the largest record read."""
        return self.input.max_record_bytes

    def shown(self, key: str) -> str:
        """A value of the config for a message: as written when it came from the environment
        (`${VAR}`), so that a message never holds what a variable expanded to."""
        if key in self.origins:
            return self.origins[key]
        return str(getattr(self, key))
