"""The process's address space kept small, so that a job runs under a container's RLIMIT_AS (1 GiB),
and the cyclic garbage collector kept from stopping the world while rows are in flight.

Two defaults of the platform, not our data, fill the address space of a threaded Python process:
glibc gives each thread that allocates a malloc arena of its own, each reserving 64 MB (up to 8 per
core), and each thread's stack reserves 8 MB (ulimit -s). Without a limit that costs nothing, but
under RLIMIT_AS a run with a few sender threads could not start one more ("can't start new
thread") while using 50 MB. `lean()` caps both, for the command line and each worker process;
in-process callers (the Python API) keep their own process's settings.

The cyclic GC's full collections scan every live object, and the live objects of a job are the
rows in flight: at 100 ms per answer ~800 batches of 75 rows. Its default thresholds ran six
full collections in a 300,000-row job, 60-170 ms each with the GIL held, during which no sender
sent (p99 latency 266 ms against Braze's 100; the job 7% slower). The rows and batches form no
cycles (delivery breaks the one it made, dispatch.py), so what the full collections find is
next to nothing; `lean()` makes them rare (a young generation of 50,000 objects, a full
collection every 100 of the middle one's) and freezes what the imports made.
"""

from __future__ import annotations

import gc
import threading

THREAD_STACK_BYTES = 1024 * 1024    # ample for our threads: JSON is nested 64 levels at most
MALLOC_ARENAS = 4
_M_ARENA_MAX = -8                   # glibc's mallopt parameter
GC_THRESHOLDS = (50_000, 20, 100)


def rare_full_collections() -> None:
    """Freeze what was loaded so far (never scanned again) and make full collections rare."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def lean() -> None:
    """Cap thread stacks and (on glibc) malloc arenas for threads started from now on; make the
    cyclic GC's full collections rare."""
    rare_full_collections()
    try:
        threading.stack_size(THREAD_STACK_BYTES)
    except (ValueError, RuntimeError):      # a platform that cannot change it
        pass
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt     # the C library this process already uses
    except (OSError, AttributeError, ImportError):     # not glibc (musl, macOS): nothing to cap
        return
    mallopt(_M_ARENA_MAX, MALLOC_ARENAS)
