"""Endpoint resolution: instance codes, the sandbox, and the URL rules."""

from __future__ import annotations

import pytest
from config_helpers import minimal, parse, problems_of

from connector.config import INSTANCES

EXPECTED_INSTANCES = {
    "US-01": "https://rest.iad-01.braze.com", "US-02": "https://rest.iad-02.braze.com",
    "US-03": "https://rest.iad-03.braze.com", "US-04": "https://rest.iad-04.braze.com",
    "US-05": "https://rest.iad-05.braze.com", "US-06": "https://rest.iad-06.braze.com",
    "US-07": "https://rest.iad-07.braze.com", "US-08": "https://rest.iad-08.braze.com",
    "US-10": "https://rest.us-10.braze.com", "EU-01": "https://rest.fra-01.braze.eu",
    "EU-02": "https://rest.fra-02.braze.eu", "AU-01": "https://rest.au-01.braze.com",
    "ID-01": "https://rest.id-01.braze.com", "JP-01": "https://rest.jp-01.braze.com",
    "KR-01": "https://rest.kr-01.braze.com",
}


def test_instance_table() -> None:
    assert dict(INSTANCES) == EXPECTED_INSTANCES


@pytest.mark.parametrize("code", ["US-03", "us-03", "Us-03"])
def test_instance_codes_are_case_insensitive(code: str) -> None:
    assert parse(minimal(endpoint=code)).endpoint == "https://rest.iad-03.braze.com"


def test_unknown_instance_code() -> None:
    (problem,) = problems_of(minimal(endpoint="US-09"))
    assert problem.startswith("endpoint: unknown Braze instance code; use one of US-01, US-02")


@pytest.mark.parametrize("value", ["sandbox", "SANDBOX"])
def test_sandbox_needs_no_key(value: str) -> None:
    settings = parse({"endpoint": value, "mode": "user_delete"})
    assert settings.endpoint == "sandbox" and settings.api_key is None


@pytest.mark.parametrize("url, resolved", [
    ("https://rest.iad-01.braze.com", "https://rest.iad-01.braze.com"),
    ("https://rest.iad-01.braze.com/", "https://rest.iad-01.braze.com"),
    ("HTTPS://REST.FRA-01.BRAZE.EU/", "https://rest.fra-01.braze.eu"),
    ("https://rest.iad-01.braze.com:443", "https://rest.iad-01.braze.com:443"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("http://127.5.4.3:1/", "http://127.5.4.3:1"),
    ("http://localhost:9000", "http://localhost:9000"),
    ("http://[::1]:9000/", "http://[::1]:9000"),
    ("https://localhost", "https://localhost"),
])
def test_accepted_urls(url: str, resolved: str) -> None:
    assert parse(minimal(endpoint=url)).endpoint == resolved


NOT_BRAZE = ("endpoint: the host is not a Braze REST host (*.braze.com or *.braze.eu); "
             "set allow_custom_endpoint: true to use another host")


@pytest.mark.parametrize("url, problem", [
    ("https://rest.iad-01.braze.com.example.org", NOT_BRAZE),
    ("https://braze.com", NOT_BRAZE),
    ("https://evilbraze.com", NOT_BRAZE),
    ("https://rest.iad-01.braze.co", NOT_BRAZE),
    ("https://proxy.example.org", NOT_BRAZE),
    ("http://rest.iad-01.braze.com", "endpoint: must use https (plain http is only allowed for loopback hosts)"),
    ("http://10.0.0.1:8080", "endpoint: must use https (plain http is only allowed for loopback hosts)"),
    ("ftp://rest.iad-01.braze.com", "endpoint: must be an https URL"),
    ("https://rest.iad-01.braze.com/api/v1", "endpoint: must be the base URL only, without a path, query or fragment"),
    ("https://rest.iad-01.braze.com/?x=1", "endpoint: must be the base URL only, without a path, query or fragment"),
    ("https://rest.iad-01.braze.com:99999", "endpoint: is not a valid URL"),
    ("rest.iad-01.braze.com", "endpoint: must be a Braze REST URL (https://...), an instance code such as US-01, or sandbox"),
    ("https://", "endpoint: has no host"),
])
def test_refused_urls(url: str, problem: str) -> None:
    assert problems_of(minimal(endpoint=url)) == (problem,)


@pytest.mark.parametrize("url", [
    "https://user:s3cr3t-pass@rest.iad-01.braze.com",
    "https://s3cr3t-pass@rest.iad-01.braze.com",
    "http://user:s3cr3t-pass@127.0.0.1:80",
])
def test_credentials_are_refused_and_never_echoed(url: str) -> None:
    (problem,) = problems_of(minimal(endpoint=url, allow_custom_endpoint=True))
    assert problem == "endpoint: must not contain credentials (user:password@); put the key in api_key"
    assert "s3cr3t" not in problem


def test_custom_endpoint_needs_the_flag_and_https() -> None:
    assert parse(minimal(endpoint="https://proxy.example.org", allow_custom_endpoint=True)).endpoint == (
        "https://proxy.example.org")
    assert problems_of(minimal(endpoint="http://proxy.example.org", allow_custom_endpoint=True)) == (
        "endpoint: must use https (plain http is only allowed for loopback hosts)",)
