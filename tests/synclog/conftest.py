"""Fixtures of the sync-log tests: a loopback webhook receiver, a real sandbox (the end-to-end
tests' key), and a job folder for the CLI aimed at that sandbox."""

import pytest
from synclog_support import API_KEY, Job, Receiver

from connector.sandbox import Sandbox


@pytest.fixture
def receiver():
    with Receiver() as webhook:
        yield webhook


@pytest.fixture
def job(tmp_path, sandbox):
    return Job(tmp_path, sandbox)


@pytest.fixture
def sandbox():
    server = Sandbox(api_key=API_KEY)
    with server:
        yield server
