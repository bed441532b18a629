"""The property suite's sandbox: one per module, emptied before each example (property_support.py)."""

from __future__ import annotations

import pytest

from connector.sandbox import Sandbox
from property_support import API_KEY


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(api_key=API_KEY) as sb:
        yield sb
