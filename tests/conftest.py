"""Fixtures shared by every test folder: a real PostgreSQL server (started once, on first use)."""

from collections.abc import Iterator

import pytest

from support.postgres import Postgres, running_postgres


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL server on 127.0.0.1 for the whole session (tests/support/postgres.py)."""
    with running_postgres() as server:
        yield server
