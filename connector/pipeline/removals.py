"""on_removed's step: after a complete run, undo in Braze the users the job holds that its input no longer has.

It runs once the pump read the whole input and every row settled with none failed, in a run not
aborted. Each removal is a row of another mode (an attributes object of nulls for `unset`, a
user_subscription row `unsubscribed` for `unsubscribe`, a user_delete row for `delete`), built by
that card's writer and sent by a Delivery of its own, on that card's path and rate bucket; its
outcomes reach the same sinks as the rows', marked as removals (`Settlement.removal`). The guards
come first: too large a share of the audience, or an input with no user, removes nobody.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator, Mapping, Protocol, Sequence

from connector.delivery import Delivery, Transport
from connector.delivery.pacing import Pacer
from connector.errors import InvalidRow, JobError, OutputError
from connector.keys import ALIAS, UserKey
from connector.modes import card_for
from connector.outcomes import Fanout, Outcomes, Settlement, refused
from connector.outcomes.ledger import Counts, Ledger
from connector.pipeline.plan import Plan, delivery_policy, pacing_policy
from connector.pipeline.signals import stop_on_signals
from connector.rows import Entry
from connector.state.audience import Figures, Member
from connector.state.delta import GROUP_NAME
from connector.state.undo import RemovalJournal
from connector.writers import WriterOptions

log = logging.getLogger("braze_export")

# The mode (and record type) a removal is an object of.
KINDS: Mapping[str, tuple[str, str | None]] = {
    "unset": ("user_track", "user_profile_attributes"),
    "unsubscribe": ("user_subscription", None),
    "delete": ("user_delete", None),
}
Row = dict[str, Any]


def removal_path(kind: str) -> str:
    """The Braze path a removal of this kind goes to."""
    return card_for(*KINDS[kind]).path


class Leaving(Protocol):
    """The audience as the removals see it: the state's (connector/state/audience.py) or a dry
    run's read-only view of it (connector/state/view.py)."""

    def seen(self, key: UserKey) -> None: ...
    def flush(self) -> None: ...
    def figures(self) -> Figures: ...
    def members(self) -> Iterator[Member]: ...
    def complete(self) -> None: ...


def identity_row(key: UserKey) -> Row:
    """The identifier columns of a user key (connector/keys.py), as a row of the removal's mode."""
    kind, _, value = key.partition(":")
    if kind == ALIAS:
        label, _, name = value.partition("\0")
        return {"alias_name": name, "alias_label": label}
    return {kind: value}


def removal_rows(kind: str, member: Member) -> list[tuple[Row, frozenset[int] | None]]:
    """The removal rows of one member, each with the name ids it undoes (None: the whole user);
    none when the job holds nothing of the user's to undo."""
    ids = identity_row(member.key)
    if kind == "delete":
        return [(ids, None)]
    if kind == "unset":
        names = sorted(n for n in member.names if not n.startswith(GROUP_NAME))
        # _update_existing_only: a removal never creates a profile (one deleted meanwhile stays so).
        return [({**ids, **dict.fromkeys(names), "_update_existing_only": True}, None)] if names else []
    return [({**ids, "subscription_group_id": name[len(GROUP_NAME):], "subscription_state": "unsubscribed"},
             frozenset({nid})) for name, nid in sorted(member.names.items()) if name.startswith(GROUP_NAME)]


def guard(figures: Figures, ratio: float, allow: bool) -> str | None:
    """Why nothing may be removed (the run then fails), or None."""
    if figures.leaving == 0 or allow:
        return None
    if figures.now == 0:
        return (f"on_removed: this run's input has no user, so all {figures.leaving} users the job holds would be "
                f"removed: nothing was removed; give --allow-mass-removal if the audience is really empty")
    share = figures.leaving / max(figures.before, figures.leaving)
    if share > ratio:
        return (f"on_removed: {figures.leaving} of the {figures.before} users of the last complete run left the "
                f"audience ({share:.1%}), more than max_removed_ratio {ratio:g}: nothing was removed; check the "
                f"input, or give --allow-mass-removal to remove them")
    return None


class Marked:
    """Marks each settlement as removals before the sinks see it (Settlement.removal)."""

    def __init__(self, outcomes: Outcomes, removal: str) -> None:
        self._outcomes = outcomes
        self._removal = removal

    def settled(self, settlement: Settlement) -> None:
        self._outcomes.settled(replace(settlement, removal=self._removal))

    def close(self) -> None:
        """The sinks are the job's: the job closes them."""


@dataclass(frozen=True)
class Removals:
    """What the step did: the figures it weighed, the removals' counts, and the error that stopped it."""

    figures: Figures | None
    counts: Counts
    users_removed: int = 0
    error: JobError | None = None

    def report(self) -> dict[str, Any]:
        f, c = self.figures, self.counts
        return {"audience_users_before": f.before if f else None, "audience_users": f.now if f else None,
                "users_to_remove": f.leaving if f else None, "users_removed": self.users_removed,
                "removals_skipped": c.rows_skipped, "removals_rejected": c.rows_rejected,
                "removals_failed": c.rows_failed, "removal_requests": c.requests}


NOT_RUN = Removals(None, Ledger().counts())


def run_removals(plan: Plan, leaving: Leaving, journal: RemovalJournal | None,
                 transports: Callable[[], Transport], sinks: Sequence[Outcomes], *, allow: bool,
                 limit: int | None = None, seed: int | None = None,
                 on_delivery: Callable[[Delivery], None] | None = None,
                 before: Callable[[], None] | None = None) -> Removals:
    """Weigh the audience's change, then send every removal (at most `limit`: a preview).
    `before` is called first (the state marks the job's rows done)."""
    settings = plan.settings
    ledger = Ledger()
    try:
        if before is not None:
            before()
        leaving.flush()
        figures = leaving.figures()
    except JobError as exc:
        return Removals(None, ledger.counts(), error=exc)
    log.info("on_removed: %d users in this run, %d in the last complete one; %d left the audience",
             figures.now, figures.before, figures.leaving)
    stop = guard(figures, settings.max_removed_ratio, allow)
    if stop is not None:
        return Removals(figures, ledger.counts(), error=JobError(stop))
    kind = settings.on_removed
    card = card_for(*KINDS[kind])
    writer = card.writer(WriterOptions(null_values="unset"))
    fanout = Fanout(*([journal] if journal is not None else []), ledger, *sinks)
    marked = Marked(fanout, kind)
    delivery = Delivery(delivery_policy(settings, card), transports, Pacer(pacing_policy(settings, card)),
                        marked, ledger, seed=seed)
    fanout.on_error = delivery.abort
    if on_delivery is not None:
        on_delivery(delivery)
    sent, whole = 0, 0      # removals made; users whose every removal could be built
    with stop_on_signals(None, delivery):
        try:
            for member in leaving.members():
                if delivery.error is not None or (limit is not None and sent >= limit):
                    break
                rows = removal_rows(kind, member)
                if not rows and journal is not None:
                    journal.nothing(member.user)
                built = True
                for row, undo in rows:
                    sent += 1
                    try:
                        item = writer.build(row)
                    except InvalidRow as invalid:
                        built = False
                        if journal is not None:
                            journal.expect(-sent, member.user, undo)
                        marked.settled(refused("skipped", [Entry(-sent, row)], f"cannot be removed: {invalid}"))
                        continue
                    if journal is not None:
                        journal.expect(-sent, member.user, undo)
                    delivery.submit(item.key, item.array, Entry(-sent, row, item.body))
                whole += built
        except KeyboardInterrupt:
            delivery.abort(JobError("interrupted"))
        except JobError as exc:      # the state could not be read
            delivery.abort(exc)
        finally:
            delivery.finish()
    error: JobError | None = delivery.error or fanout.error
    try:
        if journal is not None:
            journal.flush()
        if error is None and limit is None:
            leaving.complete()
    except (JobError, OutputError) as exc:
        error = error or exc
    counts = ledger.counts()
    removed = journal.users_removed if journal is not None else whole
    log.info("on_removed: %d users removed (%s); %d removals rejected, %d failed, %d could not be made",
             removed, kind, counts.rows_rejected, counts.rows_failed, counts.rows_skipped)
    return Removals(figures, counts, removed, error)


def with_removals(rows: Counts, removals: Counts) -> Counts:
    """The counts a run's status and exit code weigh: its rows and its removals together."""
    return Counts(rows.rows_read + removals.rows_delivered + removals.rows_skipped + removals.rows_rejected
                  + removals.rows_failed, rows.rows_delivered + removals.rows_delivered,
                  rows.rows_skipped + removals.rows_skipped, rows.rows_rejected + removals.rows_rejected,
                  rows.rows_failed + removals.rows_failed, rows.requests + removals.requests,
                  rows.retries + removals.retries, rows.requests_unknown_fate + removals.requests_unknown_fate)
