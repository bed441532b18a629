"""The real CLI in a subprocess under a container's limits: RLIMIT_AS (1 GiB), its own session (so
that every process of the job can be found after it returns), its peak memory.

The peak comes from /proc's VmHWM and VmPeak of the CLI's own memory, sampled while it runs: wait4's
ru_maxrss will not do, since Linux carries the forking process's peak (this test process's) over
exec into it."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable

import yaml

API_KEY = "hostile-test-key-3b9e1f"
GIB = 1 << 30
EXIT_CODES = {0, 1, 2, 3}
SETTLED = ("rows_delivered", "rows_skipped", "rows_rejected", "rows_failed")


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None
    max_rss_mb: float           # the CLI process's peak resident memory (VmHWM)
    vm_peak_mb: float           # ... and its peak address space (VmPeak), which RLIMIT_AS bounds
    leftovers: list[tuple[int, str]] = field(default_factory=list)   # (pid, state) of its session after it returned

    @property
    def errors(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("braze-export: error: ")]

    def assert_documented(self) -> None:
        """The contract of every run: an exit code of the set, no traceback, the summary line, the
        report written with every row accounted for, one error line when it failed, no process left."""
        assert self.code in EXIT_CODES, (self.code, self.stderr[-2000:])
        assert "Traceback" not in self.stderr and "Fatal Python error" not in self.stderr, self.stderr[-4000:]
        assert self.report is not None, f"no report (exit {self.code}): {self.stderr[-2000:]}"
        r = self.report
        assert r["rows_read"] == sum(r[name] for name in SETTLED), r
        assert any(line.startswith(f"braze-export: {r['status']}: ") for line in self.stderr.splitlines()), self.stderr
        if self.code in (1, 2):
            assert len(self.errors) == 1, self.stderr[-4000:]
            assert r["status"] == "failed" and r["error"] in self.errors[0]
        assert API_KEY not in self.stdout + self.stderr + json.dumps(r)
        assert self.leftovers == [], f"processes of the job left after it returned: {self.leftovers}"


def write_config(folder: Path, **settings: Any) -> None:
    (folder / "config.yml").write_text(yaml.safe_dump({"api_key": "${BRAZE_API_KEY}", **settings}))


def limit_memory(limit: int) -> Callable[[], None]:
    def apply() -> None:        # in the child, before it runs Python
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


class Cli:
    """`python -m connector run` started in `folder`, in a session of its own, under RLIMIT_AS."""

    def __init__(self, folder: Path, *args: str, limit: int = GIB, stdin: IO[bytes] | int | None = None,
                 report: str = "report.json") -> None:
        self.folder = folder
        self._report = folder / report
        self._report.unlink(missing_ok=True)
        argv = [sys.executable, "-m", "connector", "run", "--config", "config.yml", "--report", report, *args]
        self.proc = subprocess.Popen(argv, cwd=folder, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                                     preexec_fn=limit_memory(limit), env={**os.environ, "BRAZE_API_KEY": API_KEY})
        self._out: list[bytes] = []
        self._err: list[bytes] = []
        self._lines = threading.Condition()
        self._peaks = {"VmHWM": 0, "VmPeak": 0}       # kB
        self._readers = [threading.Thread(target=self._read, args=(self.proc.stdout, self._out), daemon=True),
                         threading.Thread(target=self._read, args=(self.proc.stderr, self._err), daemon=True),
                         threading.Thread(target=self._sample, daemon=True)]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: IO[bytes], into: list[bytes]) -> None:
        for line in iter(stream.readline, b""):
            with self._lines:
                into.append(line)
                self._lines.notify_all()

    def _sample(self) -> None:
        """The CLI's peaks, read every few milliseconds until its memory is gone (it exited)."""
        status = Path(f"/proc/{self.proc.pid}/status")
        while True:     # ends when the process has exited (its status has no memory figures)
            try:
                fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
            except (OSError, ValueError):
                return
            if "VmHWM" not in fields:
                return
            for name in self._peaks:
                self._peaks[name] = max(self._peaks[name], int(fields[name].split()[0]))
            time.sleep(0.003)

    def running(self) -> bool:
        """Whether the CLI has not exited yet (it is not reaped here: wait() reaps it)."""
        return os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None

    def wait_until_handling(self, sig: int, timeout_s: float = 60) -> None:
        """Wait until the CLI has a handler of its own for `sig` (its first line of Python has run):
        /proc's SigCgt, the mask of caught signals. Before that, a signal has the interpreter's effect."""
        deadline = time.monotonic() + timeout_s
        while self.running():       # ends: the handler is set, the CLI exits, or the deadline
            try:
                caught = next(line for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines()
                              if line.startswith("SigCgt:"))
            except (OSError, StopIteration):
                return
            if int(caught.split()[1], 16) & (1 << (sig - 1)):
                return
            assert time.monotonic() < deadline, "the CLI never set its signal handlers"
            time.sleep(0.002)

    def stderr_has(self, words: str, timeout_s: float = 60) -> bool:
        """Wait until a stderr line holds `words` (True), or the process ended without one (False)."""
        deadline = time.monotonic() + timeout_s
        with self._lines:
            while not any(words.encode() in line for line in self._err):
                if not self.running() or time.monotonic() > deadline:
                    return any(words.encode() in line for line in self._err)
                self._lines.wait(0.05)
        return True

    def signal(self, sig: int, group: bool = False) -> None:
        """Send `sig` to the CLI (or its whole process group, as a terminal's Ctrl-C does), if it still runs."""
        if self.running():
            try:
                os.killpg(self.proc.pid, sig) if group else os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout_s: float = 120) -> Outcome:
        """Reap the CLI, then look for what is left of its session."""
        deadline = time.monotonic() + timeout_s
        while True:     # ends: the process exits, or the deadline kills it
            pid, status, _ = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                os.killpg(self.proc.pid, 9)
                raise AssertionError("the CLI did not end in time")
            time.sleep(0.01)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        for reader in self._readers:
            reader.join(timeout=10)
        left = session_members(self.proc.pid)
        report = json.loads(self._report.read_text()) if self._report.exists() else None
        return Outcome(self.proc.returncode, b"".join(self._out).decode(errors="replace"),
                       b"".join(self._err).decode(errors="replace"), report, self._peaks["VmHWM"] / 1024,
                       self._peaks["VmPeak"] / 1024, left)


def run(folder: Path, *args: str, **kwargs: Any) -> Outcome:
    return Cli(folder, *args, **kwargs).wait()


def session_members(session: int) -> list[tuple[int, str]]:
    """(pid, state) of every process of the session `session` (live or zombie), but none of ours."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()     # state, ppid, pgrp, session, ...
        if int(fields[3]) == session:
            found.append((int(name), f"{fields[0]} {stat[stat.index('('):stat.rindex(')') + 1]} ppid {fields[1]}"))
    return found
