"""Delivery's end: finish() returns once every row has its outcome, without waiting for the
senders that have nothing left to do; each of them still leaves and closes its connection."""

from __future__ import annotations

import threading
import time

from connector.braze.outcome import classify_response
from connector.delivery.attempts import DeliveryPolicy
from connector.delivery.concurrency import ConcurrencyPolicy
from connector.delivery.dispatch import Delivery
from connector.delivery.pacing import Pacer, PacingPolicy
from connector.delivery.retry import RetryPolicy
from connector.outcomes.ledger import Ledger
from connector.rows import Entry

SENDERS = 8


class Answering:
    """A connection that answers every request with Braze's success; closing it blocks until
    `leave` is set, as a sender still on its way out would."""

    def __init__(self, leave: threading.Event, closed: list, changed: threading.Condition) -> None:
        self._leave, self._closed, self._changed = leave, closed, changed

    def post(self, path: str, body: bytes):
        return classify_response(201, {}, '{"message":"success"}', time.time())

    def expire(self, at: float) -> None:
        pass

    def close(self) -> None:
        self._leave.wait(30)
        with self._changed:
            self._closed.append(self)
            self._changed.notify_all()


def test_finish_returns_with_every_row_settled_while_idle_senders_are_still_leaving():
    leave, closed, changed = threading.Event(), [], threading.Condition()
    made: list[Answering] = []

    def transports() -> Answering:
        made.append(Answering(leave, closed, changed))
        return made[-1]

    ledger = Ledger()
    policy = DeliveryPolicy(path="/users/track", concurrency=ConcurrencyPolicy(pinned=SENDERS),
                            max_objects=75, retry=RetryPolicy())
    delivery = Delivery(policy, transports, Pacer(PacingPolicy(per_second=10_000)), ledger, ledger, seed=1)
    for n in range(1, 601):
        ledger.read()
        delivery.submit(f"u{n}", "attributes", Entry(n, None, b'{"external_id":"u%d"}' % n))
    finishing = threading.Thread(target=delivery.finish)
    finishing.start()
    finishing.join(20)
    # joined, the senders would have held finish() until their connections closed (they cannot yet)
    assert not finishing.is_alive()
    counts = ledger.counts()
    assert (counts.rows_delivered, counts.requests) == (600, 8) and not closed
    leave.set()
    with changed:
        assert changed.wait_for(lambda: len(closed) == len(made), timeout=20)
    assert len(made) == SENDERS
