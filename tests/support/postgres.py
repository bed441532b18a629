"""A real PostgreSQL server for the tests: initdb + pg_ctl in a temp folder, loopback TCP only.

The server runs as an unprivileged system user when the tests run as root (PostgreSQL refuses
root): `postgres` where Debian's package created it, else `nobody`. It listens on 127.0.0.1 on a
free port (password auth, scram-sha-256) and on a unix socket in its own folder (trust, for the
fixture's own setup). No test connects anywhere else.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from support.ports import free_port

SUPERUSER = "postgres"
READER, READER_PASSWORD = "reader", "rd-S3cret-Pw-91f2"   # the role the product connects as
DATABASE = "braze_test"
START_TIMEOUT_S = 60
_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=30",
             "listen_addresses=127.0.0.1", "unix_socket_permissions=0777")


class PostgresMissing(RuntimeError):
    """The server binaries are not installed (Debian: apt-get install postgresql)."""


def bin_dir() -> Path:
    """The newest /usr/lib/postgresql/N/bin holding initdb, else the folder of initdb on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise PostgresMissing("PostgreSQL's initdb was not found: install Debian's postgresql package "
                          "(.ci/run does: apt-get install postgresql)")


def _server_user() -> pwd.struct_passwd | None:
    """Whom the server runs as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresMissing("running as root, and neither a postgres nor a nobody user exists to run the server")


@dataclass(frozen=True)
class Postgres:
    """A running server: where it listens, and helpers to reach it."""

    folder: Path
    port: int
    socket_dir: str
    host: str = "127.0.0.1"

    def url(self, *, user: str = READER, password: str | None = READER_PASSWORD, database: str = DATABASE,
            driver: str = "postgresql+psycopg", port: int | None = None, query: str = "") -> str:
        """An SQLAlchemy URL over TCP to this server (the password quoted as URLs need)."""
        auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password is not None else "")
        tail = f"?{query}" if query else ""
        return f"{driver}://{auth}@{self.host}:{port or self.port}/{database}{tail}"

    def connect(self, database: str = DATABASE) -> psycopg.Connection[Any]:
        """A superuser connection over the unix socket (autocommit), for setup and checks."""
        return psycopg.connect(host=self.socket_dir, port=self.port, user=SUPERUSER, dbname=database,
                               autocommit=True)

    def execute(self, statements: str | Sequence[str], database: str = DATABASE) -> None:
        """Run statements as the superuser."""
        with self.connect(database) as conn:
            for statement in [statements] if isinstance(statements, str) else statements:
                conn.execute(statement)

    def query(self, statement: str, database: str = DATABASE) -> list[tuple[Any, ...]]:
        """The rows of one query, as the superuser."""
        with self.connect(database) as conn:
            return conn.execute(statement).fetchall()


def _run(args: Sequence[str], user: pwd.struct_passwd | None, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    ids: dict[str, Any] = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []} if user else {}
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8",
           "HOME": kwargs.pop("home")}
    return subprocess.run(list(args), capture_output=True, text=True, env=env, cwd=env["HOME"],
                          timeout=START_TIMEOUT_S, **ids, **kwargs)


def _initdb(binaries: Path, folder: Path, user: pwd.struct_passwd | None) -> Path:
    data = folder / "data"
    done = _run([str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER, "-E", "UTF8", "--locale=C.UTF-8",
                 "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"], user, home=str(folder))
    if done.returncode != 0:
        raise RuntimeError(f"initdb failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    return data


def _start(binaries: Path, folder: Path, data: Path, user: pwd.struct_passwd | None) -> int:
    """Start the server on a free port (a few tries, in case another process takes the port first)."""
    options = " ".join(f"-c {setting}" for setting in _SETTINGS)
    failure = ""
    for _ in range(5):
        port = free_port()
        done = _run([str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w",
                     "-t", str(START_TIMEOUT_S), "-o", f"{options} -p {port} -k {folder}", "start"],
                    user, home=str(folder))
        if done.returncode == 0:
            return port
        failure = (folder / "server.log").read_text(errors="replace")[-2000:] + done.stderr[-500:]
    raise RuntimeError(f"PostgreSQL did not start: {failure}")


def _setup(server: Postgres) -> None:
    server.execute([f"CREATE DATABASE {DATABASE}",
                    f"CREATE ROLE {READER} LOGIN PASSWORD '{READER_PASSWORD}'"], database="postgres")
    server.execute([f"GRANT ALL ON SCHEMA public TO {READER}"])


@contextlib.contextmanager
def running_postgres() -> Iterator[Postgres]:
    """A fresh server in a temp folder for the duration of the block; stopped and removed after."""
    binaries, user = bin_dir(), _server_user()
    # the server's user must reach the folder: as root, /tmp rather than a TMPDIR under /root
    folder = Path(tempfile.mkdtemp(prefix="braze-export-pg-", dir="/tmp" if user is not None else None))
    try:
        if user is not None:
            os.chown(folder, user.pw_uid, user.pw_gid)
        data = _initdb(binaries, folder, user)
        port = _start(binaries, folder, data, user)
        try:
            server = Postgres(folder, port, str(folder))
            _setup(server)
            yield server
        finally:
            _run([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], user, home=str(folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
