"""The schema a UI renders, the docs that describe it, and the examples that follow it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from connector.config import load_config, load_schema

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yml"))
DOC_KEY = re.compile(r"^\| `([a-z_.]+)` \|", re.MULTILINE)
NESTED = ("input", "sync_log", "notify")     # the sections whose keys are documented one by one


def all_properties() -> dict:
    schema = load_schema()
    properties = dict(schema["properties"])
    for section in NESTED:
        properties.update({f"{section}.{k}": v for k, v in schema["properties"][section]["properties"].items()})
    return properties


def schema_keys() -> set[str]:
    return set(all_properties())


def test_schema_is_valid_draft_2020_12() -> None:
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_schema_is_loaded_from_the_package_resource() -> None:
    from importlib.resources import files

    resource = files("connector.config_schema").joinpath("config.schema.json")
    assert resource.is_file()
    assert load_schema() is not load_schema()  # a fresh copy each time
    assert load_schema() == load_schema()


def test_every_property_is_renderable() -> None:
    schema = load_schema()
    for name, prop in all_properties().items():
        assert prop.get("title") and prop.get("description"), name
        assert "type" in prop, name
        assert isinstance(prop.get("order"), int), name
    assert schema["additionalProperties"] is False
    for section in NESTED:
        assert schema["properties"][section]["additionalProperties"] is False
    assert sorted(schema["required"]) == ["endpoint", "mode"]


def test_the_key_is_marked_secret() -> None:
    key = load_schema()["properties"]["api_key"]
    assert key["writeOnly"] is True and key["secret"] is True and key["airbyte_secret"] is True


def test_fixed_enums() -> None:
    props = load_schema()["properties"]
    assert props["mode"]["enum"] == ["user_new_alias", "user_identifying", "user_track", "user_delete",
                                     "user_subscription", "user_merge", "user_rename_external_id"]
    assert props["track_record_type"]["enum"] == ["custom_events", "purchases", "user_profile_attributes"]
    assert props["null_values"]["enum"] == ["skip", "unset"]
    assert props["track_object_limit"]["enum"] == ["combined_75", "per_array_75", "combined_50"]
    assert props["event_delivery"]["enum"] == ["at_least_once", "at_most_once"]
    assert props["input"]["properties"]["format"]["enum"] == ["csv", "tsv", "jsonl", "json", "sqlite", "sql", "parquet"]


def test_docs_cover_every_schema_key_and_nothing_else() -> None:
    documented = set(DOC_KEY.findall((ROOT / "docs" / "config.md").read_text(encoding="utf-8")))
    assert documented == schema_keys()


def test_docs_state_each_default() -> None:
    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([a-z_.]+)` \|.*$", text, re.MULTILINE)}
    for name, prop in all_properties().items():
        if "default" in prop and prop["default"] != []:
            assert f"`{str(prop['default']).lower()}`" in rows[name], name


def test_there_is_an_example_per_mode_and_record_type() -> None:
    names = {path.name for path in EXAMPLES}
    assert {"quickstart.yml", "events.yml", "purchases.yml", "new_alias.yml", "identify.yml",
            "delete.yml", "production.yml", "subscription.yml", "merge.yml", "rename.yml"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_validates(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    settings = load_config(path, environ={"BRAZE_API_KEY": "example-key"})
    assert settings.input.path is not None and (ROOT / settings.input.path).is_file()


def test_quickstart_is_what_the_readme_promises() -> None:
    settings = load_config(ROOT / "examples" / "quickstart.yml", environ={})
    assert (settings.endpoint, settings.mode, settings.track_record_type) == (
        "sandbox", "user_track", "user_profile_attributes")
    assert settings.input.format == "csv" and settings.input.path == "examples/data/users.csv"
    assert dict(settings.input.columns) == {"loyalty_points": "long", "is_vip": "boolean"}
    assert settings.pre_formatted_fields == ("tags",)


def test_production_example_uses_the_environment() -> None:
    settings = load_config(ROOT / "examples" / "production.yml", environ={"BRAZE_API_KEY": "abc"})
    assert settings.endpoint == "https://rest.iad-03.braze.com"
    assert settings.api_key is not None and settings.api_key.reveal() == "abc"
