"""The rules of what a run reports outward, beside its rows: the sync log's database and tables, the
notice's URL. Part of `connector/config/rules.py`'s RULES, kept apart to keep each module small."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from connector.config.endpoint import is_loopback
from connector.config.sqlurl import HINT, url_problem

SYNC_LOG_HINT = "an SQLAlchemy URL such as sqlite:///sync-log.db or postgresql+psycopg://user:password@host:5432/db"
_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?")


def sync_log_rule(data: Mapping[str, Any]) -> list[str]:
    """The sync log: one of url and url_file, an SQLAlchemy URL, two distinct plain table names."""
    raw = data.get("sync_log")
    if not isinstance(raw, Mapping):
        return []
    problems: list[str] = []
    if "url" in raw and "url_file" in raw:
        problems.append("sync_log.url_file: give url or url_file, not both")
    elif "url" not in raw and "url_file" not in raw:
        problems.append("sync_log.url: is required (or sync_log.url_file)")
    url = raw.get("url")
    if isinstance(url, str) and url and (problem := url_problem(url)):
        problems.append(f"sync_log.url: {problem.replace(HINT, SYNC_LOG_HINT)}")
    tables = [raw.get(key, default) for key, default in (("table", "braze_sync_log"), ("runs_table", "braze_sync_runs"))]
    for key, name in zip(("table", "runs_table"), tables):
        if isinstance(name, str) and name and not _TABLE.fullmatch(name):
            problems.append(f"sync_log.{key}: must be a table name of letters, digits and _ (or schema.table), "
                            f"up to 63 characters each")
    if isinstance(tables[0], str) and isinstance(tables[1], str) and tables[0].lower() == tables[1].lower():
        problems.append("sync_log.runs_table: must differ from sync_log.table")
    return problems


def webhook_problem(url: str) -> str | None:
    """Why a notice may not be posted to url (never quoting it, it may hold a token); None if it may."""
    try:
        parts = urlsplit(url)
        parts.port
    except ValueError:
        return "is not a valid URL"
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in ("https", "http") or not host:
        return "must be an https URL"
    if "@" in parts.netloc:
        return "must not contain credentials (user:password@); the notice is signed with notify.secret"
    if scheme == "http" and not is_loopback(host):
        return "must use https (plain http is only allowed for loopback hosts)"
    if parts.fragment or any(ch.isspace() or not ch.isprintable() for ch in url):
        return "must not contain a fragment, spaces or control characters"
    return None


def notify_rule(data: Mapping[str, Any]) -> list[str]:
    """The notice's URL keeps the endpoint's host rules: https, or plain http to a loopback host."""
    raw = data.get("notify")
    url = raw.get("url") if isinstance(raw, Mapping) else None
    if not isinstance(url, str) or not url:
        return []
    problem = webhook_problem(url.strip())
    return [f"notify.url: {problem}"] if problem else []
