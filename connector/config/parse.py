"""Validate a config mapping against the schema plus the rules a schema cannot say, and build Settings."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from connector.config.endpoint import resolve_endpoint
from connector.config.loading import expand_env, merge, parse_settings_json, read_config_file
from connector.config.problems import schema_problems
from connector.config.rules import TEXT_FORMATS, infer_format, is_token, rule_problems
from connector.config.schema import load_schema
from connector.config.sqlurl import url_problem
from connector.config.settings import InputSettings, NotifySettings, Secret, Settings, SyncLogSettings
from connector.errors import ConfigError

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

MAX_KEY_FILE_BYTES = 64 * 1024
OFFLINE_KEY = "not-needed-offline"     # the key of a config read by a command that sends nothing


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator   # ~40 ms to import: only when a config is checked

    return Draft202012Validator(load_schema())


def _defaults(properties: Mapping[str, Any]) -> dict[str, Any]:
    return {name: prop["default"] for name, prop in properties.items() if "default" in prop}


def load_config(
    path: str | os.PathLike[str] | None,
    *,
    settings_json: str | Sequence[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] = os.environ,
    offline: bool = False,
) -> Settings:
    """Read the config file, merge --settings JSON then command-line overrides over it, validate.
    `offline`: for a command that sends nothing (preview), the key is not needed nor read."""
    if path is None and settings_json is None:
        raise ConfigError("no config given: pass --config FILE or --settings JSON") from None
    data: dict[str, Any] = read_config_file(path) if path is not None else {}
    for layer in [settings_json] if isinstance(settings_json, str) else settings_json or ():
        data = merge(data, parse_settings_json(layer))
    if offline:
        data = {k: v for k, v in data.items() if k not in ("api_key", "api_key_file")}
        data["api_key"] = OFFLINE_KEY
    origins: dict[str, str] = {}
    data = expand_env(data, environ, origins)
    if overrides:
        data = merge(data, overrides)  # command-line values are taken literally
        for key, value in overrides.items():
            for name in (value if key == "input" and isinstance(value, Mapping) else {None: value}):
                origins.pop(key if name is None else f"{key}.{name}", None)
    return _build(data, base_dir=".", origins=origins)


def parse_config(data: Mapping[str, Any], *, environ: Mapping[str, str] = os.environ, base_dir: str = ".") -> Settings:
    """Expand ${VAR} in data, validate it and build Settings; relative api_key_file paths use base_dir."""
    if not isinstance(data, Mapping):
        raise ConfigError("the config must be a mapping of keys to values") from None
    origins: dict[str, str] = {}
    return _build(expand_env(dict(data), environ, origins), base_dir=base_dir, origins=origins)


def _build(data: Mapping[str, Any], base_dir: str, origins: Mapping[str, str]) -> Settings:
    schema = load_schema()
    problems = schema_problems(_validator(), data)
    problems += rule_problems(data)
    key, key_problem = _api_key(data, base_dir, origins.get("api_key_file"))
    if key_problem:
        problems.append(key_problem)
    url, url_problem = _input_url(data.get("input"), base_dir, origins.get("input.url_file"))
    if url_problem:
        problems.append(url_problem)
    log_url, log_problem = (_database_url(data["sync_log"], "sync_log", base_dir)
                            if isinstance(data.get("sync_log"), Mapping) else (None, None))
    if log_problem:
        problems.append(log_problem)
    if problems:
        raise ConfigError("config is invalid", problems=tuple(problems)) from None
    values = {**_defaults(schema["properties"]), **data}
    fields: list[str] = []
    origins = dict(origins)
    for spelling in ("pre_formatted_fields", "pre_formated_fields"):
        fields += _split_fields(values.get(spelling, []))
        origins.update(_field_origins(values.get(spelling), spelling, origins))
    return Settings(
        endpoint=resolve_endpoint(values["endpoint"], values["allow_custom_endpoint"]),
        api_key=key,
        mode=values["mode"],
        track_record_type=values.get("track_record_type"),
        pre_formatted_fields=tuple(dict.fromkeys(fields)),
        skip_on_invalid_records=values["skip_on_invalid_records"],
        input=_input_settings(values.get("input", {}), schema["properties"]["input"]["properties"], url,
                              origins.get("input.path"), int(values["max_record_bytes"])),
        update_existing_only=values["update_existing_only"],
        null_values=values["null_values"],
        reject_file=values["reject_file"],
        state_file=values.get("state_file"),
        concurrency=values["concurrency"] if values["concurrency"] == "auto" else int(values["concurrency"]),
        rate_limit_reserve=float(values["rate_limit_reserve"]),
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
        origins=MappingProxyType(dict(origins)),
        subscription_group_id=values.get("subscription_group_id"),
        mapping_columns=MappingProxyType(dict((values.get("mapping") or {}).get("columns") or {})),
        mapping_constants=MappingProxyType(dict((values.get("mapping") or {}).get("constants") or {})),
        on_removed=values["on_removed"],
        max_removed_ratio=float(values["max_removed_ratio"]),
        sync_log=_sync_log(values.get("sync_log"), schema["properties"]["sync_log"]["properties"], log_url),
        notify=_notify(values.get("notify")),
        max_rejected_ratio=_optional(values.get("max_rejected_ratio"), float),
        max_failed_ratio=_optional(values.get("max_failed_ratio"), float),
    )


def _optional(value: Any, kind: type) -> Any:
    return None if value is None else kind(value)


def _field_origins(value: Any, spelling: str, origins: Mapping[str, str]) -> dict[str, str]:
    """'pre_formatted_fields.NAME' -> the text as written, for each name that took a ${VAR}."""
    if isinstance(value, str):
        entries = [(spelling, value)]
    elif isinstance(value, list):
        entries = [(f"{spelling}[{i}]", item) for i, item in enumerate(value)]
    else:
        return {}
    return {f"pre_formatted_fields.{name}": origins[key] for key, item in entries if key in origins
            for name in _split_fields(item)}


def _split_fields(value: Any) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value)
    return [item.strip() for item in items if item.strip()]


def _input_url(raw: Any, base_dir: str, shown: str | None) -> tuple[Secret | None, str | None]:
    """An sql input's URL from input.url or input.url_file, or a problem; nothing when neither is usable."""
    if not isinstance(raw, Mapping) or raw.get("format") != "sql":
        return None, None
    return _database_url(raw, "input", base_dir, shown)


def _database_url(raw: Mapping[str, Any], where: str, base_dir: str,
                  shown: str | None = None) -> tuple[Secret | None, str | None]:
    """A database URL from `where`.url or `where`.url_file, or a problem; nothing when neither is usable."""
    if isinstance(raw.get("url"), str):
        return Secret(raw["url"].strip()), None
    if not isinstance(raw.get("url_file"), str) or not raw["url_file"]:
        return None, None
    text, problem = _secret_file(base_dir, raw["url_file"], f"{where}.url_file", "a database URL", shown)
    if text is None:
        return None, problem
    problem = url_problem(text)
    return (None, f"{where}.url_file: the URL in the file {problem}") if problem else (Secret(text), None)


def _sync_log(raw: Any, properties: Mapping[str, Any], url: Secret | None) -> SyncLogSettings | None:
    if not isinstance(raw, Mapping) or url is None:
        return None
    values = {**_defaults(properties), **raw}
    return SyncLogSettings(url=url, table=values["table"], runs_table=values["runs_table"],
                           include_values=values["include_values"])


def _notify(raw: Any) -> NotifySettings | None:
    if not isinstance(raw, Mapping):
        return None
    return NotifySettings(url=Secret(raw["url"].strip()), secret=Secret(raw["secret"]))


def _input_settings(raw: Mapping[str, Any], properties: Mapping[str, Any], url: Secret | None,
                    shown_path: str | None, max_record_bytes: int) -> InputSettings:
    values = {**_defaults(properties), **raw}
    path = values.get("path")
    fmt = values.get("format") or infer_format(path) or "csv"
    delimiter = values.get("delimiter")
    if fmt in TEXT_FORMATS and delimiter is None:
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
        shown_path=shown_path,
        max_record_bytes=max_record_bytes,
    )


def _api_key(data: Mapping[str, Any], base_dir: str, shown: str | None) -> tuple[Secret | None, str | None]:
    """The key from api_key or api_key_file, or a problem; nothing when the types are wrong."""
    if "api_key" in data:
        return (Secret(data["api_key"]), None) if isinstance(data["api_key"], str) else (None, None)
    if not isinstance(data.get("api_key_file"), str) or not data["api_key_file"]:
        return None, None
    key, problem = _secret_file(base_dir, data["api_key_file"], "api_key_file", "an API key", shown)
    if key is None:
        return None, problem
    if not is_token(key):
        return None, "api_key_file: the key in the file must not contain spaces or control characters"
    return Secret(key), None


def _secret_file(base_dir: str, name: str, key: str, holds: str,
                 shown: str | None = None) -> tuple[str | None, str | None]:
    """The stripped text of a file holding a secret, or a problem that never quotes it."""
    path = Path(base_dir, name)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        return None, f"{key}: the file {shown or name} does not exist"
    except IsADirectoryError:
        return None, f"{key}: {shown or name} is a directory, not a file"
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
