"""Opening an input path (or stdin) as bytes, with one-line errors and progress by byte position."""

from __future__ import annotations

import codecs
import os
import stat
import sys
from typing import Any, BinaryIO

from connector.errors import InputError

STDIN = "-"


def open_binary(path: str | None, stdin: BinaryIO | None) -> tuple[BinaryIO, int | None, bool]:
    """Open path for reading bytes: (stream, size when known, whether we own the stream)."""
    if path is None:
        raise InputError("no input given: set input.path in the config or pass --input")
    if path == STDIN:
        return (stdin if stdin is not None else sys.stdin.buffer), None, False
    if os.path.isdir(path):
        raise InputError(f"the input path is a directory, not a file: {path}")
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the source
    except FileNotFoundError:
        raise InputError(f"input file not found: {path}") from None
    except PermissionError:
        raise InputError(f"input file cannot be read (permission denied): {path}") from None
    except OSError as exc:
        raise InputError(f"input file cannot be opened ({exc.strerror}): {path}") from None
    info = os.fstat(handle.fileno())
    size = info.st_size if stat.S_ISREG(info.st_mode) else None
    return handle, size, True


def share_read(stream: BinaryIO, size: int | None) -> float | None:
    """The share of a regular file read so far, 0..1; None for streams of unknown size."""
    if size is None:
        return None
    if size == 0:
        return 1.0
    try:
        return min(1.0, stream.tell() / size)
    except (OSError, ValueError):
        return None


def text_encoding(encoding: str) -> str:
    """The codec to decode with: UTF-8 becomes utf-8-sig so that a byte-order mark is skipped."""
    name = codecs.lookup(encoding).name
    return "utf-8-sig" if name in ("utf-8", "utf-8-sig") else encoding


class ClosingSource:
    """Context-manager plumbing shared by the sources: `with open_source(...) as rows:`."""

    def close(self) -> None:  # pragma: no cover - every source overrides it
        raise NotImplementedError

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
