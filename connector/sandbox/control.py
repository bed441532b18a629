"""The sandbox's control endpoints under /_sandbox/ (no auth, loopback clients only)."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import parse_qs

from ..errors import ConfigError
from . import reads
from .core import App, BadJson, Reply, parse_json


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback addresses."""
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def _reset(app: App, body: dict[str, Any]) -> Reply:
    data = body.get("data", False)
    if not isinstance(data, bool):
        return Reply(400, {"message": "'data' must be true or false"})
    app.faults.clear()
    app.limits.refill()
    if data:
        if app.store is not None:
            app.store.clear()
        app.stats.clear()
    return Reply(200, {"message": "reset", "data": data})


def handle(app: App, method: str, path: str, query: str, client: str, raw: bytes) -> Reply:
    """Answer GET/POST on /_sandbox/faults, /reset, /stats, /merges/apply and the read-only logs."""
    if not is_loopback(client):
        return Reply(403, {"message": "the control endpoint answers loopback clients only"})
    try:
        body = parse_json(raw) if raw.strip() else {}
    except BadJson:
        return Reply(400, {"message": "Received unparsable JSON body"})
    if not isinstance(body, dict):
        return Reply(400, {"message": "The body must be a JSON object"})
    args = {k: v[0] for k, v in parse_qs(query).items()}
    store = app.store
    if method == "GET" and path == "/_sandbox/faults":
        return Reply(200, app.faults.snapshot())
    if method == "POST" and path == "/_sandbox/faults":
        try:
            app.faults.set(**body)
        except ConfigError as exc:
            return Reply(400, {"message": str(exc)})
        return Reply(200, app.faults.snapshot())
    if method == "POST" and path == "/_sandbox/reset":
        return _reset(app, body)
    if method == "GET" and path == "/_sandbox/stats":
        return Reply(200, app.stats.snapshot())
    if method == "GET" and path == "/_sandbox/received":
        return Reply(200, store.received(args.get("path")) if store else [])
    if method == "GET" and path == "/_sandbox/requests":
        return Reply(200, store.requests(args.get("path")) if store else [])
    if method == "POST" and path == "/_sandbox/merges/apply":
        return Reply(200, {"applied": app.merges.apply() if app.merges else 0})
    if method == "GET" and store is not None and path in READS:
        return Reply(200, READS[path](store, args))
    if method == "GET" and path in READS:
        return Reply(200, [])
    return Reply(404, {"message": "no such control endpoint"})


READS = {
    "/_sandbox/users": lambda store, args: list(reads.iter_profiles(store)),
    "/_sandbox/subscriptions": lambda store, args: reads.subscriptions(store, args.get("group_id")),
    "/_sandbox/merges": lambda store, args: reads.merges(store),
    "/_sandbox/renames": lambda store, args: reads.renames(store),
}
