"""The sql input's URL (sqlurl.py), each engine's guard (sqlguard.py) and the driver extras: no server needed."""

from __future__ import annotations

import importlib.util
import json
from types import MappingProxyType
from urllib.parse import quote

import pytest
from source_helpers import spec

from connector.config import Secret
from connector.errors import ConfigError
from connector.sources import describe_input, open_source
from connector.sources.sqlguard import guard_for
from connector.config.sqlurl import backend_of, parse_target, query_hash, repair, url_problem

PASSWORD = "pa:ss/w@rd-7c1e"
TD_KEY = "10473/0f9d3b2c6a5e4f1a8b7c9d0e1f2a3b4c5d6e7f80"


def sql_spec(url: str, query: str = "SELECT 1", **kwargs) -> object:
    base = spec("sql", None, query=query)
    return type(base)(**{**base.__dict__, "url": Secret(url), **kwargs})


@pytest.mark.parametrize("url, backend, driver, host, port, database", [
    ("postgresql+psycopg://u:p@db.example.com:5433/app", "postgresql", "psycopg", "db.example.com", 5433, "app"),
    ("postgresql://u:p@db.example.com/app", "postgresql", "psycopg", "db.example.com", None, "app"),
    ("postgres://u:p@db.example.com/app", "postgresql", "psycopg", "db.example.com", None, "app"),
    ("postgresql+psycopg2://u@h/app", "postgresql", "psycopg2", "h", None, "app"),
    ("trino://user@trino.example.com:8443/hive/default", "trino", "", "trino.example.com", 8443, "hive/default"),
    ("duckdb:///tmp/x.duckdb", "duckdb", "duckdb_engine", None, None, "tmp/x.duckdb"),
    ("duckdb:////abs/x.duckdb", "duckdb", "duckdb_engine", None, None, "/abs/x.duckdb"),
    ("duckdb:///:memory:", "duckdb", "duckdb_engine", None, None, ":memory:"),
    ("snowflake://u:p@account/db/schema?warehouse=wh", "snowflake", "", "account", None, "db/schema"),
])
def test_targets(url, backend, driver, host, port, database) -> None:
    target = parse_target(url)
    assert (target.backend, target.host, target.port, target.database) == (backend, host, port, database)
    if driver:
        assert target.driver == driver
    assert target.where().startswith(f"{backend} at ")


def test_a_password_with_special_characters_and_a_td_key_as_user_name() -> None:
    # an unencoded '/' in the user name (a Treasure Data API key) or '@' in the password is taken as meant
    target = parse_target(f"trino://{TD_KEY}@api-presto.treasuredata.com:443/td-presto/sample_datasets")
    assert (target.host, target.port, target.database) == ("api-presto.treasuredata.com", 443, "td-presto/sample_datasets")
    assert target.url.username == TD_KEY
    assert TD_KEY.split("/")[1] not in json.dumps(target.describe("SELECT 1")) + target.where()
    pg = parse_target(f"postgresql://app:{PASSWORD}@db:5432/app")
    assert pg.url.password == PASSWORD and pg.host == "db" and pg.port == 5432
    assert repair("duckdb:///folder/with@sign.db") == "duckdb:///folder/with@sign.db"
    assert repair("postgresql://u:p@h/db?application_name=a@b") == "postgresql://u:p@h/db?application_name=a@b"


def test_scrub_removes_every_secret_and_any_credentials_in_a_url() -> None:
    written = PASSWORD.replace("/", "%2F")   # as a user may write it: partly percent-encoded
    target = parse_target(f"postgresql://app:{written}@db/app?sslpassword=tls-Secret-1&sslmode=require")
    assert target.url.password == PASSWORD
    text = (f"failed for {PASSWORD} and {written} and {quote(PASSWORD, safe='')} with tls-Secret-1 at "
            f"postgresql://someone:other-secret@elsewhere/x, sslmode=require")
    scrubbed = target.scrub(text)
    for secret in (PASSWORD, "tls-Secret-1", "other-secret", "pa:ss"):
        assert secret not in scrubbed
    assert "sslmode=require" in scrubbed and "postgresql://***@elsewhere/x" in scrubbed
    td = parse_target(f"trino://{TD_KEY}@api-presto.treasuredata.com:443/td-presto")
    assert TD_KEY not in td.scrub(f"user {TD_KEY} refused")


def test_describe_holds_no_secret_and_hashes_the_query() -> None:
    query = "SELECT external_id FROM users"
    described = describe_input(sql_spec(f"postgresql+psycopg://app:{PASSWORD}@db.internal:6432/crm", query))
    assert described == {"format": "sql", "engine": "postgresql", "driver": "psycopg", "host": "db.internal",
                         "port": 6432, "database": "crm", "query_sha256": query_hash(query)}
    assert len(query_hash(query) or "") == 16 and query_hash(query) != query_hash(query + " ")
    assert PASSWORD not in json.dumps(described) and "app" not in json.dumps(described).replace("crm", "")


@pytest.mark.parametrize("url, words", [
    ("not a url", "is not an SQLAlchemy URL"),
    ("db.example.com:5432", "is not an SQLAlchemy URL"),
    ("postgresql://u:p@host:notaport/db", "is not an SQLAlchemy URL"),
    ("postgresql://u:p w@host/db", "spaces"),
])
def test_bad_urls_are_config_errors_that_do_not_quote_them(url, words) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_target(url)
    assert words in str(caught.value) and url not in str(caught.value) and "notaport" not in str(caught.value)


def test_url_checks_made_while_validating_the_config() -> None:
    assert url_problem("postgresql+psycopg://u:p@h/db") is None and url_problem("nope") is not None
    assert backend_of("POSTGRES://x") == "postgresql" and backend_of("trino+rest://x") == "trino"
    assert backend_of("nope") is None


@pytest.mark.parametrize("url, extra", [
    ("snowflake://u:p@account/db", "snowflake"),
    ("bigquery://project/dataset", "bigquery"),
    ("redshift+redshift_connector://u:p@cluster:5439/dev", "redshift"),
    ("databricks://token:dapi-secret@host?http_path=/sql", "databricks"),
])
def test_a_missing_driver_is_one_line_naming_the_extra(url, extra) -> None:
    if importlib.util.find_spec(f"{extra}_sqlalchemy") or importlib.util.find_spec(f"sqlalchemy_{extra}"):
        pytest.fail(f"the {extra} driver is installed here: this test needs an engine whose extra is not")
    with pytest.raises(ConfigError) as caught:
        open_source(sql_spec(url))
    message = str(caught.value)
    assert message == f"input.url: the driver for {extra} is not installed: pip install 'braze-export[{extra}]'"
    assert caught.value.exit_code == 2


def test_an_engine_without_an_extra_and_presto() -> None:
    with pytest.raises(ConfigError, match="no SQLAlchemy dialect or driver is installed for nosuchdb"):
        open_source(sql_spec("nosuchdb://u:p@h/db"))
    with pytest.raises(ConfigError, match=r"use trino://"):
        open_source(sql_spec("presto://u@h:8080/hive"))


def test_the_query_is_checked_before_anything_connects() -> None:
    # port 9 on loopback: nothing listens there, but the refusal comes first
    with pytest.raises(ConfigError, match="input.query: the query must be one SELECT or WITH statement"):
        open_source(sql_spec("postgresql+psycopg://u:p@127.0.0.1:9/db", "DELETE FROM users"))


def test_postgresql_guard_reads_only_with_a_timeout_per_statement() -> None:
    guard = guard_for(parse_target("postgresql://u:p@h/db"), 90)
    assert guard.statements == ("SET TRANSACTION READ ONLY", "SET LOCAL statement_timeout = 90000")
    assert guard.connect_args["connect_timeout"] == 30 and guard.read_only == "a read-only transaction"
    assert guard_for(parse_target("postgresql://u:p@h/db"), 0).statements == ("SET TRANSACTION READ ONLY",)


def test_other_engines_guards() -> None:
    assert guard_for(parse_target("duckdb:///data.duckdb"), 60).connect_args == MappingProxyType({"read_only": True})
    assert guard_for(parse_target("duckdb:///:memory:"), 60).connect_args == MappingProxyType({})
    trino = guard_for(parse_target('trino://u@h:8080/hive?session_properties={"query_max_memory":"1GB"}'), 120)
    assert trino.connect_args["session_properties"] == {"query_max_memory": "1GB", "query_max_run_time": "120s"}
    assert guard_for(parse_target("snowflake://u:p@acct/db"), 45).statements == (
        "ALTER SESSION SET STATEMENT_TIMEOUT_IN_SECONDS = 45",)
    assert guard_for(parse_target("redshift://u:p@h:5439/dev"), 10).statements == ("SET statement_timeout TO 10000",)
    assert guard_for(parse_target("bigquery://project"), 10).statements == ()
