"""The process's address space kept small, so that a job runs under a container's RLIMIT_AS (1 GiB).

Two defaults of the platform, not our data, fill the address space of a threaded Python process:
glibc gives each thread that allocates a malloc arena of its own, each reserving 64 MB (up to 8 per
core), and each thread's stack reserves 8 MB (ulimit -s). Without a limit that costs nothing, but
under RLIMIT_AS a run with a few sender threads could not start one more ("can't start new
thread") while using 50 MB. `lean()` caps both, for the command line and each worker process;
in-process callers (the Python API) keep their own process's settings.
"""

from __future__ import annotations

import threading

THREAD_STACK_BYTES = 1024 * 1024    # ample for our threads: JSON is nested 64 levels at most
MALLOC_ARENAS = 4
_M_ARENA_MAX = -8                   # glibc's mallopt parameter


def lean() -> None:
    """Cap thread stacks and (on glibc) malloc arenas for threads started from now on."""
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
