"""Validate a config mapping against the schema plus the rules a schema cannot say, and build Settings."""

from __future__ import annotations

import codecs
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from connector.config.endpoint import SANDBOX, EndpointProblem, resolve_endpoint
from connector.config.loading import expand_env, merge, parse_settings_json, read_config_file
from connector.config.problems import schema_problems
from connector.config.schema import load_schema
from connector.config.settings import InputSettings, Secret, Settings
from connector.errors import ConfigError

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

MAX_KEY_FILE_BYTES = 64 * 1024
_EXTENSIONS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".json": "json", ".sqlite": "sqlite", ".sqlite3": "sqlite", ".db": "sqlite", ".parquet": "parquet",
}
_TEXT_FORMATS = ("csv", "tsv")
_QUERY_FORMATS = ("sqlite", "sql")
_SQL_ONLY = ("url", "url_file", "query_timeout_seconds")


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator   # ~40 ms to import: only when a config is checked

    return Draft202012Validator(load_schema())


def _defaults(properties: Mapping[str, Any]) -> dict[str, Any]:
    return {name: prop["default"] for name, prop in properties.items() if "default" in prop}


def infer_format(path: str | None) -> str | None:
    """The input format a path's extension implies, or None."""
    if not path or path == "-":
        return None
    return _EXTENSIONS.get(Path(path).suffix.lower())


def load_config(
    path: str | os.PathLike[str] | None,
    *,
    settings_json: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Settings:
    """Read the config file, merge --settings JSON then command-line overrides over it, validate."""
    if path is None and settings_json is None:
        raise ConfigError("no config given: pass --config FILE or --settings JSON") from None
    data: dict[str, Any] = read_config_file(path) if path is not None else {}
    if settings_json is not None:
        data = merge(data, parse_settings_json(settings_json))
    data = expand_env(data, environ)
    if overrides:
        data = merge(data, overrides)  # command-line values are taken literally
    return _build(data, base_dir=".")


def parse_config(data: Mapping[str, Any], *, environ: Mapping[str, str] = os.environ, base_dir: str = ".") -> Settings:
    """Expand ${VAR} in data, validate it and build Settings; relative api_key_file paths use base_dir."""
    if not isinstance(data, Mapping):
        raise ConfigError("the config must be a mapping of keys to values") from None
    return _build(expand_env(dict(data), environ), base_dir=base_dir)


def _build(data: Mapping[str, Any], base_dir: str) -> Settings:
    schema = load_schema()
    problems = schema_problems(_validator(), data)
    problems += _semantic_problems(data)
    key, key_problem = _api_key(data, base_dir)
    if key_problem:
        problems.append(key_problem)
    url, url_problem = _input_url(data.get("input"), base_dir)
    if url_problem:
        problems.append(url_problem)
    if problems:
        raise ConfigError("config is invalid", problems=tuple(problems)) from None
    values = {**_defaults(schema["properties"]), **data}
    fields: list[str] = []
    for spelling in ("pre_formatted_fields", "pre_formated_fields"):
        fields += _split_fields(values.get(spelling, []))
    return Settings(
        endpoint=resolve_endpoint(values["endpoint"], values["allow_custom_endpoint"]),
        api_key=key,
        mode=values["mode"],
        track_record_type=values.get("track_record_type"),
        pre_formatted_fields=tuple(dict.fromkeys(fields)),
        skip_on_invalid_records=values["skip_on_invalid_records"],
        input=_input_settings(values.get("input", {}), schema["properties"]["input"]["properties"], url),
        update_existing_only=values["update_existing_only"],
        null_values=values["null_values"],
        reject_file=values["reject_file"],
        state_file=values.get("state_file"),
        concurrency=int(values["concurrency"]),
        batch_size=int(values["batch_size"]),
        track_object_limit=values["track_object_limit"],
        requests_per_second=_optional(values.get("requests_per_second"), float),
        requests_per_hour=_optional(values.get("requests_per_hour"), int),
        maximum_retries=int(values["maximum_retries"]),
        initial_retry_interval_millis=int(values["initial_retry_interval_millis"]),
        maximum_retry_interval_millis=int(values["maximum_retry_interval_millis"]),
        timeout_millis=int(values["timeout_millis"]),
        maximum_retry_duration_millis=int(values["maximum_retry_duration_millis"]),
        event_delivery=values["event_delivery"],
        delta=values["delta"],
        dedupe_key=values.get("dedupe_key"),
        allow_custom_endpoint=values["allow_custom_endpoint"],
        sandbox_db=values["sandbox_db"],
        workers=int(values["workers"]),
    )


def _optional(value: Any, kind: type) -> Any:
    return None if value is None else kind(value)


def _split_fields(value: Any) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value)
    return [item.strip() for item in items if item.strip()]


def _semantic_problems(data: Mapping[str, Any]) -> list[str]:
    """Rules the schema cannot say; each runs only on values of the right type."""
    problems: list[str] = []
    endpoint, custom = data.get("endpoint"), data.get("allow_custom_endpoint", False)
    if isinstance(endpoint, str) and endpoint and isinstance(custom, bool):
        try:
            resolve_endpoint(endpoint, custom)
        except EndpointProblem as exc:
            problems.append(f"endpoint: {exc}")
    if "api_key" in data and "api_key_file" in data:
        problems.append("api_key_file: give api_key or api_key_file, not both")
    elif "api_key" not in data and "api_key_file" not in data:
        if not (isinstance(endpoint, str) and endpoint.strip().lower() == SANDBOX):
            problems.append("api_key: is required (or api_key_file) unless endpoint is sandbox")
    key = data.get("api_key")
    if isinstance(key, str) and key and not _is_token(key):
        problems.append("api_key: must not contain spaces or control characters")
    initial, maximum = data.get("initial_retry_interval_millis"), data.get("maximum_retry_interval_millis")
    if isinstance(initial, int) and isinstance(maximum, int) and initial > maximum:
        problems.append("initial_retry_interval_millis: must not exceed maximum_retry_interval_millis")
    if data.get("delta") is True and "state_file" not in data:
        problems.append("state_file: is required when delta is true")
    raw_input = data.get("input")
    if isinstance(raw_input, Mapping):
        problems += _input_problems(raw_input)
    workers = data.get("workers")
    if isinstance(workers, int) and not isinstance(workers, bool) and workers > 1:
        problems += _workers_problems(data, raw_input if isinstance(raw_input, Mapping) else {})
    return problems


def _workers_problems(data: Mapping[str, Any], raw: Mapping[str, Any]) -> list[str]:
    """workers > 1 splits one input file by user; state and streams are single-process."""
    if "state_file" in data:
        return ["workers: must be 1 with a state_file (resume, delta and dedupe state is single-process)"]
    path = raw.get("path") if isinstance(raw.get("path"), str) else None
    fmt = raw["format"] if "format" in raw else infer_format(path) or "csv"
    if fmt not in ("csv", "tsv", "jsonl"):
        return [f"workers: more than 1 needs a csv, tsv or jsonl input (the format is {fmt})"]
    if path is None or path == "-":
        return ["workers: more than 1 needs input.path to name a file (each worker reads the whole file), "
                "not standard input"]
    return []


def _is_token(text: str) -> bool:
    return all(ch.isprintable() and not ch.isspace() for ch in text)


def _input_problems(raw: Mapping[str, Any]) -> list[str]:
    path = raw.get("path") if isinstance(raw.get("path"), str) else None
    fmt = raw["format"] if "format" in raw else infer_format(path) or "csv"
    problems: list[str] = []
    encoding = raw.get("encoding")
    if isinstance(encoding, str) and encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            problems.append("input.encoding: is not an encoding Python knows")
    if fmt not in load_schema()["properties"]["input"]["properties"]["format"]["enum"]:  # reported by the schema
        return problems
    if fmt in _QUERY_FORMATS and "query" not in raw:
        problems.append(f"input.query: is required when the input format is {fmt}")
    if fmt not in _QUERY_FORMATS and "query" in raw:
        problems.append(f"input.query: is only allowed when the input format is sqlite or sql (the format is {fmt})")
    if fmt in ("sqlite", "parquet") and path == "-":
        problems.append(f"input.path: {'an' if fmt == 'sqlite' else 'a'} {fmt} input cannot be read from standard input")
    if fmt == "sql":
        problems += _sql_problems(raw)
    else:
        problems += [f"input.{key}: is only allowed when the input format is sql (the format is {fmt})"
                     for key in _SQL_ONLY if key in raw]
    if "fetch_size" in raw and fmt not in ("sql", "parquet"):
        problems.append(f"input.fetch_size: is only allowed for sql and parquet input (the format is {fmt})")
    if fmt not in _TEXT_FORMATS:
        for key in ("columns", "delimiter"):
            if key in raw:
                problems.append(f"input.{key}: is only allowed for csv and tsv input (the format is {fmt})")
    return problems


def _sql_problems(raw: Mapping[str, Any]) -> list[str]:
    """An sql input: one of url and url_file, no path, a read-only query (checked before connecting)."""
    from connector.sources.sqlurl import backend_of, url_problem   # not at import: sources import config
    from connector.sources.statement import read_only_problem

    problems: list[str] = []
    if "url" in raw and "url_file" in raw:
        problems.append("input.url_file: give url or url_file, not both")
    elif "url" not in raw and "url_file" not in raw:
        problems.append("input.url: is required when the input format is sql (or input.url_file)")
    if "path" in raw:
        problems.append("input.path: is not used by an sql input (the query runs against input.url)")
    url = raw.get("url")
    if isinstance(url, str) and url and (problem := url_problem(url)):
        problems.append(f"input.url: {problem}")
    query = raw.get("query")
    if isinstance(query, str) and query:
        problem = read_only_problem(query, backend_of(url) if isinstance(url, str) else None)
        if problem is not None:
            problems.append(f"input.query: {problem}")
    return problems


def _input_url(raw: Any, base_dir: str) -> tuple[Secret | None, str | None]:
    """An sql input's URL from input.url or input.url_file, or a problem; nothing when neither is usable."""
    if not isinstance(raw, Mapping) or raw.get("format") != "sql":
        return None, None
    if isinstance(raw.get("url"), str):
        return Secret(raw["url"].strip()), None
    if not isinstance(raw.get("url_file"), str) or not raw["url_file"]:
        return None, None
    text, problem = _secret_file(base_dir, raw["url_file"], "input.url_file", "a database URL")
    if text is None:
        return None, problem
    from connector.sources.sqlurl import url_problem

    problem = url_problem(text)
    return (None, f"input.url_file: the URL in the file {problem}") if problem else (Secret(text), None)


def _input_settings(raw: Mapping[str, Any], properties: Mapping[str, Any], url: Secret | None) -> InputSettings:
    values = {**_defaults(properties), **raw}
    path = values.get("path")
    fmt = values.get("format") or infer_format(path) or "csv"
    delimiter = values.get("delimiter")
    if fmt in _TEXT_FORMATS and delimiter is None:
        delimiter = "\t" if fmt == "tsv" else ","
    return InputSettings(
        format=fmt,
        path=path,
        query=values.get("query"),
        delimiter=delimiter,
        encoding=values["encoding"],
        columns=MappingProxyType(dict(values.get("columns") or {})),
        url=url,
        query_timeout_seconds=int(values["query_timeout_seconds"]),
        fetch_size=int(values["fetch_size"]),
    )


def _api_key(data: Mapping[str, Any], base_dir: str) -> tuple[Secret | None, str | None]:
    """The key from api_key or api_key_file, or a problem; nothing when the types are wrong."""
    if "api_key" in data:
        return (Secret(data["api_key"]), None) if isinstance(data["api_key"], str) else (None, None)
    if not isinstance(data.get("api_key_file"), str) or not data["api_key_file"]:
        return None, None
    key, problem = _secret_file(base_dir, data["api_key_file"], "api_key_file", "an API key")
    if key is None:
        return None, problem
    if not _is_token(key):
        return None, "api_key_file: the key in the file must not contain spaces or control characters"
    return Secret(key), None


def _secret_file(base_dir: str, name: str, key: str, holds: str) -> tuple[str | None, str | None]:
    """The stripped text of a file holding a secret, or a problem that never quotes it."""
    path = Path(base_dir, name)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        return None, f"{key}: the file does not exist"
    except IsADirectoryError:
        return None, f"{key}: is a directory, not a file"
    except OSError as exc:
        return None, f"{key}: the file cannot be read ({exc.strerror})"
    if len(raw) > MAX_KEY_FILE_BYTES:
        return None, f"{key}: the file is too large to hold {holds}"
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None, f"{key}: the file is not UTF-8 text"
    if not text:
        return None, f"{key}: the file is empty"
    return text, None
