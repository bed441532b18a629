"""The Python API: `export(rows, config)` runs one job in-process and returns its `Report`."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from connector.config import Settings, load_config, parse_config
from connector.errors import ConfigError, InvalidRow, JobError
from connector.outcomes.ledger import Counts, Ledger
from connector.pipeline.outputs import check_outputs
from connector.outcomes.report import summary, write_report
from connector.pipeline import ExportOptions, JobResult, prepare, run_export
from connector.pipeline.lifecycle import run_job

__all__ = ["Report", "export"]

log = logging.getLogger("braze_export")

Config = Mapping[str, Any] | str | os.PathLike[str] | Settings


@dataclasses.dataclass(frozen=True)
class Report(Counts):
    """What one export did: the `--report` JSON's fields, plus the exit code `run` would return.

    The counts (rows_read = rows_delivered + rows_skipped + rows_rejected + rows_failed,
    requests, retries, requests_unknown_fate) come from `connector.outcomes.ledger.Counts`.
    exit_code: 0 success, 1 failed or aborted, 3 finished but Braze rejected rows (2 is never
    returned: usage errors are raised). error: the one-line message of a failed job, else None.
    """

    status: str
    reject_file: str | None
    elapsed_seconds: float
    exit_code: int
    error: str | None = None
    dry_run: bool = False
    rows_unchanged: int = 0          # delta: rows with nothing changed, not sent
    attributes_unchanged: int = 0    # delta: attributes not sent (data points saved)
    rows_duplicate: int = 0          # dedupe_key: rows delivered in an earlier run, not sent
    requests_per_second_achieved: float | None = None    # requests over the span from the first to the last
    latency_ms_p50: float | None = None                  # the answers' latency percentiles
    latency_ms_p90: float | None = None
    latency_ms_p99: float | None = None
    in_flight_max: int = 0                               # the most requests in flight at once
    rows_maybe_duplicated: int = 0   # events/purchases sent again after a request of unknown fate
    rows_fate_unknown: int = 0       # failed rows whose request may or may not have reached Braze
    attributes_sent: int = 0         # delta: attributes written (data points)
    data_points: int = 0
    data_points_saved: int = 0
    users_to_remove: int = 0         # on_removed: users who left the audience since the last complete run
    users_removed: int = 0           # ... and were unset, unsubscribed or deleted in Braze
    run_id: str | None = None        # the run's id, as in the sync log and the notice

    @property
    def ok(self) -> bool:
        """True when every row was delivered, or skipped as skip_on_invalid_records allows."""
        return self.exit_code == 0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field (e.g. an Airflow task's return value, for XCom)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_result(cls, result: JobResult) -> "Report":
        """The report's fields that this class names; the exit code from the result."""
        fields = {f.name for f in dataclasses.fields(cls)} - {"exit_code"}
        return cls(exit_code=result.exit_code, **{k: v for k, v in result.report.items() if k in fields})


def export(rows: Iterable[Mapping[str, Any]], config: Config, *, report_path: str | os.PathLike[str] | None = None,
           dry_run: bool = False, raise_on_failure: bool = False,
           columns: Sequence[str] | None = None, allow_mass_removal: bool = False) -> Report:
    """Export `rows` (mappings of column to value, numbered from 1) to Braze as `config` says.

    `config` is a mapping (read like a config file: `${VAR}` expanded, validated by the schema),
    the path of a YAML/JSON config file, or a `Settings`; its `input` section is not used.
    `columns`, when given, is checked as the input's header before anything is sent.
    `allow_mass_removal`: as `run --allow-mass-removal` (on_removed beyond max_removed_ratio).
    Raises ConfigError or HeaderError (UsageError: nothing was sent). A job that fails is
    returned as a Report with status "failed" and exit_code 1, unless `raise_on_failure`, which
    raises its JobError (with the Report as its `report` attribute). Rejections (exit_code 3)
    are never raised. The report is written to `report_path` whatever the outcome.
    """
    settings = _settings(config)
    check_outputs(settings, os.fspath(report_path) if report_path is not None else None, dry_run=dry_run)
    plan = prepare(settings, list(columns) if columns is not None else None)
    result = run_job(settings, lambda run_id: run_export(plan, _numbered(rows), Ledger(), ExportOptions(
        dry_run=dry_run, allow_mass_removal=allow_mass_removal, run_id=run_id)), dry_run=dry_run)
    report = Report.from_result(result)
    if report.error is not None:
        log.error("%s", report.error)
    log.info("%s", summary(result.report))
    if report_path is not None:
        write_report(os.fspath(report_path), result.report)
    if raise_on_failure and report.status == "failed":
        error = result.error if isinstance(result.error, JobError) else JobError(
            f"{report.rows_failed} rows were not delivered (see {report.reject_file})")
        error.report = report  # type: ignore[attr-defined]
        raise error
    return report


def _settings(config: Config) -> Settings:
    if isinstance(config, Settings):
        return config
    if isinstance(config, (str, os.PathLike)):
        return load_config(config)
    if isinstance(config, Mapping):
        return parse_config(config)
    raise ConfigError(f"config must be a mapping, a file path or Settings, not a {type(config).__name__}")


def _numbered(rows: Iterable[Mapping[str, Any]]) -> Iterator[tuple[int, dict[str, Any] | InvalidRow]]:
    """(row number, values) from 1; a row that is not a mapping is an invalid row."""
    for n, row in enumerate(rows, 1):
        if isinstance(row, Mapping):
            yield n, {str(k): _plain(v) for k, v in row.items()}
        else:
            yield n, InvalidRow(None, f"is a {type(row).__name__}, not a mapping of column names to values")


def _plain(value: Any) -> Any:
    """Decimal (from database drivers and Spark) as an int when integral, else a float."""
    if isinstance(value, Decimal) and value.is_finite():
        return int(value) if value == value.to_integral_value() else float(value)
    return value
