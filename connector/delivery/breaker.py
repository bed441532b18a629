"""When to stop a job whose batches keep failing: a storm costs rows' retries, a dead Braze stops the job.

A batch whose retries run out (or whose request was lost under at_most_once) fails its own rows,
and the job goes on. The breaker stops the job once failures are sustained: `consecutive`
batches failed with no batch delivered in between. With 30% of answers failing, a batch fails
after 7 attempts with a chance of 0.3**7 (2 in 10,000), and five in a row practically never; a
Braze that answers nothing fails every batch, so the job stops after about one retry budget.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from connector.errors import DeliveryError


@dataclass(frozen=True)
class BreakerPolicy:
    consecutive: int = 5


class Breaker:
    """Counts batches failed in a row; thread-safe."""

    def __init__(self, policy: BreakerPolicy = BreakerPolicy()) -> None:
        self._policy = policy
        self._lock = threading.Lock()
        self._failed = 0

    def delivered(self) -> None:
        """A batch got an answer that settled it (delivered, or some rows rejected)."""
        with self._lock:
            self._failed = 0

    def failed(self, reason: str) -> DeliveryError | None:
        """A batch failed for `reason`; the error that stops the job once failures are sustained."""
        with self._lock:
            self._failed += 1
            if self._failed < self._policy.consecutive:
                return None
            count = self._failed
        return DeliveryError(f"{count} batches in a row could not be delivered (the last: {reason}); "
                             f"the job stops, and the rows not sent are failed")
