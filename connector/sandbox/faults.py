"""Faults on demand: a seeded failure rate, dropped connections, latency and a script of answers."""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..errors import ConfigError

SCRIPT_KEYS = frozenset({"status", "retry_after", "drop", "latency_ms", "body"})


@dataclass(frozen=True)
class FaultSettings:
    """The standing faults (the script is kept apart: it is consumed)."""

    fail_rate: float = 0.0
    fail_status: int = 500
    latency_ms: float = 0.0
    drop_rate: float = 0.0
    drop_applies: bool = True
    seed: int = 0


@dataclass(frozen=True)
class Fault:
    """What to do to one request: answer `status` without applying, or drop the connection."""

    status: int | None = None
    retry_after: float | None = None
    drop: bool = False
    latency_ms: float = 0.0
    body: dict[str, Any] | None = field(default=None, compare=False)


def _rate(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} must be a number from 0 to 1")
    return float(value)


def _status(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise ConfigError(f"{name} must be an HTTP status code")
    return value


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"{name} must be a number of at least 0")
    return float(value)


def parse_entry(entry: Any) -> Fault:
    """One script entry, e.g. {"status": 429, "retry_after": 0.2} or {"drop": true}."""
    if not isinstance(entry, dict) or not set(entry) <= SCRIPT_KEYS:
        raise ConfigError(f"a script entry is an object with keys among {', '.join(sorted(SCRIPT_KEYS))}")
    drop = entry.get("drop", False)
    if not isinstance(drop, bool) or (not drop and "status" not in entry):
        raise ConfigError("a script entry needs a status or \"drop\": true")
    body = entry.get("body")
    if body is not None and not isinstance(body, dict):
        raise ConfigError("a script entry's body must be an object")
    return Fault(
        status=None if drop else _status("status", entry["status"]),
        retry_after=None if entry.get("retry_after") is None else _seconds("retry_after", entry["retry_after"]),
        drop=drop, latency_ms=_seconds("latency_ms", entry.get("latency_ms", 0)), body=body)


class Faults:
    """The faults in force; thread-safe; `next()` decides the fate of one request."""

    def __init__(self, settings: FaultSettings) -> None:
        self.lock = threading.Lock()
        self.settings = settings
        self.script: deque[Fault] = deque()
        self.rng = random.Random(settings.seed)

    def set(self, **changes: Any) -> None:
        """Change some faults: fail_rate, fail_status, latency_ms, drop_rate, drop_applies, seed, script."""
        known = set(FaultSettings.__dataclass_fields__) | {"script"}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(f"unknown fault setting(s): {', '.join(unknown)}")
        checked: dict[str, Any] = {}
        for name in ("fail_rate", "drop_rate"):
            if name in changes:
                checked[name] = _rate(name, changes[name])
        if "fail_status" in changes:
            checked["fail_status"] = _status("fail_status", changes["fail_status"])
        if "latency_ms" in changes:
            checked["latency_ms"] = _seconds("latency_ms", changes["latency_ms"])
        if "drop_applies" in changes:
            if not isinstance(changes["drop_applies"], bool):
                raise ConfigError("drop_applies must be true or false")
            checked["drop_applies"] = changes["drop_applies"]
        if "seed" in changes:
            if isinstance(changes["seed"], bool) or not isinstance(changes["seed"], int):
                raise ConfigError("seed must be an integer")
            checked["seed"] = changes["seed"]
        script = changes.get("script")
        if script is not None and not isinstance(script, list):
            raise ConfigError("script must be a list of entries")
        entries = [parse_entry(e) for e in script or []]
        with self.lock:
            self.settings = replace(self.settings, **checked)
            if "seed" in checked:
                self.rng = random.Random(checked["seed"])
            if script is not None:
                self.script = deque(entries)

    def clear(self) -> None:
        """No faults at all (the seed is kept)."""
        with self.lock:
            self.settings = FaultSettings(seed=self.settings.seed)
            self.script.clear()

    def next(self) -> Fault | None:
        """The fault for the next request, if any: the script first, then the seeded rates."""
        with self.lock:
            s = self.settings
            if self.script:
                entry = self.script.popleft()
                return replace(entry, latency_ms=entry.latency_ms + s.latency_ms)
            fail = s.fail_rate > 0 and self.rng.random() < s.fail_rate
            drop = s.drop_rate > 0 and self.rng.random() < s.drop_rate
        if fail:
            return Fault(status=s.fail_status, latency_ms=s.latency_ms)
        if drop:
            return Fault(drop=True, latency_ms=s.latency_ms)
        return Fault(latency_ms=s.latency_ms) if s.latency_ms else None

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            out = asdict(self.settings)
            out["script"] = [{k: v for k, v in asdict(f).items() if v not in (None, False, 0.0)}
                             for f in self.script]
        return out
