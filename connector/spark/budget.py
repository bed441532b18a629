"""One rate budget for a whole Spark write: each task gets its share of the tasks that run at once.

The tasks that run at once are the write's task slots: the option tasks_at_once (which
`connector.spark.write` sets to min(partitions, the cluster's default parallelism)), else what
Spark's conf says (`local[N]`, or executors x cores / task.cpus). Each task then runs with the
job's requests per second, concurrency and hourly budget divided by that number, exactly as
`workers: N` divides them between processes (connector/workers/parent.py). The hourly budget is
turned into a steady pace first (59/60 of it, spread over the hour), so that tasks starting one
after another never add up their hourly bursts; and each task's bucket holds a single request, so
that the tasks together go over the pace by at most one request each in any second.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from connector.config import Settings
from connector.delivery.pacing import PacingPolicy
from connector.errors import ConfigError
from connector.modes import ModeCard
from connector.workers.parent import worker_settings

# Spark's conf, as a task sees it (local properties; only what was set explicitly is there).
CONF_KEYS = ("spark.master", "spark.executor.instances", "spark.executor.cores", "spark.task.cpus",
             "spark.dynamicAllocation.enabled", "spark.dynamicAllocation.maxExecutors", "spark.speculation")
_LOCAL = re.compile(r"local(?:\[(\*|\d+)(?:,\s*\d+)?\])?")
UNKNOWN = ("option tasks_at_once: Spark's conf does not say how many tasks of this write run at once; "
           "give .option('tasks_at_once', N) with the cluster's task slots (or write with "
           "connector.spark.write, which asks Spark)")


def tasks_at_once(given: int | None, conf: Mapping[str, str | None]) -> int:
    """How many tasks of the write may run at once; ConfigError when nothing says."""
    if given is not None:
        return given
    master = (conf.get("spark.master") or "").strip()
    local = _LOCAL.fullmatch(master)
    if local is not None:
        slots = local.group(1)
        return (os.cpu_count() or 1) if slots == "*" else int(slots or 1)
    executors = conf.get("spark.executor.instances")
    if (conf.get("spark.dynamicAllocation.enabled") or "").lower() == "true":
        executors = conf.get("spark.dynamicAllocation.maxExecutors")
    cores, per_task = conf.get("spark.executor.cores"), conf.get("spark.task.cpus") or "1"
    if executors and cores and executors.isdigit() and cores.isdigit() and per_task.isdigit():
        return max(1, int(executors) * (int(cores) // max(1, int(per_task))))
    raise ConfigError(UNKNOWN) from None


def hourly_as_pace(settings: Settings, card: ModeCard) -> Settings:
    """The hourly budget folded into requests per second, so that any hour holds at most it."""
    per_second = settings.requests_per_second or card.default_rate
    if settings.requests_per_hour is not None:
        per_second = min(per_second, settings.requests_per_hour * 59 / 60 / 3600)
    return replace(settings, requests_per_second=per_second, requests_per_hour=None)


def task_settings(settings: Settings, card: ModeCard, tasks: int) -> Settings:
    """One task's settings: the job's rates and concurrency divided by the tasks that run at once."""
    steady = replace(hourly_as_pace(settings, card), workers=tasks)
    key = settings.api_key.reveal() if settings.api_key is not None else ""
    return replace(worker_settings(steady, settings.endpoint, key, card), api_key=settings.api_key)


@dataclass(frozen=True)
class SteadyPacing(PacingPolicy):
    """A task's pacing: its token bucket holds one request, not a twentieth of a second's worth,
    so that T tasks together put at most T requests over the job's pace into any second."""

    @property
    def burst(self) -> float:
        return 1.0


def steady(policy: PacingPolicy) -> SteadyPacing:
    """The same policy (every field of it), with a bucket of one request."""
    return SteadyPacing(**{f.name: getattr(policy, f.name) for f in fields(policy)})


def start_delay(policy: PacingPolicy) -> float:
    """Seconds a task waits before its first request: what its pace takes to earn the token its
    fresh bucket holds, so that a task starting as another one ends adds no burst."""
    return policy.burst / policy.per_second
