"""The error classes of braze-export, one tree; the CLI maps each branch to an exit code.

    ConnectorError                 every error meant for a user: one line, no traceback
     ├── UsageError                exit 2, nothing was sent
     │    ├── ConfigError          the config (or a command-line value) is wrong
     │    └── HeaderError          the input's columns cannot serve the mode
     └── JobError                  exit 1, the job failed or was aborted
          ├── InputError           the input cannot be opened or is not the format it claims
          ├── RowAborted           an invalid row with skip_on_invalid_records off
          ├── AuthError            Braze answered 401/403: key, instance host or permission
          ├── DeliveryError        a batch could not be delivered (retries exhausted, 404, ...)
          ├── OutputError          a file the run writes could not be written (a full disk)
          └── StateBusy            another run holds the state file

    MemoryError, RecursionError    Python's own: wherever they strike in a run, `exhausted` turns
                                   them into a JobError saying what the job was doing.

    InvalidRow                     not raised to the user: a writer's or a source's verdict on
                                   one row (column, reason); the pipeline skips the row or turns
                                   it into RowAborted, as skip_on_invalid_records says.

Messages never carry the API key: they are built from our own words, the row number, the column
name and the reason, never from a config value or a library's message that may quote one.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """An error to show the user as one line."""

    exit_code = 1


class UsageError(ConnectorError):
    """The command line, the config or the input's header is wrong; nothing was sent."""

    exit_code = 2


class ConfigError(UsageError):
    """The config is invalid. `problems` lists every problem found, each as 'path: reason'."""

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems

    def __str__(self) -> str:
        """One line, every problem in it: 'config is invalid: mode: must be one of ...; ...'."""
        if not self.problems:
            return super().__str__()
        return f"{super().__str__()}: {'; '.join(self.problems)}"


class HeaderError(UsageError):
    """The input's columns cannot serve the mode (a required column missing, a duplicate...)."""


class JobError(ConnectorError):
    """The job failed or was aborted."""

    exit_code = 1


class InputError(JobError):
    """The input cannot be opened or read as the format it claims."""


class RowAborted(JobError):
    """An invalid row stopped the job because skip_on_invalid_records is off."""

    def __init__(self, row: int, invalid: "InvalidRow") -> None:
        super().__init__(f"row {row}, {invalid}")
        self.row = row
        self.invalid = invalid


class AuthError(JobError):
    """Braze refused the API key (401) or its permissions (403)."""


class DeliveryError(JobError):
    """A batch could not be delivered."""


class OutputError(JobError):
    """A file the run writes (rejected rows, state, sync log) could not be written mid-run."""


class StateBusy(JobError):
    """Another run holds the state file (its lock)."""


EXHAUSTED = (MemoryError, RecursionError)     # what `exhausted` turns into a JobError


def exhausted(error: BaseException, doing: str) -> JobError:
    """The JobError for a MemoryError or RecursionError that struck while `doing` (e.g. "reading the
    input after row 41"): what ran out, what the job was doing, and what may help."""
    if isinstance(error, RecursionError):
        return JobError(f"Python's stack ran out while {doing} (a structure nested too deeply)")
    return JobError(f"out of memory while {doing} (give the job more memory, or lower max_record_bytes)")


class InvalidRow(Exception):
    """A row that Braze would refuse, found before sending: which column, and why."""

    def __init__(self, column: str | None, reason: str) -> None:
        super().__init__(column, reason)
        self.column = column
        self.reason = reason

    def __str__(self) -> str:
        return f"column {self.column}: {self.reason}" if self.column else self.reason
