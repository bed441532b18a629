"""connector/config/statement.py: one read-only SELECT/WITH statement, read as its engine reads it."""

from __future__ import annotations

import pytest

from connector.config.statement import read_only_problem


@pytest.mark.parametrize("query", [
    "SELECT 1",
    "select 1;",
    "SELECT 1 ;  \n -- the end\n",
    "  -- leading comment\n/* and a block /* nested */ one */ SELECT external_id FROM users",
    "WITH t AS (SELECT 1 AS x) SELECT x FROM t",
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5) SELECT n FROM t",
    "WITH t AS MATERIALIZED (SELECT 1) SELECT * FROM t",
    "(SELECT 1) UNION ALL (SELECT 2)",
    "SELECT ';' AS semicolon, 'it''s' AS quote, \"odd;name\" FROM t",
    "SELECT $$; DROP TABLE t; $$ AS text",
    "SELECT $body$ ; $body$",
    "SELECT E'\\'; still a string' AS e",
    "SELECT note FROM t WHERE note LIKE '%into%' OR note = 'for update'",
    "SELECT \"into\", \"update\" FROM t",
    "SELECT updated_at, deleted, inserted_by FROM t",
    "SELECT json_col -> 'a' #> '{b}' FROM t",
])
def test_read_only_queries_pass(query: str) -> None:
    assert read_only_problem(query, "postgresql") is None


@pytest.mark.parametrize("query, words", [
    ("", "empty"),
    (" ; ", "empty"),
    ("-- only a comment", "empty"),
    ("SELECT 1; DROP TABLE users", "single statement"),
    ("SELECT 1; SELECT 2", "single statement"),
    ("DELETE FROM users", "one SELECT or WITH"),
    ("INSERT INTO t VALUES (1)", "one SELECT or WITH"),
    ("UPDATE t SET a = 1", "one SELECT or WITH"),
    ("CREATE TABLE t AS SELECT 1", "one SELECT or WITH"),
    ("COPY t TO '/tmp/x'", "one SELECT or WITH"),
    ("CALL do_things()", "one SELECT or WITH"),
    ("EXPLAIN ANALYZE DELETE FROM t", "one SELECT or WITH"),
    ("SET ROLE admin", "one SELECT or WITH"),
    ("VALUES (1)", "one SELECT or WITH"),
    ("SELECT * INTO backup FROM users", "SELECT ... INTO"),
    ("SELECT * FROM users FOR UPDATE", "FOR UPDATE"),
    ("SELECT * FROM users FOR NO KEY UPDATE SKIP LOCKED", "FOR UPDATE"),
    ("SELECT * FROM users FOR SHARE", "FOR UPDATE"),
    ("SELECT * FROM users for key share", "FOR UPDATE"),
    ("WITH gone AS (DELETE FROM users RETURNING *) SELECT * FROM gone", "WITH clause holds"),
    ("WITH a AS (SELECT 1), b AS NOT MATERIALIZED (UPDATE t SET x = 1 RETURNING x) SELECT * FROM b",
     "WITH clause holds"),
    ("with n as (insert into t values (1) returning *) select * from n", "WITH clause holds"),
    ("SELECT 'unclosed", "unclosed '"),
    ("SELECT \"unclosed", "unclosed \""),
    ("SELECT 1 /* unclosed", "unclosed /*"),
    ("SELECT $$ unclosed", "unclosed $$"),
])
def test_anything_else_is_refused(query: str, words: str) -> None:
    problem = read_only_problem(query, "postgresql")
    assert problem is not None and words in problem


def test_a_statement_hidden_from_one_dialect_is_seen_in_the_other() -> None:
    # MySQL and BigQuery read \' as a quote, PostgreSQL does not: the same text is two
    # statements to one and one string to the other.
    mysql_two = "SELECT 'a\\''; DROP TABLE t; --'"
    assert read_only_problem(mysql_two, "postgresql") is None
    assert "single statement" in (read_only_problem(mysql_two, "mysql") or "")
    assert "single statement" in (read_only_problem(mysql_two, None) or "")   # unknown engine: both readings
    # '#' starts a comment in MySQL; in PostgreSQL it is an operator and the ; after it counts.
    pg_two = "SELECT 1 # 2; DROP TABLE t"
    assert read_only_problem(pg_two, "mysql") is None
    assert "single statement" in (read_only_problem(pg_two, "postgresql") or "")
    assert "single statement" in (read_only_problem(pg_two, "duckdb") or "")


def test_mysql_style_quotes() -> None:
    assert read_only_problem('SELECT "a;b", `odd;name` FROM t', "bigquery") is None
    assert read_only_problem("SELECT 'C:\\\\path;' AS p", "mysql") is None
    assert "single statement" in (read_only_problem("SELECT `a`; DELETE FROM t", "databricks") or "")


def test_the_query_text_is_never_quoted() -> None:
    secret = "DROP TABLE secret_name_42"
    problem = read_only_problem(f"SELECT 1; {secret}")
    assert problem is not None and "secret_name_42" not in problem


def test_a_huge_query_is_refused_without_reading_it() -> None:
    assert "longer than" in (read_only_problem("SELECT " + "1," * 600_000 + "1") or "")
