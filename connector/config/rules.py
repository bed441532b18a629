"""Every rule of a config that the JSON Schema cannot say; `check`, `run`, `preview`, the API and workers
all refuse a config through these, so they refuse the same configs with the same words.

Each rule reads the raw config mapping (after the schema's check, before defaults) and returns
its problems as 'path: reason'. A rule looks only at values of the right type: a value of the
wrong type is the schema's to report.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable

from connector.config.endpoint import SANDBOX, EndpointProblem, resolve_endpoint
from connector.config.reporting import notify_rule, sync_log_rule
from connector.config.schema import load_schema
from connector.config.sqlurl import backend_of, url_problem
from connector.config.statement import read_only_problem
from connector.modes import CARDS, cards_where
from connector.writers.subscriptions import group_problem

Rule = Callable[[Mapping[str, Any]], list[str]]

EXTENSIONS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".json": "json", ".sqlite": "sqlite", ".sqlite3": "sqlite", ".db": "sqlite", ".parquet": "parquet",
}
TEXT_FORMATS = ("csv", "tsv")
QUERY_FORMATS = ("sqlite", "sql")
SQL_ONLY = ("url", "url_file", "query_timeout_seconds")


def infer_format(path: str | None) -> str | None:
    """The input format a path's extension implies, or None; a compression suffix (`.gz`, `.bz2`,
    `.xz`: sources/files.py reads those by content) is looked through: `users.jsonl.gz` is jsonl."""
    if not path or path == "-":
        return None
    name = Path(path)
    if name.suffix.lower() in (".gz", ".bz2", ".xz"):
        name = name.with_suffix("")
    return EXTENSIONS.get(name.suffix.lower())


def input_format(raw: Mapping[str, Any]) -> str:
    """The input's format: as given, else by the path's extension, else csv."""
    path = raw.get("path") if isinstance(raw.get("path"), str) else None
    fmt = raw.get("format")
    return fmt if isinstance(fmt, str) else infer_format(path) or "csv"


def is_token(text: str) -> bool:
    """Text an HTTP header can carry as a key: printable, no spaces."""
    return all(ch.isprintable() and not ch.isspace() for ch in text)


def _input(data: Mapping[str, Any]) -> Mapping[str, Any]:
    raw = data.get("input")
    return raw if isinstance(raw, Mapping) else {}


def _where(flag: str) -> str:
    """'mode user_track with track_record_type a or b', then ' or mode m' for other modes."""
    cards = cards_where(flag)
    types = " or ".join(str(c.record_type) for c in cards if c.record_type)
    parts = [f"mode user_track with track_record_type {types}"] if types else []
    parts += [f"mode {c.mode}" for c in cards if not c.record_type]
    return " or ".join(parts)


def _card(data: Mapping[str, Any]) -> Any:
    mode, record_type = data.get("mode"), data.get("track_record_type")
    return next((c for c in CARDS if (c.mode, c.record_type) == (mode, record_type)), None)


# -- the rules, in the order their problems are listed ---------------------------------------
def endpoint_rule(data: Mapping[str, Any]) -> list[str]:
    """An endpoint Braze (or the sandbox, or an allowed custom host) can be reached at."""
    endpoint, custom = data.get("endpoint"), data.get("allow_custom_endpoint", False)
    if isinstance(endpoint, str) and endpoint and isinstance(custom, bool):
        try:
            resolve_endpoint(endpoint, custom)
        except EndpointProblem as exc:
            return [f"endpoint: {exc}"]
    return []


def api_key_rule(data: Mapping[str, Any]) -> list[str]:
    """One key, from api_key or api_key_file, unless the endpoint is the sandbox; no spaces in it."""
    endpoint = data.get("endpoint")
    if "api_key" in data and "api_key_file" in data:
        return ["api_key_file: give api_key or api_key_file, not both"]
    if "api_key" not in data and "api_key_file" not in data:
        if not (isinstance(endpoint, str) and endpoint.strip().lower() == SANDBOX):
            return ["api_key: is required (or api_key_file) unless endpoint is sandbox"]
    key = data.get("api_key")
    if isinstance(key, str) and key and not is_token(key):
        return ["api_key: must not contain spaces or control characters"]
    return []


def retry_rule(data: Mapping[str, Any]) -> list[str]:
    """The first back-off is not longer than the longest."""
    initial, maximum = data.get("initial_retry_interval_millis"), data.get("maximum_retry_interval_millis")
    if isinstance(initial, int) and isinstance(maximum, int) and initial > maximum:
        return ["initial_retry_interval_millis: must not exceed maximum_retry_interval_millis"]
    return []


def delta_rule(data: Mapping[str, Any]) -> list[str]:
    """delta needs a state_file, and a mode whose card it applies to."""
    if data.get("delta") is not True:
        return []
    problems = []
    card = _card(data)
    if card is not None and not card.delta:
        problems.append(f"delta: applies to {_where('delta')}")
    if "state_file" not in data:
        problems.append("state_file: is required when delta is true")
    return problems


def subscription_rule(data: Mapping[str, Any]) -> list[str]:
    """subscription_group_id only with user_subscription, and a subscription group id (a UUID)."""
    group = data.get("subscription_group_id")
    if not isinstance(group, str) or not group:
        return []
    mode = data.get("mode")
    if isinstance(mode, str) and mode != "user_subscription":
        return ["subscription_group_id: is only allowed when mode is user_subscription"]
    problem = group_problem(group)
    return [f"subscription_group_id: {problem}"] if problem else []


def dedupe_rule(data: Mapping[str, Any]) -> list[str]:
    """dedupe_key needs a state_file, and a mode whose card it applies to."""
    if "dedupe_key" not in data:
        return []
    problems = []
    card = _card(data)
    if card is not None and not card.dedupe:
        types = " or ".join(str(c.record_type) for c in cards_where("dedupe"))
        problems.append(f"dedupe_key: applies to track_record_type {types}")
    if "state_file" not in data:
        problems.append("state_file: is required when dedupe_key is set")
    return problems


REMOVALS = ("unset", "unsubscribe", "delete")     # on_removed beyond ignore


def on_removed_rule(data: Mapping[str, Any]) -> list[str]:
    """on_removed needs a state_file, and a mode whose card can undo it that way (never events)."""
    value = data.get("on_removed")
    if value not in REMOVALS:
        return []
    problems = []
    card = _card(data)
    if card is not None and value not in card.on_removed:
        cards = [c for c in CARDS if value in c.on_removed]
        where = " or ".join(f"mode {c.mode}" + (f" with track_record_type {c.record_type}" if c.record_type else "")
                            for c in cards)
        if card.record_type in ("custom_events", "purchases"):
            problems.append(f"on_removed: is refused for {card.record_type} (a sent event or purchase cannot be "
                            f"taken back); {value} applies to {where}")
        else:
            problems.append(f"on_removed: {value} applies to {where}, not to {card.name}")
    if "state_file" not in data:
        problems.append(f"state_file: is required when on_removed is {value} (it keeps the audience)")
    return problems


def removed_ratio_rule(data: Mapping[str, Any]) -> list[str]:
    """max_removed_ratio guards on_removed: alone it would guard nothing."""
    if "max_removed_ratio" in data and data.get("on_removed", "ignore") == "ignore":
        return ["max_removed_ratio: applies only when on_removed is unset, unsubscribe or delete"]
    return []


def input_rule(data: Mapping[str, Any]) -> list[str]:
    """The input's keys fit its format; its encoding exists; an sql input's URL and query are sound."""
    raw = _input(data)
    path = raw.get("path") if isinstance(raw.get("path"), str) else None
    fmt = input_format(raw)
    problems: list[str] = []
    encoding = raw.get("encoding")
    if isinstance(encoding, str) and encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            problems.append("input.encoding: is not an encoding Python knows")
    if fmt not in load_schema()["properties"]["input"]["properties"]["format"]["enum"]:  # the schema says so
        return problems
    if fmt in QUERY_FORMATS and "query" not in raw:
        problems.append(f"input.query: is required when the input format is {fmt}")
    if fmt not in QUERY_FORMATS and "query" in raw:
        problems.append(f"input.query: is only allowed when the input format is sqlite or sql (the format is {fmt})")
    if fmt in ("sqlite", "parquet") and path == "-":
        problems.append(f"input.path: {'an' if fmt == 'sqlite' else 'a'} {fmt} input cannot be read from standard input")
    if fmt == "sqlite" and isinstance(raw.get("query"), str) and raw["query"]:
        problem = read_only_problem(raw["query"], "sqlite")      # refused before the database is opened
        if problem is not None:
            problems.append(f"input.query: {problem}")
    if fmt == "sql":
        problems += _sql_problems(raw)
    else:
        problems += [f"input.{key}: is only allowed when the input format is sql (the format is {fmt})"
                     for key in SQL_ONLY if key in raw]
    if "fetch_size" in raw and fmt not in ("sql", "parquet"):
        problems.append(f"input.fetch_size: is only allowed for sql and parquet input (the format is {fmt})")
    if fmt not in TEXT_FORMATS:
        for key in ("columns", "delimiter"):
            if key in raw:
                problems.append(f"input.{key}: is only allowed for csv and tsv input (the format is {fmt})")
    return problems


def _sql_problems(raw: Mapping[str, Any]) -> list[str]:
    """An sql input: one of url and url_file, no path, a read-only query (checked before connecting)."""
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


def workers_rule(data: Mapping[str, Any]) -> list[str]:
    """workers > 1 splits one input file by user; state and streams are single-process."""
    workers = data.get("workers")
    if not (isinstance(workers, int) and not isinstance(workers, bool) and workers > 1):
        return []
    if "state_file" in data:
        return ["workers: must be 1 with a state_file (resume, delta and dedupe state is single-process)"]
    raw = _input(data)
    path = raw.get("path") if isinstance(raw.get("path"), str) else None
    fmt = input_format(raw)
    if fmt not in ("csv", "tsv", "jsonl"):
        return [f"workers: more than 1 needs a csv, tsv or jsonl input (the format is {fmt})"]
    if path is None or path == "-":
        return ["workers: more than 1 needs input.path to name a file (each worker reads the whole file), "
                "not standard input"]
    return []


def mapping_rule(data: Mapping[str, Any]) -> list[str]:
    """A mapping sends two input columns as one field never, nor a constant over a renamed column;
    the dedupe_key column is read before the mapping, so it is not renamed."""
    raw = data.get("mapping")
    if not isinstance(raw, Mapping):
        return []
    columns: Mapping[str, Any] = raw["columns"] if isinstance(raw.get("columns"), Mapping) else {}
    constants: Mapping[str, Any] = raw["constants"] if isinstance(raw.get("constants"), Mapping) else {}
    problems = []
    targets = [t for t in columns.values() if isinstance(t, str)]
    twice = sorted({t for t in targets if targets.count(t) > 1})
    if twice:
        problems.append(f"mapping.columns: more than one column is sent as {', '.join(twice)}")
    clash = sorted(set(targets) & set(constants))
    if clash:
        problems.append(f"mapping.constants: {', '.join(clash)} is already the name a column is sent as")
    if isinstance(data.get("dedupe_key"), str) and data["dedupe_key"] in columns:
        problems.append("mapping.columns: the dedupe_key column is read as it is (it is never sent): "
                        "do not rename it")
    return problems


RULES: tuple[Rule, ...] = (endpoint_rule, api_key_rule, retry_rule, subscription_rule, delta_rule, dedupe_rule,
                           on_removed_rule, removed_ratio_rule, input_rule, workers_rule, mapping_rule,
                           sync_log_rule, notify_rule)


def rule_problems(data: Mapping[str, Any]) -> list[str]:
    """Every rule's problems with the config, in order."""
    return [problem for rule in RULES for problem in rule(data)]
