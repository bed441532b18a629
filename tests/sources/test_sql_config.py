"""The input keys of the sql and parquet formats in the config: schema, checks before connecting, the secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connector.config import load_schema, parse_config
from connector.errors import ConfigError

URL = "postgresql+psycopg://app:S3cret-Db-Pass@db.example.com:5432/crm"


def config(**input_keys: Any) -> dict[str, Any]:
    return {"endpoint": "US-01", "api_key": "k-123", "mode": "user_track",
            "track_record_type": "user_profile_attributes", "input": input_keys}


def problems(data: dict[str, Any], **kwargs: Any) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, environ=kwargs.pop("environ", {}), **kwargs)
    assert caught.value.exit_code == 2
    assert "S3cret-Db-Pass" not in str(caught.value)
    return caught.value.problems


def test_an_sql_input() -> None:
    settings = parse_config(config(format="sql", url="${DATABASE_URL}", query="SELECT * FROM users"),
                            environ={"DATABASE_URL": URL})
    spec = settings.input
    assert (spec.format, spec.path, spec.query) == ("sql", None, "SELECT * FROM users")
    assert spec.url is not None and spec.url.reveal() == URL
    assert (spec.query_timeout_seconds, spec.fetch_size) == (1800, 10000)
    assert "S3cret" not in repr(settings) and "S3cret" not in str(spec)


def test_the_url_is_a_secret_in_the_schema() -> None:
    props = load_schema()["properties"]["input"]["properties"]
    assert props["url"]["writeOnly"] is True and props["url"]["secret"] is True
    assert props["query_timeout_seconds"]["default"] == 1800 and props["fetch_size"]["default"] == 10000
    assert "url_file" in props and props["format"]["enum"][-2:] == ["sql", "parquet"]


def test_url_file(tmp_path: Path) -> None:
    (tmp_path / "db.url").write_text(f"  {URL}\n")
    settings = parse_config(config(format="sql", url_file="db.url", query="SELECT 1", query_timeout_seconds=30,
                                   fetch_size=500), environ={}, base_dir=str(tmp_path))
    assert settings.input.url is not None and settings.input.url.reveal() == URL
    assert (settings.input.query_timeout_seconds, settings.input.fetch_size) == (30, 500)
    (tmp_path / "bad.url").write_text("S3cret-Db-Pass is not a url")
    assert problems(config(format="sql", url_file="bad.url", query="SELECT 1"), base_dir=str(tmp_path)) == (
        "input.url_file: the URL in the file is not an SQLAlchemy URL such as "
        "postgresql+psycopg://user:password@host:5432/database",)
    assert problems(config(format="sql", url_file="none.url", query="SELECT 1"), base_dir=str(tmp_path)) == (
        "input.url_file: the file none.url does not exist",)
    (tmp_path / "empty.url").write_text("\n")
    assert problems(config(format="sql", url_file="empty.url", query="SELECT 1"), base_dir=str(tmp_path)) == (
        "input.url_file: the file is empty",)


@pytest.mark.parametrize("keys, expected", [
    ({"format": "sql", "query": "SELECT 1"},
     "input.url: is required when the input format is sql (or input.url_file)"),
    ({"format": "sql", "url": URL, "url_file": "f", "query": "SELECT 1"}, "input.url_file: give url or url_file, not both"),
    ({"format": "sql", "url": URL}, "input.query: is required when the input format is sql"),
    ({"format": "sql", "url": URL, "query": "SELECT 1", "path": "x.csv"},
     "input.path: is not used by an sql input (the query runs against input.url)"),
    ({"format": "sql", "url": "S3cret-Db-Pass@db", "query": "SELECT 1"},
     "input.url: is not an SQLAlchemy URL such as postgresql+psycopg://user:password@host:5432/database"),
    ({"format": "sql", "url": URL, "query": "DELETE FROM users"},
     "input.query: the query must be one SELECT or WITH statement"),
    ({"format": "sql", "url": URL, "query": "SELECT 1; DROP TABLE users"},
     "input.query: the query must be a single statement (it has more than one, separated by ;)"),
    ({"format": "sql", "url": URL, "query": "SELECT * FROM t FOR UPDATE"},
     "input.query: the query must only read: FOR UPDATE / FOR SHARE lock rows"),
    ({"format": "sql", "url": URL, "query": "SELECT 1", "query_timeout_seconds": -1},
     "input.query_timeout_seconds: must be at least 0"),
    ({"format": "sql", "url": URL, "query": "SELECT 1", "fetch_size": 0}, "input.fetch_size: must be at least 1"),
    ({"format": "sql", "url": URL, "query": "SELECT 1", "columns": {"a": "long"}},
     "input.columns: is only allowed for csv and tsv input (the format is sql)"),
    ({"format": "csv", "path": "a.csv", "url": URL},
     "input.url: is only allowed when the input format is sql (the format is csv)"),
    ({"format": "csv", "path": "a.csv", "query_timeout_seconds": 5},
     "input.query_timeout_seconds: is only allowed when the input format is sql (the format is csv)"),
    ({"format": "csv", "path": "a.csv", "fetch_size": 5},
     "input.fetch_size: is only allowed for sql and parquet input (the format is csv)"),
    ({"format": "parquet", "path": "-"}, "input.path: a parquet input cannot be read from standard input"),
    ({"format": "parquet", "path": "x.parquet", "query": "SELECT 1"},
     "input.query: is only allowed when the input format is sqlite or sql (the format is parquet)"),
])
def test_input_rules(keys: dict[str, Any], expected: str) -> None:
    assert problems(config(**keys)) == (expected,)


def test_parquet_is_inferred_from_the_extension_and_takes_a_fetch_size() -> None:
    spec = parse_config(config(path="export/users.parquet", fetch_size=2000), environ={}).input
    assert (spec.format, spec.path, spec.fetch_size, spec.url) == ("parquet", "export/users.parquet", 2000, None)


def test_workers_refuse_sql_and_parquet() -> None:
    for keys in ({"format": "sql", "url": URL, "query": "SELECT 1"}, {"format": "parquet", "path": "p"}):
        assert problems({**config(**keys), "workers": 2}) == (
            f"workers: more than 1 needs a csv, tsv or jsonl input (the format is {keys['format']})",)


def test_a_missing_variable_is_named_not_the_url() -> None:
    assert problems(config(format="sql", url="${DATABASE_URL}", query="SELECT 1")) == (
        "input.url: environment variable DATABASE_URL is not set",)
