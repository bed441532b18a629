"""Fingerprints: of a job (the config parts that shape objects, and the input), of values and keys."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from connector.config import Settings
from connector.config.settings import InputSettings
from connector.config.sqlurl import query_hash
from connector.errors import InputError
from connector.sources import where
from connector.sources.sql import sql_target

CHUNK = 1 << 20


@dataclass(frozen=True)
class InputIdentity:
    """What a resumed job must find again: the input's content hash, and words for messages.
    `streamed`: the digest names a query, whose rows are checked as they come (state/replay.py)."""

    digest: str
    description: str
    streamed: bool = False


def config_fingerprint(settings: Settings) -> str:
    """The config parts that decide which object each row becomes, and where it goes."""
    spec = settings.input
    parts: dict[str, Any] = {
        "endpoint": settings.endpoint,
        "mode": settings.mode,
        "track_record_type": settings.track_record_type,
        "pre_formatted_fields": sorted(settings.pre_formatted_fields),
        "null_values": settings.null_values,
        "update_existing_only": settings.update_existing_only,
        "delta": settings.delta,
        "dedupe_key": settings.dedupe_key,
        "input": [spec.format, spec.query, spec.delimiter, spec.encoding, sorted(spec.columns.items())],
    }
    if settings.subscription_group_id is not None:      # only when set: older jobs keep their fingerprint
        parts["subscription_group_id"] = settings.subscription_group_id
    if settings.mapping_columns or settings.mapping_constants:      # likewise
        parts["mapping"] = [sorted(settings.mapping_columns.items()), sorted(settings.mapping_constants.items())]
    return hashlib.blake2b(canonical(parts), digest_size=16).hexdigest()


def input_identity(spec: InputSettings) -> InputIdentity | None:
    """The full content hash of the input file (and of the query for sqlite), or of every part of a
    Parquet folder; for an sql query, the query and the database it runs on (its rows are checked
    as they stream: state/replay.py); None for stdin."""
    if spec.format == "sql":
        return _query_identity(spec)
    if spec.path is None or spec.path == "-":
        return None
    digest = hashlib.blake2b(digest_size=16)
    folder = spec.format == "parquet" and os.path.isdir(spec.path)
    if folder:
        from connector.sources.parquet import part_files

        paths = part_files(spec.path)
    else:
        paths = [spec.path]
    size = 0
    for path in paths:
        if folder:
            digest.update(b"\0part\0" + os.path.relpath(path, spec.path).encode("utf-8", "surrogateescape") + b"\0")
        try:
            size += _hash_file(path, digest)
        except InputError as exc:
            raise InputError(where(str(exc), spec)) from None
    if spec.query is not None:
        digest.update(b"\0query\0" + spec.query.encode("utf-8", "surrogatepass"))
    parts = f"{len(paths)} files, " if folder else ""
    shown = spec.shown_path or os.path.abspath(spec.path)     # as written, when it took a ${VAR}
    return InputIdentity(digest.hexdigest(), f"{shown}, {parts}{size} bytes")


def _query_identity(spec: InputSettings) -> InputIdentity | None:
    target = sql_target(spec)
    digest = hashlib.blake2b(canonical(["sql", target.backend, target.host, target.port, target.database,
                                        spec.query]), digest_size=16)
    return InputIdentity(digest.hexdigest(), f"the query {query_hash(spec.query)} on {target.where()}", streamed=True)


def _hash_file(path: str, digest: Any) -> int:
    """Feed the file's bytes to digest; its size."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            for _ in range(size // CHUNK + 2):      # bounded: the size read at the start, plus the tail
                block = f.read(CHUNK)
                if not block:
                    break
                digest.update(block)
    except OSError as exc:
        raise InputError(f"cannot read the input {path}: {exc.strerror or exc}") from None
    return size


def _default(value: Any) -> Any:
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    return str(value)


def canonical(value: Any) -> bytes:
    """One byte string per JSON value: keys sorted, no spaces, text as UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_default).encode("utf-8", "surrogatepass")


def value_fp(value: Any, merged: bool = False) -> bytes:
    """8 bytes standing for an attribute value (a nested object merged with _merge_objects differs)."""
    data = canonical(value)
    return hashlib.blake2b(b"m" + data if merged else data, digest_size=8).digest()


def key_hash(scope: str, key: str) -> bytes:
    """16 bytes standing for a user or a dedupe key within a scope; the state holds no ids in clear."""
    return hashlib.blake2b(f"{scope}\0{key}".encode("utf-8", "surrogatepass"), digest_size=16).digest()
