"""Shared helpers for the config tests (imported by name; pytest puts this folder on sys.path)."""

from __future__ import annotations

from typing import Any

import pytest

from connector.config import Settings, parse_config
from connector.errors import ConfigError

FAKE_KEY = "sk-FAKE-0123456789abcdef-SECRET"


def minimal(**extra: Any) -> dict[str, Any]:
    """The smallest valid config, with extra keys."""
    return {"endpoint": "US-01", "api_key": FAKE_KEY, "mode": "user_delete", **extra}


def parse(data: dict[str, Any], **kwargs: Any) -> Settings:
    return parse_config(data, environ=kwargs.pop("environ", {}), **kwargs)


def problems_of(data: dict[str, Any], **kwargs: Any) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as info:
        parse(data, **kwargs)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    return info.value.problems
