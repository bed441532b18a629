"""Fixtures shared by every test folder: a real PostgreSQL server (started once, on first use)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from support.postgres import Postgres


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL server on 127.0.0.1 for the whole session (tests/support/postgres.py)."""
    from support.postgres import running_postgres   # psycopg: only for the tests that use the server

    with running_postgres() as server:
        yield server
