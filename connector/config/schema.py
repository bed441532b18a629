"""Load the config JSON Schema and the form's hints, shipped as connector.config_schema."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from typing import Any

SCHEMA_FILE = "config.schema.json"
UI_HINTS_FILE = "ui.json"      # a react-jsonschema-form uiSchema, plus groups (docs/config.md, "The form")


@lru_cache(maxsize=1)
def _schema_text() -> str:
    return files("connector.config_schema").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


def load_schema() -> dict[str, Any]:
    """The config JSON Schema (Draft 2020-12), a fresh copy the caller may change."""
    result: dict[str, Any] = json.loads(_schema_text())
    return result


def load_ui_hints() -> dict[str, Any]:
    """The form's hints: groups, order, widgets and labels for an export UI."""
    result: dict[str, Any] = json.loads(files("connector.config_schema").joinpath(UI_HINTS_FILE)
                                        .read_text(encoding="utf-8"))
    return result
