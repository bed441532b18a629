"""Fixtures of the sync-log tests: a real sandbox, a job folder for the CLI, a webhook receiver."""

import pytest
from synclog_support import API_KEY, Job, Receiver

from connector.sandbox import Sandbox


@pytest.fixture
def sandbox():
    with Sandbox(api_key=API_KEY) as sb:
        yield sb


@pytest.fixture
def job(tmp_path, sandbox):
    return Job(tmp_path, sandbox.url)


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r
