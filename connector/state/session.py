"""Open the state for one run: check the settings, take the lock, find or start the job, report."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from connector.config import Settings
from connector.config.settings import InputSettings
from connector.config.statement import order_note
from connector.errors import JobError
from connector.state import audience as audiences
from connector.state.audience import Audience, attribute_names, group_names
from connector.state.delta import diff, subscription_diff
from connector.state.fingerprint import InputIdentity, config_fingerprint, input_identity
from connector.state.gate import Gate
from connector.state.lock import StateLock
from connector.state.replay import CheckedRows
from connector.state.store import JobStart, StateStore

log = logging.getLogger("braze_export")

class StateSession:
    """The state of one run: the lock, the store, the gate, and the counts for the report."""

    def __init__(self, settings: Settings, resume_input: InputSettings | None, restart: bool,
                 lose_unknown: bool) -> None:
        """`lose_unknown`: rows of unknown fate at a resume are failed, not resent (at_most_once
        on a mode whose requests are not replay-safe)."""
        assert settings.state_file is not None
        self._closed = False
        self._config = config_fingerprint(settings)
        self._mirror = settings.on_removed != "ignore"
        scope = f"{settings.endpoint}\0{settings.track_record_type}"
        shown = settings.shown("state_file")
        self._lock = StateLock(settings.state_file, shown)
        self._lock.acquire()
        self.audience: Audience | None = None
        try:
            self.store = StateStore(settings.state_file, shown)
            identity = self._identity = input_identity(resume_input) if resume_input is not None else None
            if identity is not None and identity.streamed and (note := order_note(settings.input)):
                log.warning("%s", note)
            if self._mirror:
                restart = self._learn(identity, restart)
            self.start = self._begin(identity, restart, lose_unknown)
            if self._mirror:
                self.audience = self._audience(settings, scope, identity)
        except BaseException:
            self._lock.release()
            raise
        self._delta = settings.delta
        self.store.audience = self.audience
        self.gate = Gate(self.store, scope=scope,
                         delta=settings.delta, dedupe_key=settings.dedupe_key, lose_unknown=lose_unknown,
                         differ=subscription_diff if settings.mode == "user_subscription" else diff,
                         audience=self.audience)

    def checked(self, rows: Any) -> Any:
        """The rows as the pump is to read them: a query's, checked block by block against what
        the earlier run of the job read (state/replay.py); any other input's as they are."""
        if self._identity is None or not self._identity.streamed or self.store.job is None:
            return rows
        return CheckedRows(rows, self.store, finished_before=self.start.finished_before is not None)

    def _learn(self, identity: InputIdentity | None, restart: bool) -> bool:
        """Whether to restart the job: a resumed run skips the rows delivered before, so their users
        must be in the audience already (they are not when on_removed was just turned on)."""
        if identity is None or restart or self.store.job_input(self._config) != identity.digest:
            return restart
        with self.store.reading() as db:
            found = audiences.peek(db, self._config)
        if found is not None and found[1] == identity.digest:
            return False
        log.info("state: on_removed: the audience of this job is not known yet: every row of this input "
                 "is sent again, so that it is")
        return True

    def _audience(self, settings: Settings, scope: str, identity: InputIdentity | None) -> Audience:
        """This run's audience: a resumed run goes on with the run it resumes, any other is a new one."""
        with self.store.reading() as db:
            found = audiences.peek(db, self._config)
        keep = (identity is not None and self.start.resumed and found is not None and found[1] == identity.digest
                # a query run after a finished run reads a new result (checked as it streams): a new run
                and not (identity.streamed and self.start.finished_before))
        names = group_names if settings.mode == "user_subscription" else attribute_names
        return Audience(self.store, self._config, scope, names, digest=identity.digest if identity else None,
                        keep=keep)

    def _begin(self, identity: InputIdentity | None, restart: bool, lose: bool) -> JobStart:
        if identity is None:
            log.info("state: rows read from standard input cannot be resumed; delta and dedupe_key still apply")
            return JobStart(False, (), None)
        try:
            start = self.store.begin_job(self._config, identity, restart, lose)
        except sqlite3.Error as exc:
            raise JobError(f"cannot use the state file: {exc}") from None
        if start.finished_before and identity.streamed:
            log.info("state: the last run of this query reached its end (%s); this result is compared with it "
                     "as it streams, and the rows it delivered are not sent again where the two are the same",
                     start.finished_before)
        elif start.finished_before:
            log.info("state: this input was already run to its end (%s); only rows not delivered then are "
                     "sent; --restart sends it all again", start.finished_before)
        elif start.resumed:
            log.info("state: resuming an earlier run of this input: %d rows delivered then are not sent again",
                     len(self.store.done))
        if start.unknown_fate_rows:
            what = "not resent (event_delivery is at_most_once)" if lose else "sent again"
            log.warning("state: %d rows were in flight when the earlier run stopped; Braze may or may not "
                        "have them; they are %s", len(start.unknown_fate_rows), what)
        return start

    def rows_done(self) -> None:
        """Every row of the input was read and settled: the job reached its end (removals may follow)."""
        try:
            self.store.finish_job()
        except sqlite3.Error as exc:
            raise JobError(f"cannot write the state file: {exc}") from None

    def close(self, reached_end: bool) -> None:
        """Release the state (once; later calls do nothing); `reached_end` marks the job finished."""
        if self._closed:
            return
        self._closed = True
        try:
            if reached_end:
                self.store.finish_job()
                if not self._mirror:
                    audiences.forget(self.store, self._config)
            self.store.close()
        except sqlite3.Error as exc:
            log.error("cannot write the state file: %s", exc)
        finally:
            self._lock.release()

    def report(self) -> dict[str, Any]:
        counts = self.gate.counts
        return {
            "resumed": self.start.resumed,
            "rows_delivered_earlier": counts["rows_delivered_earlier"],
            "rows_unknown_fate_at_resume": len(self.start.unknown_fate_rows),
            "rows_unchanged": counts["rows_unchanged"],
            "attributes_unchanged": counts["attributes_unchanged"],
            "rows_duplicate": counts["rows_duplicate"],
            **({"attributes_sent": counts["attributes_sent"],
                "data_points": counts["attributes_sent"],           # one per attribute written
                "data_points_saved": counts["attributes_unchanged"]} if self._delta else {}),
        }
