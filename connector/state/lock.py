"""One run at a time per state file: an flock on `<state_file>.lock`, freed by the OS when a run dies."""

from __future__ import annotations

import datetime as _dt
import fcntl
import os

from connector.errors import StateBusy, UsageError


class StateLock:
    """Held from `acquire` to `release`; a run killed with SIGKILL releases it by dying."""

    def __init__(self, state_path: str, shown: str | None = None) -> None:
        self.path = f"{state_path}.lock"
        self._shown = shown or state_path     # the state_file as the config wrote it
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise UsageError(f"cannot use the state_file {self._shown}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "a process"
            os.close(fd)
            raise StateBusy(f"another run is using the state file {self._shown} ({holder}); "
                            f"one run at a time per state file: wait for it to end") from None
        started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {started}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
