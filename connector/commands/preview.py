"""`braze-export preview`: the request bodies a run would send for the first rows; no network.

It is the export itself over a dry run's transport (nothing is sent, no endpoint is started, no
state is written): the same pump, writer, batching and lanes, with a sink that keeps each request's
body and says what a run would do with each invalid row. With on_removed, when the rows read are
the whole input, the removals' requests follow (at most --limit removals).
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import replace
from typing import TextIO

from connector.config import Settings
from connector.outcomes import Settlement
from connector.outcomes.ledger import Ledger
from connector.pipeline import ExportOptions, prepare, run_export
from connector.pipeline.plan import KNOWN_COLUMNS
from connector.pipeline.removals import removal_path
from connector.sources import open_source
from connector.sources.looks import typed_looking

log = logging.getLogger("braze_export")


class _Requests:
    """Keeps the body of each request the dry run made; logs the rows a run would not send."""

    def __init__(self, fate: str) -> None:
        self._fate = fate
        self._lock = threading.Lock()
        self.bodies: list[tuple[bool, int, str, str | None, bytes]] = []   # removal?, first row, words, removal, body

    def settled(self, settlement: Settlement) -> None:
        batch = settlement.batch
        with self._lock:
            if batch is not None and settlement.delivered:
                first = batch.entries[0].row
                self.bodies.append((first < 0, abs(first), batch.rows, settlement.removal, batch.body()))
            for refusal in settlement.refused:
                log.warning("row %d, %s (%s)", refusal.entry.row, refusal.reason, self._fate)

    def close(self) -> None:
        """Nothing to release."""


def preview(settings: Settings, limit: int, out: TextIO) -> int:
    requests = _Requests("skipped" if settings.skip_on_invalid_records else "would abort the job")
    shown = replace(settings, skip_on_invalid_records=True)     # show every row, invalid ones included
    for note in typed_looking(settings.input, KNOWN_COLUMNS):
        log.warning("%s", note)
    with open_source(settings.input) as source:
        plan = prepare(shown, source.columns)
        result = run_export(plan, source, Ledger(), ExportOptions(dry_run=True, limit=limit, sinks=(requests,),
                                                                  write_rejects=False))
    if result.error is not None:
        log.warning("a run would fail: %s", result.error)
    for _, _, rows, removal, body in sorted(requests.bodies, key=lambda b: b[:2]):
        text = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
        path = plan.card.path if removal is None else removal_path(removal)
        out.write(f"POST {path}  ({rows}{', on_removed: ' + removal if removal else ''})\n{text}\n")
    if not requests.bodies:
        out.write("(no request: no valid row among those read)\n")
    return 0
