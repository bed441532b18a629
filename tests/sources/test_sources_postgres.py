"""The sql input against a real PostgreSQL server: every type, streaming, read-only, errors, no secret."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date, datetime, timezone
from typing import Any

import pytest
from source_helpers import spec
from support.ports import refusing_port
from support.postgres import READER_PASSWORD, Postgres

from connector.config import InputSettings, Secret
from connector.errors import ConfigError, InputError, InvalidRow
from connector.sources import describe_input, open_source

TYPES_TABLE = """
CREATE TABLE pg_types (
    id int PRIMARY KEY, small smallint, big bigint, exact numeric(12, 2), whole numeric(30, 0), free numeric,
    real4 real, double8 double precision, flag boolean, label text, code varchar(10), fixed char(3),
    at_tz timestamptz, at_naive timestamp, day date, clock time, doc jsonb, plain_json json,
    ints int[], texts text[], nums numeric[], uid uuid, ip inet, blob bytea, span interval
)"""
TYPES_ROWS = """
INSERT INTO pg_types VALUES
 (1, -32768, 9223372036854775807, 1234.50, 123456789012345678901234567890, 7.000, 0.5, 2.25, true,
  'café ☕', 'A-1', 'ab', '2024-03-10 18:30:00.123456+09', '2024-03-10 09:30:00', '2024-02-29', '13:45:01',
  '{"tier": "gold", "scores": [1, 2.5], "nested": {"ok": true, "none": null}}', '{"plain": [1, "x"]}',
  '{1,2,3}', '{"a","b c"}', '{1.5,2}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '192.168.0.1/24', NULL, NULL),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (3, 1, 1, 1, 1, 'NaN', 'Infinity', 1, false, 'x', 'x', 'x', NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (4, 1, 1, 1, 1, 1, 1, '-Infinity', false, 'x', 'x', 'x', NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (5, 1, 1, 1, 1, 1, 1, 1, false, 'photo', 'x', 'x', NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, '\\x89504e47', NULL),
 (6, 1, 1, 1, 1, 1, 1, 1, false, 'wait', 'x', 'x', NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, '{1,NaN}', NULL, NULL, NULL, '1 day 2 hours')
"""


@pytest.fixture(scope="module")
def pg(postgres: Postgres) -> Postgres:
    postgres.execute([
        "DROP TABLE IF EXISTS pg_types, pg_audit, pg_many CASCADE", "DROP SEQUENCE IF EXISTS pg_seq",
        TYPES_TABLE, TYPES_ROWS,
        "CREATE TABLE pg_audit (n int)",
        "CREATE SEQUENCE pg_seq",
        "CREATE TABLE pg_many AS SELECT g AS n, 'user-' || g AS external_id FROM generate_series(1, 25000) g",
        """CREATE OR REPLACE FUNCTION pg_audit_bump() RETURNS int LANGUAGE plpgsql AS
           $$ BEGIN INSERT INTO pg_audit VALUES (1); RETURN 1; END $$""",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON pg_types, pg_audit, pg_many TO reader",
        "GRANT USAGE, UPDATE ON SEQUENCE pg_seq TO reader",
        # the reader's sessions run in Tokyo time: timestamps must still come out in UTC
        "ALTER ROLE reader SET timezone = 'Asia/Tokyo'",
    ])
    return postgres


def sql(pg: Postgres, query: str, **kwargs: Any) -> InputSettings:
    url = kwargs.pop("url", None) or pg.url()
    return replace(spec("sql", None, query=query), url=Secret(url), **kwargs)


def rows(settings: InputSettings) -> list[tuple[int, Any]]:
    with open_source(settings) as source:
        return list(source)


def test_every_type_from_a_real_table(pg: Postgres) -> None:
    with open_source(sql(pg, "SELECT * FROM pg_types WHERE id <= 2 ORDER BY id")) as source:
        assert source.columns == ["id", "small", "big", "exact", "whole", "free", "real4", "double8", "flag", "label",
                                  "code", "fixed", "at_tz", "at_naive", "day", "clock", "doc", "plain_json", "ints",
                                  "texts", "nums", "uid", "ip", "blob", "span"]
        got = list(source)
    first = got[0][1]
    assert got[0][0] == 1 and first == {
        "id": 1, "small": -32768, "big": 9223372036854775807, "exact": 1234.5,
        "whole": 123456789012345678901234567890, "free": 7, "real4": 0.5, "double8": 2.25, "flag": True,
        "label": "café ☕", "code": "A-1", "fixed": "ab ",
        "at_tz": datetime(2024, 3, 10, 9, 30, 0, 123456, tzinfo=timezone.utc),
        "at_naive": datetime(2024, 3, 10, 9, 30, tzinfo=timezone.utc),
        "day": date(2024, 2, 29), "clock": "13:45:01",
        "doc": {"tier": "gold", "scores": [1, 2.5], "nested": {"ok": True, "none": None}},
        "plain_json": {"plain": [1, "x"]}, "ints": [1, 2, 3], "texts": ["a", "b c"], "nums": [1.5, 2],
        "uid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "ip": "192.168.0.1/24", "blob": None, "span": None,
    }
    assert type(first["exact"]) is float and type(first["free"]) is int and first["at_tz"].tzinfo is timezone.utc
    assert got[1] == (2, {"id": 2, **{name: None for name in first if name != "id"}})


@pytest.mark.parametrize("row_id, column, words", [
    (3, "free", "NaN or infinite decimal"),
    (4, "double8", "is infinite"),
    (5, "blob", "is binary data (4 bytes)"),
    (6, "nums", "NaN or infinite decimal"),
])
def test_values_braze_cannot_take_make_the_row_invalid(pg: Postgres, row_id: int, column: str, words: str) -> None:
    [(number, verdict)] = rows(sql(pg, f"SELECT * FROM pg_types WHERE id = {row_id}"))
    assert number == 1 and isinstance(verdict, InvalidRow)
    assert verdict.column == column and words in verdict.reason
    assert verdict.values["id"] == row_id and verdict.values[column] is None   # for the rejected-rows file


def test_an_interval_is_refused_with_a_hint(pg: Postgres) -> None:
    [(_, verdict)] = rows(sql(pg, "SELECT id, span FROM pg_types WHERE id = 6"))
    assert isinstance(verdict, InvalidRow) and verdict.column == "span" and "EXTRACT(EPOCH" in verdict.reason


def test_rows_stream_through_a_server_side_cursor_numbered_as_they_arrive(pg: Postgres) -> None:
    settings = sql(pg, "SELECT n, external_id FROM pg_many ORDER BY n", fetch_size=1000)
    seen: list[str] = []
    with open_source(settings) as source:
        numbers = []
        for number, row in source:
            numbers.append(number)
            assert row["n"] == number and row["external_id"] == f"user-{number}"
            if number == 2500:   # mid-stream: the reader's backend is fetching from a cursor, 1,000 at a time
                seen = [q for (q,) in pg.query("SELECT query FROM pg_stat_activity WHERE usename = 'reader'")]
    assert numbers == list(range(1, 25001))
    assert any(q.startswith("FETCH FORWARD 1000 FROM") for q in seen), seen


def test_the_transaction_is_read_only(pg: Postgres) -> None:
    assert rows(sql(pg, "SELECT current_setting('transaction_read_only') AS ro")) == [(1, {"ro": "on"})]


@pytest.mark.parametrize("query", [
    "SELECT pg_audit_bump() AS bumped",
    "SELECT nextval('pg_seq') AS next",
    "SELECT set_config('transaction_read_only', 'off', false) AS sneaky, pg_audit_bump()",
])
def test_a_query_with_side_effects_fails_and_the_database_is_unchanged(pg: Postgres, query: str) -> None:
    with pytest.raises(InputError) as caught:
        rows(sql(pg, query))
    message = str(caught.value)
    assert "read-only" in message or "read-write" in message, message
    assert pg.query("SELECT count(*) FROM pg_audit") == [(0,)]
    assert pg.query("SELECT last_value, is_called FROM pg_seq") == [(1, False)]


@pytest.mark.parametrize("query, words", [
    ("WITH gone AS (DELETE FROM pg_many RETURNING *) SELECT count(*) FROM gone", "WITH clause holds"),
    ("SELECT * FROM pg_many FOR UPDATE", "FOR UPDATE"),
    ("SELECT 1; DELETE FROM pg_many", "single statement"),
    ("UPDATE pg_many SET n = 0", "one SELECT or WITH"),
])
def test_a_query_that_tries_to_write_is_refused_before_connecting(pg: Postgres, query: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        rows(sql(pg, query))
    assert caught.value.exit_code == 2 and words in str(caught.value)
    assert pg.query("SELECT count(*), min(n) FROM pg_many") == [(25000, 1)]


def test_a_slow_query_is_cancelled_by_the_statement_timeout(pg: Postgres) -> None:
    with pytest.raises(InputError) as caught:
        rows(sql(pg, "SELECT pg_sleep(5) AS slept", query_timeout_seconds=1))
    assert "ran longer than input.query_timeout_seconds (1 s)" in str(caught.value)


def test_an_error_in_the_middle_of_the_stream_names_the_last_row_read(pg: Postgres) -> None:
    settings = sql(pg, "SELECT 1 / (1000 - g) AS x FROM generate_series(1, 2000) g", fetch_size=100)
    got: list[int] = []
    with pytest.raises(InputError) as caught, open_source(settings) as source:
        for number, _ in source:
            got.append(number)
    assert got == list(range(1, 901))   # the fetch holding row 1,000 failed as a whole
    assert str(caught.value).startswith("the query failed after row 900 (postgresql at 127.0.0.1:")
    assert "division by zero (SQLSTATE 22012)" in str(caught.value)


def test_a_syntax_error_quotes_the_server_not_the_url(pg: Postgres) -> None:
    with pytest.raises(InputError) as caught:
        rows(sql(pg, "SELECT external_id FROM pg_many WHERE"))
    message = str(caught.value)
    assert message == (f"the query failed (postgresql at 127.0.0.1:{pg.port}, database braze_test): "
                       "syntax error at end of input (SQLSTATE 42601)")


def test_an_unknown_table_and_a_missing_privilege(pg: Postgres) -> None:
    pg.execute(["CREATE TABLE IF NOT EXISTS pg_private (x int)", "REVOKE ALL ON pg_private FROM reader"])
    with pytest.raises(InputError, match='relation "no_such_table" does not exist'):
        rows(sql(pg, "SELECT * FROM no_such_table"))
    with pytest.raises(InputError, match="the query was refused: permission denied: permission denied for table pg_private"):
        rows(sql(pg, "SELECT * FROM pg_private"))


@pytest.mark.parametrize("make_url, reason", [
    (lambda pg, _: pg.url(password="wrong-Passw0rd-x"), "the user name or password was refused"),
    (lambda pg, _: pg.url(user="nobody_here", password="x-Secret-9"), "the user name or password was refused"),
    (lambda pg, _: pg.url(database="no_such_db"), "the database does not exist"),
    (lambda pg, port: pg.url(port=port), "the connection was refused"),
])
def test_connection_errors_name_where_and_never_the_password(pg: Postgres, make_url, reason: str) -> None:
    with refusing_port() as port, pytest.raises(InputError) as caught:
        url = make_url(pg, port)
        rows(sql(pg, "SELECT 1", url=url))
    message = str(caught.value)
    assert message.startswith("cannot connect to the database (postgresql at 127.0.0.1:") and reason in message
    for secret in ("wrong-Passw0rd-x", "x-Secret-9", READER_PASSWORD, url):
        assert secret not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_percent_signs_colons_and_duplicate_names(pg: Postgres) -> None:
    query = "SELECT external_id AS a, n AS a, '10:30 :x %s %' AS t FROM pg_many WHERE external_id LIKE 'user-1%' AND n < 3"
    with open_source(sql(pg, query)) as source:
        assert source.columns == ["a", "a", "t"]
        assert list(source) == [(1, {"a": 1, "t": "10:30 :x %s %"})]


def test_an_empty_result_has_its_columns(pg: Postgres) -> None:
    with open_source(sql(pg, "SELECT n, external_id FROM pg_many WHERE false")) as source:
        assert source.columns == ["n", "external_id"] and list(source) == [] and source.progress() is None


def test_describe_and_the_connection_is_closed(pg: Postgres) -> None:
    settings = sql(pg, "SELECT 1 AS one")
    with open_source(settings) as source:
        assert source.describe() == describe_input(settings)
        assert source.describe()["port"] == pg.port and "password" not in str(source.describe())
    assert pg.query("SELECT count(*) FROM pg_stat_activity WHERE usename = 'reader'") == [(0,)]


def test_sources_can_be_read_from_another_thread(pg: Postgres) -> None:
    # the job reads its source on the main thread but the CLI's progress runs beside it; a source
    # opened on one thread and read on another must work (no thread-bound connection)
    box: dict[str, Any] = {}
    with open_source(sql(pg, "SELECT n FROM pg_many ORDER BY n LIMIT 3")) as source:
        reader = threading.Thread(target=lambda: box.setdefault("rows", list(source)))
        reader.start()
        reader.join(30)
    assert box["rows"] == [(1, {"n": 1}), (2, {"n": 2}), (3, {"n": 3})]
