"""Resolve the `endpoint` setting: Braze instance codes, the sandbox, and the rules a REST URL must meet."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from types import MappingProxyType
from urllib.parse import urlsplit

INSTANCES: Mapping[str, str] = MappingProxyType(
    {
        **{f"US-0{n}": f"https://rest.iad-0{n}.braze.com" for n in range(1, 9)},
        "US-10": "https://rest.us-10.braze.com",
        "EU-01": "https://rest.fra-01.braze.eu",
        "EU-02": "https://rest.fra-02.braze.eu",
        "AU-01": "https://rest.au-01.braze.com",
        "ID-01": "https://rest.id-01.braze.com",
        "JP-01": "https://rest.jp-01.braze.com",
        "KR-01": "https://rest.kr-01.braze.com",
    }
)
SANDBOX = "sandbox"
BRAZE_SUFFIXES = (".braze.com", ".braze.eu")
_CODE = re.compile(r"[A-Za-z]{2}-\d{2}")


class EndpointProblem(ValueError):
    """Why an endpoint is refused, in words that never quote the endpoint."""


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_braze_host(host: str) -> bool:
    """True when host is a real subdomain of braze.com or braze.eu."""
    host = host.removesuffix(".")
    return any(host.endswith(suffix) and len(host) > len(suffix) for suffix in BRAZE_SUFFIXES)


def resolve_endpoint(value: str, allow_custom: bool) -> str:
    """Return the base URL (no trailing slash) or "sandbox"; raise EndpointProblem when refused."""
    text = value.strip()
    if text.lower() == SANDBOX:
        return SANDBOX
    if text.upper() in INSTANCES:
        return INSTANCES[text.upper()]
    if _CODE.fullmatch(text):
        raise EndpointProblem("unknown Braze instance code; use one of " + ", ".join(INSTANCES))
    if "://" not in text:
        raise EndpointProblem("must be a Braze REST URL (https://...), an instance code such as US-01, or sandbox")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise EndpointProblem("is not a valid URL") from None
    if "@" in parts.netloc:
        raise EndpointProblem("must not contain credentials (user:password@); put the key in api_key")
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("https", "http"):
        raise EndpointProblem("must be an https URL")
    if not host:
        raise EndpointProblem("has no host")
    loopback = is_loopback(host)
    if scheme == "http" and not loopback:
        raise EndpointProblem("must use https (plain http is only allowed for loopback hosts)")
    if not (loopback or allow_custom or is_braze_host(host)):
        raise EndpointProblem(
            "the host is not a Braze REST host (*.braze.com or *.braze.eu); "
            "set allow_custom_endpoint: true to use another host"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise EndpointProblem("must be the base URL only, without a path, query or fragment")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return f"{scheme}://{netloc}"
