"""`braze-export sandbox show`: print what a sandbox stored, as a user would see it in Braze."""

from __future__ import annotations

import json
import os
from typing import Any, TextIO

from ..errors import ConfigError
from .store import Store, dumps


def open_store(path: str) -> Store:
    """The store of an existing sandbox database file."""
    if not os.path.isfile(path):
        raise ConfigError(f"no sandbox database at {path} (start `braze-export sandbox --db {path}` first)")
    return Store(path)


def _brief(profile: dict[str, Any], with_events: bool) -> dict[str, Any]:
    out = dict(profile)
    if not with_events:
        out["events"] = len(profile["events"])
        out["purchases"] = len(profile["purchases"])
    return out


def _name(profile: dict[str, Any]) -> str:
    if profile["external_id"] is not None:
        return f"external_id {profile['external_id']}"
    if profile["aliases"]:
        alias = profile["aliases"][0]
        return f"alias {alias['alias_label']}:{alias['alias_name']}"
    if profile["email"]:
        return f"email {profile['email']}"
    return f"braze_id {profile['braze_id']}"


def _action(item: dict[str, Any], kind: str) -> str:
    if kind == "event":
        text = f"{item.get('time', '?')}  {item.get('name', '?')}"
    else:
        text = (f"{item.get('time', '?')}  {item.get('product_id', '?')}  {item.get('price')} "
                f"{item.get('currency', '')} x{item.get('quantity', 1)}")
    if item.get("properties"):
        text += f"  {dumps(item['properties'])}"
    return f"    {text}"


def write_profile(profile: dict[str, Any], with_events: bool, out: TextIO) -> None:
    """One profile as text: identifiers, aliases, attributes, and its events and purchases."""
    out.write(f"\n{_name(profile)}  (braze_id {profile['braze_id']})\n")
    if profile["aliases"]:
        names = ", ".join(f"{a['alias_label']}:{a['alias_name']}" for a in profile["aliases"])
        out.write(f"  aliases: {names}\n")
    for key in ("email", "phone"):
        if profile[key]:
            out.write(f"  {key}: {profile[key]}\n")
    attrs = {k: v for k, v in profile["attributes"].items() if k not in ("email", "phone")}
    out.write("  attributes:" + ("" if attrs else " (none)") + "\n")
    for key in sorted(attrs):
        out.write(f"    {key}: {dumps(attrs[key])}\n")
    out.write(f"  events: {len(profile['events'])}, purchases: {len(profile['purchases'])}\n")
    if with_events:
        for event in profile["events"]:
            out.write(_action(event, "event") + "\n")
        for purchase in profile["purchases"]:
            out.write(_action(purchase, "purchase") + "\n")


def show(db: str, user: str | None, with_events: bool, as_json: bool, out: TextIO) -> int:
    """Print the summary and the profiles (or one by external_id); 1 when that user is not there."""
    store = open_store(db)
    try:
        counts = store.counts()
        summary = {"profiles": counts["profiles"], "events": counts["events"], "purchases": counts["purchases"],
                   "requests": counts["requests"], "objects_received": counts["received"]}
        if user is not None:
            pid = store.find_profile(external_id=user)
            profile = store.profile(pid) if pid is not None else None
            profiles = [profile] if profile else []
        else:
            profiles = store.profiles()
    finally:
        store.close()
    if as_json:
        out.write(json.dumps({"summary": summary, "users": [_brief(p, with_events) for p in profiles]},
                             indent=2, ensure_ascii=False) + "\n")
    else:
        out.write(f"{db}: {summary['profiles']} profiles, {summary['events']} events, "
                  f"{summary['purchases']} purchases ({summary['requests']} requests, "
                  f"{summary['objects_received']} objects received)\n")
        for profile in profiles:
            write_profile(profile, with_events, out)
    if user is not None and not profiles:
        if not as_json:
            out.write(f"\nno profile with external_id {user}\n")
        return 1
    return 0
