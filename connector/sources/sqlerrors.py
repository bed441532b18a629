"""A driver's exception turned into one line in our own words that holds no secret.

Drivers often quote the DSN, the user or the password in their messages, so a connection error
is said from our words only (what went wrong, chosen by reading the driver's text, and where:
engine, host, port, database). A query error adds the server's own message (what it says about
the query: `syntax error at or near "SELEC"`), scrubbed of the URL's secrets and cut short.
"""

from __future__ import annotations

from connector.errors import InputError
from connector.config.sqlurl import Target

MAX_SERVER_TEXT = 300
_CONNECT_REASONS = (   # (words in the driver's text, lower-cased; what we say)
    (("password authentication failed", "authentication failed", "access denied", "invalid username",
      "incorrect username", "invalid password", "login failed", "unauthorized", "401"),
     "the user name or password was refused"),
    (("no pg_hba.conf entry",), "the server does not accept this user from this host (pg_hba.conf)"),
    (("does not exist", "unknown database"), "the database does not exist"),
    (("connection refused",), "the connection was refused (is the server running and listening on that port?)"),
    (("could not translate host name", "failed to resolve host", "name or service not known",
      "nodename nor servname", "temporary failure in name resolution", "getaddrinfo"),
     "the host name could not be resolved"),
    (("timeout", "timed out"), "the connection timed out"),
    (("ssl", "tls", "certificate"), "the TLS (SSL) connection failed"),
    (("too many connections", "remaining connection slots"), "the server has no connection slot left"),
)
_TIMEOUT_WORDS = ("statement timeout", "exceeded_time_limit", "exceeded the maximum", "query_max_run_time",
                  "statement_timeout", "timeout")


def _driver_error(exc: BaseException) -> BaseException:
    """The driver's own exception under SQLAlchemy's wrapper."""
    return getattr(exc, "orig", None) or exc


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE a driver attached (psycopg: sqlstate, psycopg2: pgcode), if any."""
    orig = _driver_error(exc)
    for name in ("sqlstate", "pgcode"):
        value = getattr(orig, name, None)
        if isinstance(value, str) and value:
            return value
    return None


def server_text(exc: BaseException, target: Target) -> str:
    """What the server said about the query: its primary message where the driver has it, else
    the first line of the driver's message; scrubbed of secrets and cut to MAX_SERVER_TEXT."""
    orig = _driver_error(exc)
    diag = getattr(orig, "diag", None)
    text = getattr(diag, "message_primary", None) if diag is not None else None
    if not isinstance(text, str) or not text:
        text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    text = target.scrub(text)
    return text if len(text) <= MAX_SERVER_TEXT else text[: MAX_SERVER_TEXT - 3] + "..."


def connect_error(exc: BaseException, target: Target) -> InputError:
    """The database could not be reached or refused us: one line naming where, never the URL."""
    text = str(_driver_error(exc)).lower()
    state = sqlstate(exc) or ""
    reason = "the user name or password was refused" if state.startswith("28") else None
    if reason is None:
        reason = next((said for words, said in _CONNECT_REASONS if any(w in text for w in words)), None)
    if reason is None:
        reason = f"the connection failed ({type(_driver_error(exc)).__name__})"
    return InputError(f"cannot connect to the database ({target.where()}): {reason}")


def query_error(exc: BaseException, target: Target, timeout_s: int, after_row: int | None = None) -> InputError:
    """The query failed (or timed out, or tried to write): one line, the server's words scrubbed."""
    state = sqlstate(exc)
    said = server_text(exc, target)
    lowered = said.lower()
    when = f" after row {after_row}" if after_row else ""
    code = f" (SQLSTATE {state})" if state else ""
    if state == "57014" and "timeout" in lowered or (state is None and any(w in lowered for w in _TIMEOUT_WORDS)):
        return InputError(f"the query was cancelled{when}: it ran longer than input.query_timeout_seconds "
                          f"({timeout_s} s) ({target.where()})")
    if state == "25006":
        return InputError(f"the query tried to write and the read-only transaction refused it{when}: {said}")
    if state == "42501":
        return InputError(f"the query was refused{when}: permission denied: {said}")
    return InputError(f"the query failed{when} ({target.where()}): {said}{code}")
