"""Load the config JSON Schema shipped as connector.config_schema."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from typing import Any

SCHEMA_FILE = "config.schema.json"


@lru_cache(maxsize=1)
def _schema_text() -> str:
    return files("connector.config_schema").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


def load_schema() -> dict[str, Any]:
    """The config JSON Schema (Draft 2020-12), a fresh copy the caller may change."""
    result: dict[str, Any] = json.loads(_schema_text())
    return result
