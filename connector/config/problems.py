"""Turn JSON Schema validation errors into 'path: reason' problems in our own words, never quoting a value."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:   # only the config check needs jsonschema: workers and the hot path do not import it
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

_TYPE_NAMES = {
    "string": "a string",
    "boolean": "a boolean (true or false)",
    "integer": "an integer",
    "number": "a number",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


def format_path(parts: Iterable[Any]) -> str:
    """Join a path such as ('input', 'columns', 'score') or ('pre_formatted_fields', 1) for a message."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{_name(part)}" if text else _name(part)
    return text or "config"


def _name(key: Any) -> str:
    text = str(key)
    return text if len(text) <= 40 else text[:37] + "..."


def schema_problems(validator: Draft202012Validator, data: Mapping[str, Any]) -> list[str]:
    """Every schema violation in data, each as 'path: reason'."""
    problems: list[str] = []
    for error in validator.iter_errors(data):
        for problem in _describe(error):
            if problem not in problems:
                problems.append(problem)
    return problems


def _describe(error: ValidationError) -> list[str]:
    path = list(error.absolute_path)
    where = format_path(path)
    kind = str(error.validator)
    value: Any = error.validator_value
    branch = set(str(p) for p in error.absolute_schema_path)
    if kind == "required":
        present = error.instance if isinstance(error.instance, Mapping) else {}
        if "then" in branch:
            missing = [k for k in value if k not in present]
            return [f"{format_path([*path, k])}: is required when mode is user_track" for k in missing]
        return [f"{format_path([*path, k])}: is required" for k in value if k not in present]
    if kind == "not" and "else" in branch:
        return [f"{format_path([*path, 'track_record_type'])}: is only allowed when mode is user_track"]
    if kind == "additionalProperties":
        return [f"{where}: unknown key {_name(k)!r}" for k in _extra_keys(error)]
    if kind in ("type", "anyOf", "oneOf") and isinstance(error.schema, Mapping) and "x-invalid" in error.schema:
        # A value of the right type for one choice gets that choice's reason ("must be at least 1");
        # any other gets the schema's own words for its choices.
        near = [e for e in error.context or () if str(e.validator) not in ("type", "const", "enum")]
        if near:
            return _describe(near[0])
        return [f"{where}: {error.schema['x-invalid']}"]
    return [f"{where}: {_reason(kind, value)}"]


def _extra_keys(error: ValidationError) -> list[Any]:
    instance = error.instance if isinstance(error.instance, Mapping) else {}
    known = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
    return [key for key in instance if key not in known]


def _reason(kind: str, value: Any) -> str:
    if kind == "type":
        names = [value] if isinstance(value, str) else list(value)
        return "must be " + " or ".join(_TYPE_NAMES.get(n, n) for n in names)
    if kind == "enum":
        return "must be one of " + ", ".join(str(v) for v in _as_list(value))
    if kind == "minimum":
        return f"must be at least {value}"
    if kind == "maximum":
        return f"must be at most {value}"
    if kind == "exclusiveMinimum":
        return f"must be greater than {value}"
    if kind == "exclusiveMaximum":
        return f"must be less than {value}"
    if kind == "minLength":
        return "must not be empty" if value == 1 else f"must be at least {value} characters long"
    if kind == "maxLength":
        return "must be a single character" if value == 1 else f"must be at most {value} characters long"
    if kind == "const":
        return f"must be {value}"
    return f"is not allowed here ({kind})"


def _as_list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, (list, tuple)) else [value]
