"""What an endpoint of the sandbox answers, before HTTP: status, JSON body, and counts for the stats."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Answer:
    """What an endpoint answers: status, JSON body, and how many objects it accepted/refused/applied."""

    status: int
    body: dict[str, Any]
    accepted: int = 0
    rejected: int = 0
    applied: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def bad(message: str) -> Answer:
    """A whole request refused: 400 with Braze's `message`."""
    return Answer(400, {"message": message})
