"""Validation: defaults from the schema, every problem collected, values never echoed or coerced."""

from __future__ import annotations

import pytest
from config_helpers import FAKE_KEY, minimal, parse, problems_of

from connector.config import load_schema


def test_minimal_config_gets_every_default_from_the_schema() -> None:
    settings = parse(minimal())
    schema = load_schema()
    for name, prop in schema["properties"].items():
        if "default" not in prop:
            continue
        expected = prop["default"]
        actual = getattr(settings, name)
        if name == "pre_formatted_fields":
            assert actual == tuple(expected)
        else:
            assert actual == expected, name
    assert settings.input.encoding == schema["properties"]["input"]["properties"]["encoding"]["default"]


def test_defaults_match_the_documented_values() -> None:
    settings = parse(minimal())
    assert (settings.concurrency, settings.batch_size, settings.maximum_retries) == ("auto", 75, 6)
    assert (settings.initial_retry_interval_millis, settings.maximum_retry_interval_millis) == (1000, 32000)
    assert (settings.timeout_millis, settings.maximum_retry_duration_millis) == (60000, 600000)
    assert settings.reject_file == "rejected.jsonl" and settings.sandbox_db == "braze-sandbox.sqlite"
    assert settings.track_object_limit == "combined_75" and settings.event_delivery == "at_least_once"
    assert settings.null_values == "skip" and settings.state_file is None
    assert settings.requests_per_second is None and settings.requests_per_hour is None
    assert settings.track_record_type is None and settings.dedupe_key is None
    assert settings.input.format == "csv" and settings.input.path is None and settings.input.delimiter == ","


def test_every_key_is_carried_into_settings() -> None:
    settings = parse(minimal(
        mode="user_track", track_record_type="purchases", skip_on_invalid_records=True,
        update_existing_only=True, null_values="unset", reject_file="r.jsonl", state_file="s.json",
        concurrency=3, batch_size=40, track_object_limit="per_array_75", requests_per_second=12.5,
        requests_per_hour=5000, maximum_retries=0, initial_retry_interval_millis=10,
        maximum_retry_interval_millis=20, timeout_millis=5, maximum_retry_duration_millis=0,
        event_delivery="at_most_once", dedupe_key="id", sandbox_db="x.sqlite",
        allow_custom_endpoint=True,
    ))
    # delta applies to attributes only (config/rules.py): it is carried on a config of its own.
    delta = parse(minimal(mode="user_track", track_record_type="user_profile_attributes", state_file="s.json",
                          delta=True))
    assert settings.track_record_type == "purchases" and settings.skip_on_invalid_records is True
    assert settings.update_existing_only is True and settings.null_values == "unset"
    assert (settings.reject_file, settings.state_file, settings.sandbox_db) == ("r.jsonl", "s.json", "x.sqlite")
    assert (settings.concurrency, settings.batch_size, settings.track_object_limit) == (3, 40, "per_array_75")
    assert settings.requests_per_second == 12.5 and settings.requests_per_hour == 5000
    assert (settings.maximum_retries, settings.initial_retry_interval_millis) == (0, 10)
    assert (settings.maximum_retry_interval_millis, settings.timeout_millis) == (20, 5)
    assert settings.maximum_retry_duration_millis == 0 and settings.event_delivery == "at_most_once"
    assert delta.delta is True and settings.dedupe_key == "id" and settings.allow_custom_endpoint is True


def test_settings_are_frozen() -> None:
    settings = parse(minimal(input={"path": "a.csv", "columns": {"n": "long"}}))
    with pytest.raises(AttributeError):
        settings.mode = "user_track"  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.input.columns["n"] = "double"  # type: ignore[index]


def test_every_problem_is_collected_with_its_path() -> None:
    problems = problems_of({
        "endpoint": "US-01", "api_key": "k", "mode": "user_upsert", "concurrency": 0,
        "batch_size": 76, "skip_on_invalid_records": "false", "surprise": 1,
        "input": {"format": "xml", "colour": "red", "columns": {"a": "integer"}},
        "requests_per_second": 0, "pre_formatted_fields": ["a", 3],
    })
    assert set(problems) == {
        "mode: must be one of user_new_alias, user_identifying, user_track, user_delete, user_subscription, "
        "user_merge, user_rename_external_id",
        "concurrency: must be at least 1",
        "batch_size: must be at most 75",
        "skip_on_invalid_records: must be a boolean (true or false)",
        "config: unknown key 'surprise'",
        "input.format: must be one of csv, tsv, jsonl, json, sqlite, sql, parquet",
        "input: unknown key 'colour'",
        "input.columns.a: must be one of string, long, double, boolean, timestamp, json",
        "requests_per_second: must be greater than 0",
        "pre_formatted_fields[1]: must be a string",
    }


def test_missing_required_keys() -> None:
    assert set(problems_of({})) == {
        "endpoint: is required", "mode: is required",
        "api_key: is required (or api_key_file) unless endpoint is sandbox",
    }


@pytest.mark.parametrize("key, value, reason", [
    ("skip_on_invalid_records", "false", "must be a boolean (true or false)"),
    ("delta", 0, "must be a boolean (true or false)"),
    ("concurrency", "8", "must be auto or an integer from 1 to 256"),
    ("concurrency", 2.5, "must be auto or an integer from 1 to 256"),
    ("concurrency", True, "must be auto or an integer from 1 to 256"),
    ("requests_per_second", "10", "must be a number"),
    ("pre_formatted_fields", {"a": 1}, "must be a list or a string"),
    ("input", "data.csv", "must be a mapping"),
    ("reject_file", "", "must not be empty"),
])
def test_values_of_the_wrong_type_are_refused_not_coerced(key: str, value: object, reason: str) -> None:
    assert problems_of(minimal(**{key: value})) == (f"{key}: {reason}",)


def test_track_record_type_is_required_exactly_for_user_track() -> None:
    assert problems_of(minimal(mode="user_track")) == ("track_record_type: is required when mode is user_track",)
    assert problems_of(minimal(mode="user_delete", track_record_type="purchases")) == (
        "track_record_type: is only allowed when mode is user_track",)
    assert parse(minimal(mode="user_track", track_record_type="custom_events")).track_record_type == "custom_events"


def test_no_problem_message_echoes_a_value() -> None:
    """The fake key, put in every wrong place, appears in no message."""
    data = {
        "endpoint": f"https://{FAKE_KEY}:x@rest.iad-01.braze.com", "api_key": FAKE_KEY + " tail",
        "api_key_file": FAKE_KEY, "mode": FAKE_KEY, "track_record_type": FAKE_KEY,
        "skip_on_invalid_records": FAKE_KEY, "concurrency": FAKE_KEY, "null_values": FAKE_KEY,
        "input": {"format": FAKE_KEY, "columns": {"c": FAKE_KEY}, "encoding": FAKE_KEY},
        "pre_formatted_fields": [FAKE_KEY, 5], "requests_per_hour": FAKE_KEY,
    }
    problems = problems_of(data)
    assert len(problems) >= 10
    text = "\n".join(problems)
    assert FAKE_KEY not in text and "sk-FAKE" not in text
    assert "is not valid under" not in text and "is not one of" not in text  # no raw jsonschema text


def test_retry_interval_bounds_are_ordered() -> None:
    assert problems_of(minimal(initial_retry_interval_millis=5000, maximum_retry_interval_millis=100)) == (
        "initial_retry_interval_millis: must not exceed maximum_retry_interval_millis",)


def test_delta_needs_a_state_file() -> None:
    attributes = {"mode": "user_track", "track_record_type": "user_profile_attributes"}
    assert problems_of(minimal(delta=True, **attributes)) == ("state_file: is required when delta is true",)


def test_pre_formatted_fields_list_string_and_alias_are_merged() -> None:
    assert parse(minimal(pre_formatted_fields=" tags, prefs ,,")).pre_formatted_fields == ("tags", "prefs")
    assert parse(minimal(pre_formated_fields=["a", "b"])).pre_formatted_fields == ("a", "b")
    both = parse(minimal(pre_formatted_fields="a,b", pre_formated_fields=["b", "c"]))
    assert both.pre_formatted_fields == ("a", "b", "c")
    assert parse(minimal(pre_formatted_fields=[])).pre_formatted_fields == ()


@pytest.mark.parametrize("path, fmt", [
    ("a.csv", "csv"), ("a.TSV", "tsv"), ("a.tab", "tsv"), ("a.jsonl", "jsonl"), ("a.ndjson", "jsonl"),
    ("a.json", "json"), ("a.txt", "csv"), ("-", "csv"), ("dir/a.CSV", "csv"),
])
def test_input_format_is_inferred_from_the_extension(path: str, fmt: str) -> None:
    assert parse(minimal(input={"path": path})).input.format == fmt


def test_input_format_given_wins_and_delimiters_resolve() -> None:
    assert parse(minimal(input={"path": "a.txt", "format": "jsonl"})).input.format == "jsonl"
    assert parse(minimal(input={"path": "a.tsv"})).input.delimiter == "\t"
    assert parse(minimal(input={"path": "a.csv", "delimiter": ";"})).input.delimiter == ";"
    assert parse(minimal(input={"path": "a.jsonl"})).input.delimiter is None


@pytest.mark.parametrize("path", ["a.sqlite", "a.sqlite3", "a.db"])
def test_sqlite_is_inferred_and_needs_a_query(path: str) -> None:
    assert problems_of(minimal(input={"path": path})) == ("input.query: is required when the input format is sqlite",)
    spec = parse(minimal(input={"path": path, "query": "SELECT 1"})).input
    assert (spec.format, spec.query) == ("sqlite", "SELECT 1")


def test_input_rules_per_format() -> None:
    assert problems_of(minimal(input={"path": "a.csv", "query": "SELECT 1"})) == (
        "input.query: is only allowed when the input format is sqlite or sql (the format is csv)",)
    assert set(problems_of(minimal(input={"path": "a.json", "columns": {"a": "long"}, "delimiter": ";"}))) == {
        "input.columns: is only allowed for csv and tsv input (the format is json)",
        "input.delimiter: is only allowed for csv and tsv input (the format is json)",
    }
    assert problems_of(minimal(input={"path": "-", "format": "sqlite", "query": "SELECT 1"})) == (
        "input.path: an sqlite input cannot be read from standard input",)
    assert problems_of(minimal(input={"encoding": "klingon-8"})) == ("input.encoding: is not an encoding Python knows",)
    assert problems_of(minimal(input={"delimiter": ";;"})) == ("input.delimiter: must be a single character",)


def test_parse_config_refuses_a_non_mapping() -> None:
    from connector.config import parse_config
    from connector.errors import ConfigError

    with pytest.raises(ConfigError, match="must be a mapping"):
        parse_config(["endpoint", "US-01"])  # type: ignore[arg-type]
