"""The one row loop: read each row, make its object (the fast path first, where the writer has one),
hand it to delivery; an invalid row is skipped or aborts the job, as skip_on_invalid_records says."""

from __future__ import annotations

import itertools
from typing import Any, Callable, Iterable, Iterator, Mapping

from connector.delivery import Delivery
from connector.errors import EXHAUSTED, InvalidRow, RowAborted, exhausted
from connector.keys import UserKey, row_key
from connector.outcomes import Outcomes, refused
from connector.outcomes.ledger import Ledger
from connector.pipeline.plan import Plan
from connector.rows import Entry
from connector.sources import CellSource
from connector.state.gate import Gate, split_dedupe
from connector.writers.fastpath import CellPlan

Rows = Iterable[tuple[int, "dict[str, Any] | InvalidRow"]]


class Pump:
    """Reads rows, builds objects, hands them to delivery; settles invalid rows on the spot."""

    def __init__(self, plan: Plan, delivery: Delivery, outcomes: Outcomes, ledger: Ledger,
                 gate: Gate | None = None, limit: int | None = None,
                 seen: Callable[[UserKey], None] | None = None) -> None:
        self._plan = plan
        self._writer = plan.writer
        self._delivery = delivery
        self._outcomes = outcomes
        self._ledger = ledger
        self._skip = plan.settings.skip_on_invalid_records
        self._dedupe_key = plan.settings.dedupe_key
        self._gate = gate
        self._limit = limit
        self._seen = seen       # on_removed: told the user of each row the gate does not see
        self.reading = False    # inside the source: a row taken there is not counted yet
        self.exhausted = False  # the rows ran out before the limit: the whole input was read
        self._keyed = plan.settings.sync_log is not None    # rows carry their user key for the sync log

    def run(self, rows: Rows) -> None:
        """Pump every row (up to the limit), unless delivery aborts the job first."""
        fast = self._fast_path(rows)
        records: Iterator[tuple[int, Any]]
        if fast is not None:
            assert isinstance(rows, CellSource)
            records, decode, encode, array = rows.cells(), rows.row_of, fast.encode, fast.array
        else:
            records, decode, encode, array = iter(rows), None, None, ""
        if self._limit is not None:
            records = itertools.islice(records, self._limit)
        read, one, delivery = self._ledger.read, self._one, self._delivery
        submit: Callable[[UserKey, str, Entry], None] = delivery.submit
        if self._seen is not None:
            submit = self._seeing(submit)
        keyed = self._keyed
        taken = n = 0
        while True:     # ends at the end of the rows (or the limit)
            self.reading = True
            try:
                n, record = next(records)
            except StopIteration:
                self.exhausted = self._limit is None or taken < self._limit
                return
            except EXHAUSTED as exc:    # the row was not read: nothing to settle
                raise exhausted(exc, f"reading the input after row {n}") from None
            finally:
                self.reading = False
            read()
            taken += 1
            try:
                if encode is not None and type(record) is list and (hit := encode(record)) is not None:
                    entry = Entry(n, record, hit[1], decode, hit[0]) if keyed else Entry(n, record, hit[1], decode)
                    submit(hit[0], array, entry)
                else:
                    one(n, record if decode is None or type(record) is not list else decode(record))
            except EXHAUSTED as exc:
                # the row may have been settled or not: the caller gives it an outcome if it has none
                raise exhausted(exc, f"making the object of row {n}") from None
            if delivery.error is not None:
                return

    def _seeing(self, submit: Callable[[UserKey, str, Entry], None]) -> Callable[[UserKey, str, Entry], None]:
        seen = self._seen
        assert seen is not None

        def submit_seen(key: UserKey, array: str, entry: Entry) -> None:
            seen(key)
            submit(key, array, entry)

        return submit_seen

    def _fast_path(self, rows: Rows) -> CellPlan | None:
        """The writer's cell encoder for a CSV/TSV source (writers/fastpath.py), when it has one.
        Not with a state or a dedupe_key: the gate sees every row as a row."""
        if self._gate is not None or self._dedupe_key is not None or not isinstance(rows, CellSource):
            return None
        if rows.columns is None:
            return None
        return self._writer.compile_cells(rows.columns, rows.declared())

    def _one(self, n: int, values: "dict[str, Any] | InvalidRow") -> None:
        """The general path of one row: build its object, or settle it as invalid."""
        gate = self._gate
        if isinstance(values, InvalidRow):
            self._invalid(n, values, getattr(values, "values", None))
        elif gate is None or not gate.earlier(n, values):     # a state: settled by an earlier run
            try:
                plain, key = (values, None) if gate is None else gate.prepare(values)
                if gate is None and self._dedupe_key is not None:
                    plain = split_dedupe(values, self._dedupe_key)[0]
                item = self._writer.build(plain)
            except InvalidRow as invalid:
                self._invalid(n, invalid, values)
            else:
                if gate is None:
                    if self._seen is not None:
                        self._seen(item.key)
                    self._delivery.submit(item.key, item.array, Entry(n, values, item.body, None, item.key))
                else:
                    gate.add(n, values, item, key)

    def _invalid(self, n: int, invalid: InvalidRow, values: Mapping[str, Any] | None) -> None:
        entry = Entry(n, values)
        if self._seen is not None and isinstance(values, Mapping):     # its user is still in the audience
            key = row_key(values, self._plan.card.keys)
            if key is not None:
                self._seen(key)
        if self._skip:
            self._outcomes.settled(refused("skipped", [entry], str(invalid)))
            return
        self._outcomes.settled(refused("failed", [entry], f"invalid row: {invalid}"))
        raise RowAborted(n, invalid)
