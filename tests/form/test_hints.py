"""The UI hints beside the schema (config_schema/ui.json) and the schema's per-mode branches, without a browser.

Every schema key lands in exactly one group, named there or caught by the group that holds "*" (the
collapsed advanced group, on purpose: a key added without hints renders there); the hints name no key the
schema lacks; the branches that show a mode's fields agree with the mode cards and add no rule.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from connector.config import load_schema
from connector.config.endpoint import INSTANCES
from connector.modes import CARDS

ROOT = Path(__file__).resolve().parents[2]
HINTS = json.loads((ROOT / "config_schema" / "ui.json").read_text(encoding="utf-8"))
SCHEMA = load_schema()


def grouped_objects() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(name, object schema, its hints) for every object the hints group: the root and input."""
    return [("config", SCHEMA, HINTS), ("input", SCHEMA["properties"]["input"], HINTS["input"])]


def placement(schema: dict[str, Any], hints: dict[str, Any]) -> dict[str, list[str]]:
    """key -> the groups it lands in: the ones that name it, else the one holding "*"."""
    groups = hints["ui:groups"]
    named = {f for g in groups for f in g["fields"] if f != "*"}
    catch_all = [g["id"] for g in groups if "*" in g["fields"]]
    return {key: [g["id"] for g in groups if key in g["fields"]] if key in named else catch_all
            for key in schema["properties"]}


@pytest.mark.parametrize("name, schema, hints", grouped_objects(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_key_lands_in_exactly_one_group(name: str, schema: dict[str, Any], hints: dict[str, Any]) -> None:
    places = placement(schema, hints)
    assert all(len(groups) == 1 for groups in places.values()), {k: g for k, g in places.items() if len(g) != 1}
    catch_all = [g for g in hints["ui:groups"] if "*" in g["fields"]]
    assert len(catch_all) == 1 and catch_all[0]["collapsed"] is True, name    # the default group is advanced


@pytest.mark.parametrize("name, schema, hints", grouped_objects(), ids=lambda v: v if isinstance(v, str) else "")
def test_the_hints_name_only_keys_the_schema_has(name: str, schema: dict[str, Any], hints: dict[str, Any]) -> None:
    listed = [f for g in hints["ui:groups"] for f in g["fields"] if f != "*"]
    assert len(listed) == len(set(listed)), name
    assert set(listed) <= set(schema["properties"]), name
    fields = {k for k in hints if not k.startswith(("ui:", "$"))}
    assert fields <= set(schema["properties"]), name
    # ui:order is the groups' fields in their order, "*" included (react-jsonschema-form refuses unknown names)
    assert hints["ui:order"] == [f for g in hints["ui:groups"] for f in g["fields"]], name


def test_the_first_screen_has_no_more_than_ten_fields() -> None:
    """The open groups of user_track / attributes: their fields, input's open ones counted one by one."""
    open_root = [f for g in HINTS["ui:groups"] if not g.get("collapsed") for f in g["fields"]]
    open_input = [f for g in HINTS["input"]["ui:groups"] if not g.get("collapsed") for f in g["fields"]]
    # shown for a csv input with no format chosen: format, path, columns (not url, url_file, query)
    input_shown = [f for f in open_input if f in ("format", "path", "columns")]
    hidden = {"subscription_group_id", "allow_custom_endpoint", "pre_formated_fields"}
    root_shown = [f for f in open_root if f not in hidden and f != "input"]
    assert len(root_shown) + len(input_shown) <= 10


def test_choices_are_labelled_for_every_value() -> None:
    props = SCHEMA["properties"]
    assert set(HINTS["mode"]["ui:enumNames"]) == set(props["mode"]["enum"])
    assert set(HINTS["track_record_type"]["ui:enumNames"]) == set(props["track_record_type"]["enum"])
    assert set(HINTS["input"]["format"]["ui:enumNames"]) == set(props["input"]["properties"]["format"]["enum"])
    instances = props["endpoint"]["anyOf"][0]["enum"]
    assert instances == [*INSTANCES, "sandbox"]
    assert set(HINTS["endpoint"]["anyOf"][0]["ui:enumNames"]) == set(instances)
    assert len(HINTS["endpoint"]["anyOf"]) == len(props["endpoint"]["anyOf"])


def test_secrets_and_the_old_spelling() -> None:
    assert HINTS["api_key"]["ui:widget"] == "password" and HINTS["input"]["url"]["ui:widget"] == "password"
    assert HINTS["pre_formated_fields"]["ui:widget"] == "hidden"
    assert SCHEMA["properties"]["pre_formated_fields"]["deprecated"] is True


def test_spec_ui_prints_the_hints_and_spec_the_schema() -> None:
    def cli(*args: str) -> Any:
        proc = subprocess.run([sys.executable, "-m", "connector", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=60, check=True)
        return json.loads(proc.stdout)

    assert cli("spec", "--ui") == HINTS
    assert cli("spec") == SCHEMA
    assert files("connector.config_schema").joinpath("ui.json").is_file()     # shipped in the package


def branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in schema.get("allOf", []) if "if" in b]


@pytest.mark.parametrize("schema", [SCHEMA, SCHEMA["properties"]["input"]], ids=["config", "input"])
def test_the_branches_only_name_fields_and_add_no_rule(schema: dict[str, Any]) -> None:
    """Each branch's then is properties -> a $ref to the field itself: what it accepts is what properties accepts."""
    for branch in branches(schema):
        then = branch["then"]
        assert set(then) == {"properties"} and "else" not in branch
        for name, ref in then["properties"].items():
            assert name in schema["properties"]
            assert ref == {"$ref": f"#/properties/{name}"} or ref == {"$ref": f"#/properties/input/properties/{name}"}


def shown(mode: str, record_type: str | None) -> set[str]:
    """The branch fields shown for a config of this mode and record type."""
    data = {"mode": mode, **({"track_record_type": record_type} if record_type else {})}
    return {name for b in branches(SCHEMA) if Draft202012Validator(b["if"]).is_valid(data)
            for name in b["then"]["properties"]}


@pytest.mark.parametrize("card", CARDS, ids=lambda c: c.name)
def test_each_mode_shows_the_fields_its_card_uses(card: Any) -> None:
    fields = shown(card.mode, card.record_type)
    assert ("delta" in fields) == card.delta
    assert ("dedupe_key" in fields) == card.dedupe
    assert ("event_delivery" in fields) == (not card.replay_safe)        # events and purchases
    assert ("track_record_type" in fields) == (card.mode == "user_track")
    assert ("subscription_group_id" in fields) == (card.mode == "user_subscription")
    assert ("null_values" in fields) == (card.record_type == "user_profile_attributes")


def test_delta_and_dedupe_key_say_where_they_apply() -> None:
    """Their help matches docs/resume.md: delta leaves out what Braze acknowledged; dedupe_key is for events."""
    props = SCHEMA["properties"]
    for card in CARDS:
        where = card.record_type or card.mode
        assert (where in props["delta"]["description"]) == card.delta, where
        assert (where in props["dedupe_key"]["description"]) == card.dedupe, where
    assert "acknowledged" in props["delta"]["description"] and "state_file" in props["delta"]["description"]
    assert "resume" not in props["dedupe_key"]["description"] and "state_file" in props["dedupe_key"]["description"]
