"""Fixtures of the scheduler-example tests: a sandbox, and a bin folder with braze-export and a logger stub."""

import os
import stat
import sys
from pathlib import Path

import pytest

from connector.sandbox import Sandbox
from examples_support import API_KEY


def _script(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def sandbox():
    with Sandbox(api_key=API_KEY) as sb:
        yield sb


@pytest.fixture
def bin_dir(tmp_path):
    """`braze-export` (this checkout's, on this Python) and `logger`, which appends to $LOGGER_OUT."""
    folder = tmp_path / "bin"
    folder.mkdir()
    _script(folder / "braze-export", f'#!/bin/sh\nexec "{sys.executable}" -m connector "$@"\n')
    _script(folder / "logger", '#!/bin/sh\nprintf \'%s\\n\' "$*" >> "$LOGGER_OUT"\n')
    return folder


@pytest.fixture
def base_path(bin_dir):
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"
