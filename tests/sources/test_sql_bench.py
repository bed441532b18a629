"""Smoke test of bench/sql_bench.py's table: the attributes case's shape, made by the server (no timing)."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from source_helpers import spec
from support.postgres import Postgres

from connector.config import Secret
from connector.sources import open_source

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import sql_bench  # noqa: E402
from bench_data import CASES  # noqa: E402


def test_the_bench_table_has_the_attributes_columns_and_types(postgres: Postgres) -> None:
    table = sql_bench.fill(postgres, 300)
    assert sql_bench.fill(postgres, 300) == table   # made once, then reused
    settings = replace(spec("sql", None, query=f"SELECT * FROM {table} ORDER BY external_id"), url=Secret(postgres.url()))
    with open_source(settings) as source:
        assert tuple(source.columns or ()) == CASES["attributes"].header
        rows = [row for _, row in source]
    assert len(rows) == 300 and len({r["external_id"] for r in rows}) == 300
    assert rows[0]["external_id"] == "user-00000001" and rows[0]["email"].endswith("@example.com")
    assert all(type(r["loyalty_points"]) is int and type(r["is_vip"]) is bool for r in rows)
    assert 0 < sum(r["is_vip"] for r in rows) < 300
