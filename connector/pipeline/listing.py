"""What a dry run would do that cannot be undone: one log line per merge or rename it would send."""

from __future__ import annotations

import logging
from typing import Any, Callable

from connector.outcomes import Settlement

log = logging.getLogger("braze_export")


class WouldDo:
    """An Outcomes sink for `--dry-run` and `preview` on a card with `describe` (merges, renames):
    each row the run would send is logged as `dry run: row N would <what>`."""

    def __init__(self, describe: Callable[[Any], str]) -> None:
        self._describe = describe

    def settled(self, settlement: Settlement) -> None:
        for entry in settlement.delivered:
            if entry.body is not None:
                log.info("dry run: row %d would %s", entry.row, self._describe(entry.body))

    def close(self) -> None:
        """Nothing to release."""
