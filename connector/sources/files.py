"""Opening an input path (or stdin) as bytes, with one-line errors and progress by byte position;
gzip, bzip2 and xz inputs are read through their decompressor, known by their first bytes."""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import lzma
import os
import stat
import sys
from typing import Any, BinaryIO, Callable, cast

from connector.errors import InputError

STDIN = "-"


def open_binary(path: str | None, stdin: BinaryIO | None) -> tuple[BinaryIO, int | None, bool]:
    """Open path for reading bytes: (stream, size when known, whether we own the stream)."""
    if path is None:
        raise InputError("no input given: set input.path in the config or pass --input")
    if path == STDIN:
        return unpacked(stdin if stdin is not None else sys.stdin.buffer, owned=False), None, False
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
    return unpacked(handle, owned=True), size, True


# The first bytes of each compressed format (what `file` goes by): the name of a file says nothing
# reliable (`export.csv` gzipped by a pipeline, stdin), its content does.
_PACKED: dict[bytes, tuple[str, Callable[[BinaryIO], io.BufferedIOBase]]] = {
    b"\x1f\x8b": ("gzip", lambda raw: gzip.GzipFile(fileobj=raw, mode="rb")),
    b"BZh": ("bzip2", lambda raw: bz2.BZ2File(raw)),
    b"\xfd7zXZ\x00": ("xz", lambda raw: lzma.LZMAFile(raw)),
}
_ZSTD = b"\x28\xb5\x2f\xfd"


def unpacked(raw: BinaryIO, owned: bool) -> BinaryIO:
    """`raw`, or its decompressed content if it starts as gzip, bzip2 or xz does."""
    try:
        head = raw.peek(6)[:6] if hasattr(raw, "peek") else b""
    except OSError:
        return raw
    if head.startswith(_ZSTD):
        raise InputError("the input is zstd-compressed, which is not read here: decompress it first "
                         "(zstd -d), or compress it with gzip, bzip2 or xz")
    for magic, (kind, opener) in _PACKED.items():
        if head.startswith(magic):
            return cast(BinaryIO, Unpacked(kind, opener(raw), raw, owned))
    return raw


class Unpacked(io.BufferedIOBase):
    """A decompressing reader: damaged data is one InputError, closing it closes the file it
    reads (when ours), and `packed` is that file, whose position the progress line follows."""

    def __init__(self, kind: str, stream: io.BufferedIOBase, packed: BinaryIO, owned: bool) -> None:
        super().__init__()
        self.kind, self._stream, self.packed, self._owned = kind, stream, packed, owned

    def readable(self) -> bool:
        return True

    def _guarded(self, read: Callable[[], bytes]) -> bytes:
        try:
            return read()
        except (OSError, EOFError, lzma.LZMAError) as exc:
            raise InputError(f"the {self.kind}-compressed input is damaged or cut short "
                             f"({type(exc).__name__}: {exc})") from None

    def read(self, size: int | None = -1) -> bytes:
        return self._guarded(lambda: self._stream.read(-1 if size is None else size))

    def read1(self, size: int = -1) -> bytes:
        return self._guarded(lambda: self._stream.read1(size))

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            try:
                self._stream.close()
            finally:
                if self._owned:
                    self.packed.close()
        super().close()


def share_read(stream: BinaryIO, size: int | None) -> float | None:
    """The share of a regular file read so far, 0..1; None for streams of unknown size."""
    if size is None:
        return None
    if size == 0:
        return 1.0
    try:
        return min(1.0, getattr(stream, "packed", stream).tell() / size)
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
