"""Fixtures of the hostile-input tests: a real sandbox on a free loopback port, in this process."""

import pytest

from connector.sandbox import Sandbox
from support.cli_process import API_KEY


@pytest.fixture
def sandbox():
    with Sandbox(api_key=API_KEY) as sb:
        yield sb
