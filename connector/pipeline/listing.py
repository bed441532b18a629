"""What a dry run would do that cannot be undone: one log line per merge or rename, and per removal of
on_removed, that it would send."""

from __future__ import annotations

import logging
from typing import Any, Callable, Mapping

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


def removal_words(operation: str, values: Mapping[str, Any]) -> str:
    """'unset vip, tier of external_id u7': what one removal does, from its row."""
    if "alias_name" in values:
        who = f"alias {values['alias_label']}:{values['alias_name']}"
    else:
        kind = next(k for k in ("external_id", "braze_id", "email", "phone") if k in values)
        who = f"{kind} {values[kind]}"
    if operation == "unset":
        names = [k for k, v in values.items() if v is None]
        return f"unset {', '.join(names)} of {who}"
    if operation == "unsubscribe":
        return f"unsubscribe {who} from {values['subscription_group_id']}"
    return f"delete {who}"


class WouldRemove:
    """An Outcomes sink for `--dry-run` and `preview` with on_removed: each removal the run would
    send is logged as `dry run: would unset vip of external_id u7 (left the audience)`."""

    def settled(self, settlement: Settlement) -> None:
        if settlement.removal is None:
            return
        for entry in settlement.delivered:
            log.info("dry run: would %s (left the audience)", removal_words(settlement.removal, entry.values()))

    def close(self) -> None:
        """Nothing to release."""
