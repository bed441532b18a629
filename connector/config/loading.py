"""Read a config file (YAML or JSON, no YAML aliases), merge layers and expand ${VAR}."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any

import yaml

from connector.errors import ConfigError

MAX_CONFIG_BYTES = 1024 * 1024
_VAR = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)\})")
_FIELDS_SPELLINGS = ("pre_formatted_fields", "pre_formated_fields")


class _NoAliasLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses anchors, aliases and duplicate keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            line = event.start_mark.line + 1
            message = f"the config uses a YAML anchor or alias (line {line}); write the value out instead"
            raise ConfigError(message) from None
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str) and key in seen:
                line = key_node.start_mark.line + 1
                raise ConfigError(f"the config has the key {_short(key)!r} twice (line {line})") from None
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ConfigError(f"the config has the key {_short(key)!r} twice") from None
        result[key] = value
    return result


def parse_text(text: str, source: str) -> Any:
    """Parse config text as JSON when it looks like JSON, else as YAML; errors carry no content."""
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text, object_pairs_hook=_no_duplicates)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}"
            raise ConfigError(f"{source} is not valid JSON ({where}: {exc.msg})") from None
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "unknown position"
        raise ConfigError(f"{source} is not valid YAML ({where}: {exc.problem})") from None
    except yaml.YAMLError:
        raise ConfigError(f"{source} is not valid YAML") from None


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and parse one config file into a mapping."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {name}") from None
    except IsADirectoryError:
        raise ConfigError(f"the config path is a directory: {name}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {name}: {exc.strerror}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"the config file {name} is larger than 1 MB") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"the config file {name} is not UTF-8 text") from None
    data = parse_text(text, f"the config file {name}")
    if data is None:
        raise ConfigError(f"the config file {name} is empty") from None
    if not isinstance(data, dict):
        kind = _kind(data)
        raise ConfigError(f"the config file {name} must hold a mapping of keys to values, not a {kind}") from None
    return data


def parse_settings_json(text: str) -> dict[str, Any]:
    """Parse the --settings JSON object (e.g. Digdag's result_settings)."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--settings is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"--settings must be a JSON object, not a {_kind(data)}") from None
    return data


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def merge(base: Mapping[str, Any], layer: Mapping[str, Any]) -> dict[str, Any]:
    """Shallow-merge layer over base; `input` merges one level deep; either fields spelling replaces both."""
    result = dict(base)
    if any(key in layer for key in _FIELDS_SPELLINGS):
        for key in _FIELDS_SPELLINGS:
            result.pop(key, None)
    for key, value in layer.items():
        if key == "input" and isinstance(value, Mapping) and isinstance(result.get("input"), Mapping):
            result["input"] = {**result["input"], **value}
        else:
            result[key] = value
    return result


def expand_env(data: Any, environ: Mapping[str, str], origins: dict[str, str] | None = None) -> Any:
    """Expand ${VAR} in every string value ($$ is a literal $); every missing variable is a problem.

    `origins`, when given, is filled with the text as written of each value that took a
    variable ("input.path" -> "${DATA}/users.csv"): messages show that, never what it expanded to.
    """
    missing: list[str] = []
    result = _expand(data, environ, "", missing, origins if origins is not None else {})
    if missing:
        raise ConfigError("config is invalid", problems=tuple(missing)) from None
    return result


def _expand(value: Any, environ: Mapping[str, str], path: str, missing: list[str], origins: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _expand_string(value, environ, path, missing, origins)
    if isinstance(value, Mapping):
        return {k: _expand(v, environ, _join(path, k), missing, origins) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, environ, f"{path}[{i}]", missing, origins) for i, v in enumerate(value)]
    return value


def _expand_string(text: str, environ: Mapping[str, str], path: str, missing: list[str],
                   origins: dict[str, str]) -> str:
    if "$" not in text:
        return text
    took: list[str] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(1):
            return "$"
        name = match.group(2)
        took.append(name)
        if name not in environ:
            missing.append(f"{path or 'config'}: environment variable {name} is not set")
            return ""
        return environ[name]

    expanded = _VAR.sub(replace, text)
    if took:
        origins[path or "config"] = text
    return expanded


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)
