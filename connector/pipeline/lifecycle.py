"""A run's beginning and end, for every caller (the run command, workers' parent, the Python API): its
id, its row in the sync log's runs table, and the signed notice when it ends.

`RunLifecycle(settings)` makes the run id. `start()` opens the sync log's tables (creating the
missing ones) and records the run as `running` before anything is sent: a sync log that cannot be
opened fails the run there. `finish(result)` records its end (status, exit code, error, counts),
and `notify(result)` posts the notice; neither raises, and neither changes the exit code. A dry
run writes no sync log and sends no notice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Mapping
from typing import Any, Callable

from connector.config import Secret, Settings
from connector.errors import ConnectorError, JobError
from connector.outcomes.ledger import COUNTS
from connector.outcomes.report import new_run_id
from connector.synclog.syncdb import SyncDatabase, open_database, record_run
from connector.pipeline.endpoint import USER_AGENT
from connector.pipeline.export import JobResult, failed_before_start
from connector.pipeline.notify import notice_body, send_notice
from connector.sources import describe_input
from connector.state.fingerprint import canonical
from connector.version import __version__

log = logging.getLogger("braze_export")

RUN_COUNTS = tuple(c for c in COUNTS if c != "requests_unknown_fate")


def _public(value: Any) -> Any:
    """A settings value as JSON, every secret left out."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _public(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not isinstance(getattr(value, f.name), Secret) and f.name not in _AS_WRITTEN}
    if isinstance(value, Mapping):
        return {str(k): _public(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_public(v) for v in value]
    return value


# How values were written (the ${VAR} a value came from), not what the config is.
_AS_WRITTEN = frozenset({"origins", "shown_path"})


def config_fingerprint(settings: Settings) -> str:
    """32 hex digits of the SHA-256 of the whole config as it was read, without its secrets."""
    return hashlib.sha256(canonical(_public(settings))).hexdigest()[:32]


def _input_description(settings: Settings) -> str:
    try:
        described = describe_input(settings.input)
    except ConnectorError:
        described = {"format": settings.input.format}
    return json.dumps(described, sort_keys=True, default=str)


class RunLifecycle:
    """One run's id, its sync-log runs row and its notice."""

    def __init__(self, settings: Settings, *, dry_run: bool = False, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.run_id = new_run_id()
        self.started_at = clock()
        self.ended_at: float | None = None
        self.fingerprint = config_fingerprint(settings)
        self._clock = clock
        self._active = not dry_run
        self._db: SyncDatabase | None = None

    def start(self) -> None:
        """Record the run as running in the sync log (ConnectorError, before anything is sent, when it
        cannot be opened, its tables have another shape, or SQLAlchemy is missing)."""
        sync_log = self.settings.sync_log
        if sync_log is None or not self._active:
            return
        db = open_database(sync_log)
        try:
            db.ensure_tables()
            record_run(db, self.run_id, {
                "started_at": self.started_at, "status": "running", "mode": self.settings.mode,
                "record_type": self.settings.track_record_type, "config_fingerprint": self.fingerprint,
                "input": _input_description(self.settings), "version": __version__}, new=True)
        except BaseException:
            db.close()
            raise
        self._db = db
        log.info("sync log: run %s in %s (%s)", self.run_id, db.rows.fullname, db.where())

    def guarded(self, job: Callable[[str], JobResult]) -> JobResult:
        """start(), then job(run_id); a run that fails to start is a failed result with this run id."""
        try:
            self.start()
        except ConnectorError as exc:
            return failed_before_start(exc, run_id=self.run_id)
        return job(self.run_id)

    def finish(self, result: JobResult) -> None:
        """Record the run's end: status, exit code, error, counts, rows logged. Never raises."""
        self.ended_at = self._clock()
        db, self._db = self._db, None
        if db is None:
            return
        report = result.report
        values = {"ended_at": self.ended_at, "status": report["status"], "exit_code": result.exit_code,
                  "error": report.get("error"), **{c: report.get(c) for c in RUN_COUNTS},
                  "rows_logged": (report.get("sync_log") or {}).get("rows_written", 0)}
        try:
            record_run(db, self.run_id, values, new=False)
        except JobError as exc:
            log.warning("%s; the run's row in %s still says running", exc, db.runs.fullname)
        finally:
            db.close()

    def notify(self, result: JobResult) -> None:
        """Post the signed notice, if the config asks for one. Never raises."""
        notify = self.settings.notify
        if notify is None or not self._active:
            return
        body = notice_body(result.report, exit_code=result.exit_code, started_at=self.started_at,
                           ended_at=self.ended_at or self._clock(), mode=self.settings.mode,
                           record_type=self.settings.track_record_type, fingerprint=self.fingerprint)
        send_notice(notify, body, user_agent=USER_AGENT)


def run_job(settings: Settings, job: Callable[[str], JobResult], *, dry_run: bool = False) -> JobResult:
    """A whole run for a caller with nothing to do between its parts (the Python API)."""
    run = RunLifecycle(settings, dry_run=dry_run)
    result = run.guarded(job)
    run.finish(result)
    run.notify(result)
    return result
