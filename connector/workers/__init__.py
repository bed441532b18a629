"""`workers: N`: N processes share one export by user; the parent checks, starts, stops and sums them."""

from __future__ import annotations

from typing import Any

__all__ = ["run_parallel"]


def __getattr__(name: str) -> Any:
    if name == "run_parallel":      # multiprocessing only when workers are asked for (the guard is used by every run)
        from connector.workers.parent import run_parallel

        return run_parallel
    raise AttributeError(name)
