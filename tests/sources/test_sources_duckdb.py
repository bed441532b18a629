"""The sql input through SQLAlchemy to DuckDB (duckdb-engine), an embedded engine: its own types, read-only files."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from source_helpers import spec

from connector.config import InputSettings, Secret
from connector.errors import InputError, InvalidRow
from connector.sources import open_source


@pytest.fixture()
def database(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute("""CREATE TABLE users AS SELECT * FROM (VALUES
        (1, 'u1', 170141183460469231731687303715884105727::HUGEINT, 12.50::DECIMAL(10, 2), 3::UTINYINT,
         {'city': 'Paris', 'zip': [75, 1]}, [1.5, 2.5], MAP {'email': true},
         TIMESTAMPTZ '2024-01-01 09:00:00+09', TIMESTAMP '2024-01-01 01:02:03', DATE '2024-01-01',
         NULL::BLOB, NULL::INTERVAL),
        (2, 'u2', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'png'::BLOB, INTERVAL 1 DAY)
    ) t(id, external_id, huge, price, tiny, address, scores, prefs, seen, seen_naive, born, photo, span)""")
    conn.execute("CREATE SEQUENCE ids")
    conn.close()
    return path


def duck(url: str, query: str) -> InputSettings:
    return replace(spec("sql", None, query=query), url=Secret(url))


def test_duckdb_types_through_sqlalchemy(database: Path) -> None:
    with open_source(duck(f"duckdb:///{database}", "SELECT * FROM users ORDER BY id")) as source:
        assert source.columns[:3] == ["id", "external_id", "huge"]
        got = list(source)
    assert got[0] == (1, {
        "id": 1, "external_id": "u1", "huge": 2**127 - 1, "price": 12.5, "tiny": 3,
        "address": {"city": "Paris", "zip": [75, 1]}, "scores": [1.5, 2.5], "prefs": {"email": True},
        "seen": datetime(2024, 1, 1, 0, 0, tzinfo=timezone.utc),
        "seen_naive": datetime(2024, 1, 1, 1, 2, 3, tzinfo=timezone.utc), "born": date(2024, 1, 1),
        "photo": None, "span": None,
    })
    number, verdict = got[1]
    assert number == 2 and isinstance(verdict, InvalidRow) and verdict.column == "photo"


def test_a_duckdb_file_is_opened_read_only(database: Path) -> None:
    with pytest.raises(InputError) as caught:
        with open_source(duck(f"duckdb:///{database}", "SELECT nextval('ids') AS n")) as source:
            list(source)
    assert "read-only" in str(caught.value).lower()
    conn = duckdb.connect(str(database))
    assert conn.execute("SELECT nextval('ids')").fetchone() == (1,)   # the sequence was never advanced
    conn.close()


def test_an_in_memory_duckdb_can_query_files(tmp_path: Path) -> None:
    path = tmp_path / "scores.parquet"
    pq.write_table(pa.table({"external_id": ["a", "b"], "score": [1, 2]}), path)
    query = f"SELECT external_id, score * 10 AS score FROM read_parquet('{path}') ORDER BY 1"
    with open_source(duck("duckdb:///:memory:", query)) as source:
        assert list(source) == [(1, {"external_id": "a", "score": 10}), (2, {"external_id": "b", "score": 20})]
