"""End-to-end fixtures: a real sandbox on a free loopback port, and a job folder for the CLI."""

import pytest

from connector.sandbox import Sandbox
from e2e_support import API_KEY, Job


@pytest.fixture
def sandbox():
    with Sandbox(api_key=API_KEY) as sb:
        yield sb


@pytest.fixture
def job(tmp_path, sandbox):
    return Job(tmp_path, sandbox)
