"""The files a run writes, made ready before anything is sent: each folder created (and said so), or
the run refused in one line naming the file (exit 2), rather than failing after rows went out."""

from __future__ import annotations

import logging
import os

from connector.config import Settings
from connector.errors import ConfigError

log = logging.getLogger("braze_export")


def ready_to_write(path: str, what: str, shown: str | None = None) -> None:
    """Make `path` writable: its folder exists (created when missing) and may be written in.
    `shown` names the path as the config wrote it (when it came from ${VAR})."""
    name = shown or path
    if os.path.isdir(path):
        raise ConfigError(f"the {what} {name} is a folder, not a file")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        if os.path.exists(folder):
            raise ConfigError(f"cannot write the {what} {name}: its folder is a file")
        try:
            os.makedirs(folder)
        except OSError as exc:
            raise ConfigError(f"cannot create the folder of the {what} {name}: {exc.strerror}") from None
        log.info("created the folder %s for the %s", os.path.dirname(name) or folder, what)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write the {what} {name}: its folder is not writable")


def check_outputs(settings: Settings, report_path: str | None, *, dry_run: bool = False) -> None:
    """Every file the run will write: the report, the rejected-rows file and (unless a dry run) the
    state file. ConfigError for the first that cannot be. A rejected-rows file left by an earlier
    run is kept as `<file>.previous` (one generation), so that the file only ever holds this run's
    rows, or is absent when this run has none (as its report says)."""
    if report_path:
        ready_to_write(report_path, "report")
    shown = settings.shown("reject_file")
    ready_to_write(settings.reject_file, "rejected-rows file", shown)
    if os.path.isfile(settings.reject_file):
        try:
            os.replace(settings.reject_file, settings.reject_file + ".previous")
        except OSError as exc:
            raise ConfigError(f"cannot set aside the earlier rejected-rows file {shown}: {exc.strerror}") from None
        log.info("the earlier run's rejected rows are kept in %s.previous", shown)
    if settings.state_file is not None and not dry_run:
        ready_to_write(settings.state_file, "state_file", settings.shown("state_file"))
