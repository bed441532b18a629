"""What delivery does with each kind of answer: one literal table, read by connector/delivery/attempts.py.

The kinds are decided once, at the edge (connector/braze/outcome.py); delivery branches on the
action alone, never on a status code or a message.
"""

from __future__ import annotations

import enum
from types import MappingProxyType
from typing import Mapping

from connector.braze.outcome import Kind


class Action(enum.Enum):
    ACCEPT = "accept"                        # every object delivered
    ACCEPT_OTHERS = "accept_others"          # the objects Braze names are rejected, the others delivered
    REJECT = "reject"                        # Braze refused the whole request: every object rejected
    SPLIT = "split"                          # too large: resend in halves (one object: rejected)
    RETRY = "retry"                          # resend this batch after its back-off
    WAIT_FOR_BUCKET = "wait_for_bucket"      # resend after the pause Braze asked of the whole bucket
    RETRY_IF_REPLAYABLE = "retry_if_replayable"  # may have been applied: resend only if that is safe
    ABORT_AUTH = "abort_auth"                # the key, host or permission is wrong: stop the job
    ABORT = "abort"                          # nothing will work (404, a certificate): stop the job


ACTIONS: Mapping[Kind, Action] = MappingProxyType({
    Kind.DELIVERED: Action.ACCEPT,
    Kind.PARTIAL: Action.ACCEPT_OTHERS,
    Kind.REJECTED: Action.REJECT,
    Kind.SPLIT: Action.SPLIT,
    Kind.RETRY: Action.RETRY,
    Kind.RATE_LIMITED: Action.WAIT_FOR_BUCKET,
    Kind.UNKNOWN_FATE: Action.RETRY_IF_REPLAYABLE,
    Kind.AUTH: Action.ABORT_AUTH,
    Kind.FATAL: Action.ABORT,
})

# The actions after which the batch is sent again.
RESENDS = frozenset({Action.RETRY, Action.WAIT_FOR_BUCKET})
