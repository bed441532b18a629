"""The config form in a real browser: the page built from tests/form/page, served on 127.0.0.1, Debian's chromium.

The page is react-jsonschema-form over what `braze-export spec` and `spec --ui` print, bundled by esbuild
into a temp folder at the start of the session (npm ci from the committed lock file; nothing is committed
but the sources). Chromium is /usr/bin/chromium (`.ci/run` installs it), driven by Playwright, never a
browser download.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PAGE = Path(__file__).resolve().parent / "page"
ROOT = PAGE.parents[2]
CHROMIUM = os.environ.get("BRAZE_EXPORT_CHROMIUM", "/usr/bin/chromium")
# As the machine's probe ran it: no background traffic (this machine's network is closed), a fresh profile
# (Playwright gives each launch its own --user-data-dir).
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LATER_KEY = "zz_key_without_hints"      # what a key added to the schema without hints looks like


def _run(args: list[str], cwd: Path, timeout: float) -> str:
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _cli(*args: str) -> Any:
    """What the real command prints, parsed."""
    return json.loads(_run([sys.executable, "-m", "connector", *args], ROOT, 60))


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built page, with schema.json (spec), ui.json (spec --ui) and later.json (one more key, no hints)."""
    npm = shutil.which("npm")
    assert npm, "npm is not installed: .ci/run installs Node.js and npm (apt-get install nodejs npm)"
    build = tmp_path_factory.mktemp("form-build")
    for name in ("package.json", "package-lock.json", "index.html", "form.css"):
        shutil.copy(PAGE / name, build / name)
    shutil.copytree(PAGE / "src", build / "src")
    _run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"], build, 600)
    _run([npm, "run", "build"], build, 120)            # esbuild, as package.json says: dist/app.js
    out = build / "dist"
    for name in ("index.html", "form.css"):
        shutil.copy(build / name, out / name)
    schema = _cli("spec")
    (out / "schema.json").write_text(json.dumps(schema))
    (out / "ui.json").write_text(json.dumps(_cli("spec", "--ui")))
    later = json.loads(json.dumps(schema))
    later["properties"][LATER_KEY] = {"title": "A key added later", "type": "string", "order": 99,
                                      "description": "A key another change adds, with no hints."}
    (out / "later.json").write_text(json.dumps(later))
    return out


class _Handler(http.server.SimpleHTTPRequestHandler):
    disable_nagle_algorithm = True      # TCP_NODELAY on every connection

    def log_message(self, format: str, *args: Any) -> None:     # noqa: A002 - the base class's name
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


@pytest.fixture(scope="session")
def base_url(site: Path) -> Iterator[str]:
    """The page, served from its folder on 127.0.0.1 (a free port)."""
    server = _Server(("127.0.0.1", 0), functools.partial(_Handler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, driven by Playwright."""
    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing: .ci/run installs it (apt-get install chromium)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True,
                                              timeout=60_000)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def later_key() -> str:
    """The key later.json adds to the schema, with no hints."""
    return LATER_KEY


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: BRAZE_EXPORT_FORM_SHOTS if set (e.g. to refresh docs/), else the test's temp folder."""
    chosen = os.environ.get("BRAZE_EXPORT_FORM_SHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("form-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def open_form(browser: Any, base_url: str) -> Iterator[Any]:
    """open_form(schema="schema.json") -> a fresh page showing the form; no script error may occur on it."""
    contexts: list[Any] = []
    errors: list[str] = []

    def opener(schema: str = "schema.json") -> Any:
        context = browser.new_context(viewport={"width": 900, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{base_url}?schema={schema}")
        page.wait_for_selector("body[data-ready=true] [data-group]")
        return page

    yield opener
    for context in contexts:
        context.close()
    assert not errors, errors
