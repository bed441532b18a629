"""Is a query one read-only SELECT/WITH statement? A pure check made before anything connects.

It reads the query as tokens (words and punctuation), skipping string literals, quoted names and
comments, so that a `;` or a keyword inside them does not count. Dialects disagree on what
quotes and comments are, so the query is read the way its engine reads it: the standard way
('...' with '' and E'...', "names", $tag$...$tag$, -- and nested /* */), or MySQL's/BigQuery's
('...' and "..." with backslash escapes, `names`, #, -- and /* */); an engine we do not know
must pass both readings.

What it refuses: anything but one statement (a trailing `;` is fine), a statement that does not
start with SELECT or WITH (parentheses may come first), SELECT ... INTO (creates a table in some
engines), locking clauses (FOR UPDATE / FOR SHARE / FOR NO KEY UPDATE / FOR KEY SHARE) and
data-modifying CTEs (WITH t AS (INSERT | UPDATE | DELETE | MERGE ...)). It is the first guard,
not the only one: where the engine has one, the query also runs in a read-only transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")
_DML = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "REPLACE", "TRUNCATE"})
_CTE_MODIFIERS = frozenset({"NOT", "MATERIALIZED"})
_LOCKS = (("UPDATE",), ("SHARE",), ("NO", "KEY", "UPDATE"), ("KEY", "SHARE"))
MAX_QUERY_CHARS = 1_000_000


@dataclass(frozen=True)
class Reading:
    """How one family of engines reads quotes and comments."""

    backslash: bool       # \ escapes the next character in '...' (and "..." when those are strings)
    mysql_quotes: bool    # "..." is a string and `...` a name (else "..." is a name)
    hash_comments: bool   # # starts a comment to the end of the line
    dollar_strings: bool  # $tag$ ... $tag$ is a string
    nested_comments: bool


STANDARD = Reading(backslash=False, mysql_quotes=False, hash_comments=False, dollar_strings=True, nested_comments=True)
MYSQL = Reading(backslash=True, mysql_quotes=True, hash_comments=True, dollar_strings=False, nested_comments=False)
_READINGS = {
    **{name: (STANDARD,) for name in ("postgresql", "redshift", "trino", "duckdb", "sqlite", "mssql", "oracle")},
    **{name: (MYSQL,) for name in ("mysql", "mariadb", "bigquery", "databricks", "hive", "spark", "snowflake")},
}


class _Unclosed(ValueError):
    """A string, quoted name or comment that never ends."""


def _skip_string(query: str, i: int, quote: str, backslash: bool) -> int:
    """The index after the literal that starts at query[i] (the opening quote)."""
    j, n = i + 1, len(query)
    while j < n:
        ch = query[j]
        if backslash and ch == "\\":
            j += 2
            continue
        if ch == quote:
            if j + 1 < n and query[j + 1] == quote:  # a doubled quote stands for itself
                j += 2
                continue
            return j + 1
        j += 1
    raise _Unclosed(quote)


def _skip_block_comment(query: str, i: int, nested: bool) -> int:
    depth, j, n = 0, i, len(query)
    while j < n:
        if query.startswith("/*", j) and (nested or depth == 0):
            depth, j = depth + 1, j + 2
        elif query.startswith("*/", j):
            depth, j = depth - 1, j + 2
            if depth == 0:
                return j
        else:
            j += 1
    raise _Unclosed("/*")


def tokens(query: str, reading: Reading) -> list[str]:
    """The words (upper-cased) and punctuation of query, literals and comments left out."""
    out: list[str] = []
    i, n = 0, len(query)
    quotes = "'\"`" if reading.mysql_quotes else "'\""
    while i < n:  # each pass consumes at least one character
        ch = query[i]
        if ch.isspace():
            i += 1
        elif query.startswith("--", i) or (ch == "#" and reading.hash_comments):
            end = query.find("\n", i)
            i = n if end < 0 else end + 1
        elif query.startswith("/*", i):
            i = _skip_block_comment(query, i, reading.nested_comments)
        elif ch in quotes:
            is_string = ch == "'" or (ch == '"' and reading.mysql_quotes)
            escaped = is_string and (reading.backslash or (ch == "'" and i > 0 and query[i - 1] in "eE"))
            i = _skip_string(query, i, ch, escaped)
            out.append("'" if is_string else "name")
        elif ch == "$" and reading.dollar_strings and (tag := _DOLLAR_TAG.match(query, i)):
            end = query.find(tag.group(), tag.end())
            if end < 0:
                raise _Unclosed(tag.group())
            out.append("'")
            i = end + len(tag.group())
        elif word := _WORD.match(query, i):
            out.append(word.group().upper())
            i = word.end()
        else:
            out.append(ch)
            i += 1
    return out


def _problem_in(words: list[str]) -> str | None:
    while words and words[-1] == ";":
        words = words[:-1]
    if not words:
        return "the query is empty"
    if ";" in words:
        return "the query must be a single statement (it has more than one, separated by ;)"
    first = next((w for w in words if w != "("), "")
    if first not in ("SELECT", "WITH"):
        return "the query must be one SELECT or WITH statement"
    for i, word in enumerate(words):
        if word == "FOR" and any(tuple(words[i + 1:i + 1 + len(lock)]) == lock for lock in _LOCKS):
            return "the query must only read: FOR UPDATE / FOR SHARE lock rows"
        if word == "AS" and _modifying_cte(words, i + 1):
            return "the query must only read: a WITH clause holds INSERT, UPDATE, DELETE or MERGE"
    if "INTO" in words:
        return "the query must only read: SELECT ... INTO writes a table"
    return None


def _modifying_cte(words: list[str], i: int) -> bool:
    """Whether words[i:] is `[NOT] [MATERIALIZED] ( INSERT|UPDATE|DELETE|MERGE ...`."""
    while i < len(words) and words[i] in _CTE_MODIFIERS:
        i += 1
    return i + 1 < len(words) and words[i] == "(" and words[i + 1] in _DML


def read_only_problem(query: str, backend: str | None = None) -> str | None:
    """Why `query` is not one read-only SELECT/WITH statement for that engine (a dialect name
    such as postgresql or mysql; None or unknown: every reading), in our words; None when it is."""
    if len(query) > MAX_QUERY_CHARS:
        return f"the query is longer than {MAX_QUERY_CHARS:,} characters"
    for reading in _READINGS.get(backend or "", (STANDARD, MYSQL)):
        try:
            words = tokens(query, reading)
        except _Unclosed as exc:
            return f"the query has an unclosed {exc} (a string, quoted name or comment that never ends)"
        problem = _problem_in(words)
        if problem is not None:
            return problem
    return None


def is_ordered(query: str, backend: str | None = None) -> bool:
    """Whether the statement's own result is ordered: an ORDER BY outside any parentheses (one in
    a subquery or a window's OVER (...) orders nothing of what the query returns)."""
    reading = _READINGS.get(backend or "", (STANDARD,))[0]
    try:
        words = tokens(query, reading)
    except _Unclosed:
        return False
    depth = 0
    for word, after in zip(words, words[1:]):
        depth += (word == "(") - (word == ")")
        if depth == 0 and word == "ORDER" and after == "BY":
            return True
    return False


def order_note(spec: Any, backend: str | None = None) -> str | None:
    """A warning for an sql input kept in a state_file whose query does not order its rows."""
    if spec.format != "sql" or not spec.query or is_ordered(spec.query, backend):
        return None
    return ("input.query has no ORDER BY: with a state_file, a run that stopped half-way resumes only on "
            "the same rows in the same order, and a query without an ORDER BY on a unique key may return "
            "them in another (docs/resume.md, \"SQL queries\")")
