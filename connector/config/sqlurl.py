"""The sql input's URL: its engine, its driver extra, a safe description, and what must be hidden.

The URL holds the password (and for some engines a token as the user name or a query value), so
nothing here returns its text: a `Target` keeps the parts that may be shown (engine, driver,
host, port, database) apart from the secrets that every message is scrubbed of. SQLAlchemy is
imported only when a URL is parsed (`parse_target`); the checks made while a config is validated
(`url_problem`, `backend_of`) are pure.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from connector.errors import ConfigError

# engine (SQLAlchemy dialect name) -> the extra that installs its driver
EXTRAS = {
    "postgresql": "postgres", "trino": "trino", "snowflake": "snowflake", "bigquery": "bigquery",
    "redshift": "redshift", "databricks": "databricks", "duckdb": "duckdb",
}
_BACKEND_ALIASES = {"postgres": "postgresql", "pgsql": "postgresql"}
_DEFAULT_DRIVERS = {"postgresql": "psycopg"}   # the driver our [postgres] extra installs
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9_]*)(?:\+([A-Za-z0-9_]+))?://")
_SECRET_QUERY_KEYS = re.compile(r"pass|token|secret|key|credential|auth|private", re.IGNORECASE)
_URL_CREDENTIALS = re.compile(r"(\w[\w+.-]*://)[^\s/@]*@")
HINT = "an SQLAlchemy URL such as postgresql+psycopg://user:password@host:5432/database"


def url_problem(text: str) -> str | None:
    """Why text cannot be an SQLAlchemy URL, without quoting it; None when it may be one."""
    if not _SCHEME.match(text.strip()):
        return f"is not {HINT}"
    if any(ch.isspace() or not ch.isprintable() for ch in text.strip()):
        return "must not contain spaces or control characters (percent-encode them, e.g. %20)"
    return None


def backend_of(text: str) -> str | None:
    """The engine a URL names (postgresql, trino, duckdb, ...), lower-cased; None if not a URL."""
    match = _SCHEME.match(text.strip())
    if match is None:
        return None
    name = match.group(1).lower()
    return _BACKEND_ALIASES.get(name, name)


def repair(text: str) -> str:
    """Percent-encode the '/' and '@' that SQLAlchemy cannot take unencoded in the user name or
    password (a Treasure Data API key, used as the user name, holds a '/')."""
    text = text.strip()
    match = _SCHEME.match(text)
    if match is None:
        return text
    head, rest = text[: match.end()], text[match.end():]
    at = rest.rfind("@", 0, rest.find("?") if "?" in rest else len(rest))
    if at <= 0 or rest.startswith("/"):
        return text
    user, colon, password = rest[:at].partition(":")
    user = user.replace("@", "%40").replace("/", "%2F")
    password = password.replace("@", "%40")
    return head + user + colon + password + rest[at:]


@dataclass(frozen=True)
class Target:
    """What may be said of a database (engine, driver, host, port, database) and the secrets
    no message may hold (user name, password, secret-looking query values)."""

    backend: str
    driver: str
    host: str | None
    port: int | None
    database: str | None
    url: Any = field(repr=False)        # the sqlalchemy URL, to connect with; never shown
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def where(self) -> str:
        """'postgresql at db.example.com:5432, database app', for messages."""
        place = self.host or "local"
        if self.port is not None:
            place += f":{self.port}"
        words = f"{self.backend} at {place}"
        return words + (f", database {self.database}" if self.database else "")

    def scrub(self, text: str) -> str:
        """text with every secret of the URL (and any user:password@ of any URL) replaced by ***."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return _URL_CREDENTIALS.sub(r"\1***@", text)

    def describe(self, query: str | None) -> dict[str, Any]:
        """The input's safe identity: engine, driver, host, port, database and a hash of the query."""
        return {"format": "sql", "engine": self.backend, "driver": self.driver, "host": self.host,
                "port": self.port, "database": self.database, "query_sha256": query_hash(query)}


def query_hash(query: str | None) -> str | None:
    """The first 16 hex digits of the query's SHA-256 (its text exactly as configured)."""
    if query is None:
        return None
    return hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def missing_sqlalchemy(text: str) -> ConfigError:
    extra = EXTRAS.get(backend_of(text) or "", "postgres")
    return ConfigError(f"input.format sql needs SQLAlchemy and a driver for your engine: "
                       f"pip install 'braze-export[{extra}]' (or [trino], [snowflake], [bigquery], ...)")


def missing_driver(backend: str, key: str = "input.url") -> ConfigError:
    """The one line that names the extra to install for an engine whose driver is missing."""
    extra = EXTRAS.get(backend)
    if extra is not None:
        return ConfigError(f"{key}: the driver for {backend} is not installed: "
                           f"pip install 'braze-export[{extra}]'")
    if backend == "presto":
        return ConfigError(f"{key}: presto:// needs PyHive; Trino's client speaks to Presto too: "
                           "use trino://... with pip install 'braze-export[trino]'")
    return ConfigError(f"{key}: no SQLAlchemy dialect or driver is installed for {backend}; install the "
                       f"package SQLAlchemy documents for it (extras exist for: {', '.join(sorted(EXTRAS))})")


def parse_target(text: str, key: str = "input.url") -> Target:
    """Parse a URL with SQLAlchemy (imported here); ConfigError, never quoting it, when it is not one.
    `key` is the config key messages name."""
    try:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError
    except ImportError:
        raise missing_sqlalchemy(text) from None
    problem = url_problem(text)
    if problem is not None:
        raise ConfigError(f"{key}: {problem}")
    repaired = repair(text)
    try:
        url = make_url(repaired)
        port = url.port
    except (ArgumentError, ValueError):
        raise ConfigError(f"{key}: is not {HINT} (check the port, and percent-encode "
                          f"special characters in the password)") from None
    backend = _BACKEND_ALIASES.get(url.get_backend_name(), url.get_backend_name())
    driver = url.get_driver_name() if "+" in url.drivername else _DEFAULT_DRIVERS.get(backend, "")
    url = url.set(drivername=f"{backend}+{driver}" if driver else backend)
    secrets = [url.password, _raw_password(text.strip())] if url.password else []
    secrets += [str(v) for k, v in url.query.items() if _SECRET_QUERY_KEYS.search(k) and isinstance(v, str) and v]
    secrets += [_quoted(s) for s in secrets if _quoted(s) != s]
    if url.username and not url.password and backend == "trino":
        secrets += [url.username, _quoted(url.username)]   # Treasure Data's API key is the user name
    return Target(backend, driver or _default_driver(url), url.host, port,
                  url.database or None, url, tuple(s for s in dict.fromkeys(secrets) if s))


def _default_driver(url: Any) -> str:
    """The dialect's default driver, or "" when the dialect is not installed (found out on connecting)."""
    from sqlalchemy.exc import NoSuchModuleError

    try:
        return str(url.get_driver_name())
    except (NoSuchModuleError, ImportError):
        return ""


def _raw_password(text: str) -> str:
    """The password as written in the URL text, percent-encoding and all."""
    rest = text[_SCHEME.match(text).end():] if _SCHEME.match(text) else text   # type: ignore[union-attr]
    at = rest.rfind("@", 0, rest.find("?") if "?" in rest else len(rest))
    return rest[:at].partition(":")[2] if at > 0 else ""


def _quoted(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")
