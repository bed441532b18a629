"""A write's folder: per partition its state file, its attempt lock and its failure note; the stop file.

    <state_folder>/braze-<job id>/
        part-00003-<config fingerprint>.sqlite   the partition's state (connector/state): what
                                                 Braze acknowledged, kept across task attempts
        part-00003.attempt.lock                  one attempt of a partition at a time
        part-00003.<write id>.failed.json        why the partition's last failed attempt failed
        stopped.<write id>                       a task aborted the write: the others stop

The state outlives a write whose job id the user named (a rerun resumes it); the notes and the
stop file are the one write's (a fresh id each write), so a rerun never reads an earlier one's.

The default state folder is a temp folder on each executor (docs/spark.md says what that keeps).
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from connector.spark.options import SparkJob

CHECK_EVERY_S = 0.25            # how often a task looks for the stop file
LOCK_POLL_S = 0.2
LOCK_WAIT_S = 24 * 3600.0       # an attempt waits at most this long for an earlier one of its partition


class StopWatch:
    """A thread that looks for the write's stop file while the task runs (at once, then every
    CHECK_EVERY_S) and tells `on_stop` which partition wrote it, once."""

    def __init__(self, folder: "JobFolder", on_stop: Callable[[str], None]) -> None:
        self._path = folder.stop_file
        self._on_stop = on_stop
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="stop-watch", daemon=True)

    def __enter__(self) -> "StopWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _loop(self) -> None:
        while True:     # ends when the task is done, or once the stop file is seen
            if os.path.exists(self._path):
                self._on_stop(self._who())
                return
            if self._done.wait(CHECK_EVERY_S):
                return

    def _who(self) -> str:
        try:
            with open(self._path, encoding="utf-8") as f:
                return f.read(100).strip() or "another task"
        except OSError:
            return "another task"


class AttemptBusy(RuntimeError):
    """Another attempt of the partition held its lock for longer than LOCK_WAIT_S."""


def default_state_folder() -> str:
    return os.path.join(tempfile.gettempdir(), "braze-export-spark")


@dataclass(frozen=True)
class JobFolder:
    path: str
    fingerprint: str
    write_id: str = "write"

    @classmethod
    def of(cls, job: SparkJob) -> "JobFolder":
        folder = os.path.join(job.state_folder or default_state_folder(), f"braze-{job.job_id}")
        return cls(folder, job.fingerprint, job.write_id)

    def state_file(self, partition: int) -> str:
        return os.path.join(self.path, f"part-{partition:05d}-{self.fingerprint[:16]}.sqlite")

    def failure_note(self, partition: int) -> str:
        return os.path.join(self.path, f"part-{partition:05d}.{self.write_id}.failed.json")

    @property
    def stop_file(self) -> str:
        return os.path.join(self.path, f"stopped.{self.write_id}")

    def stop(self, partition: int) -> None:
        """Tell the other tasks of the write to stop (best effort: where they see this folder)."""
        try:
            os.makedirs(self.path, exist_ok=True)
            with open(self.stop_file, "w", encoding="utf-8") as f:
                f.write(f"partition {partition}")
        except OSError:
            pass

    def note_failure(self, partition: int, note: dict[str, Any]) -> None:
        """Why an attempt failed, for the driver's abort (best effort, atomic)."""
        try:
            os.makedirs(self.path, exist_ok=True)
            tmp = self.failure_note(partition) + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(note, f)
            os.replace(tmp, self.failure_note(partition))
        except OSError:
            pass

    def failure(self, partition: int) -> dict[str, Any] | None:
        try:
            with open(self.failure_note(partition), encoding="utf-8") as f:
                note = json.load(f)
        except (OSError, ValueError):
            return None
        return note if isinstance(note, dict) else None

    def remove(self, state_too: bool) -> None:
        """Remove the write's notes and stop file, and with `state_too` the whole folder."""
        if state_too:
            shutil.rmtree(self.path, ignore_errors=True)
            return
        for path in glob.glob(os.path.join(glob.escape(self.path), f"*{self.write_id}*")):
            with contextlib.suppress(OSError):
                os.remove(path)


class AttemptLock:
    """Held by one attempt of a partition from `acquire` to `release`: a speculative or retried
    attempt waits here until the earlier one has ended (the OS frees the lock of a dead one)."""

    def __init__(self, folder: JobFolder, partition: int) -> None:
        self.path = os.path.join(folder.path, f"part-{partition:05d}.attempt.lock")
        self._fd: int | None = None

    def acquire(self) -> float:
        """Take the lock; the seconds waited for it."""
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        started = time.monotonic()
        while True:     # ends: the lock is taken, or LOCK_WAIT_S have passed
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return time.monotonic() - started
            except BlockingIOError:
                if time.monotonic() - started > LOCK_WAIT_S:
                    os.close(fd)
                    raise AttemptBusy(f"another attempt of this partition held {self.path} for "
                                      f"{LOCK_WAIT_S:.0f} s") from None
                time.sleep(LOCK_POLL_S)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
