"""`workers: N`: N processes share one export by user; the parent checks, starts, stops and sums them."""

from connector.workers.parent import run_parallel

__all__ = ["run_parallel"]
