"""`braze-export sandbox show`: print what a sandbox stored, as a user would see it in Braze, streamed."""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, TextIO

from ..errors import ConfigError
from . import reads
from .store import Store, dumps

FLUSH_EVERY = 100


def open_store(path: str) -> Store:
    """The store of an existing sandbox database file."""
    if not os.path.isfile(path):
        raise ConfigError(f"no sandbox database at {path} (start `braze-export sandbox --db {path}` first)")
    return Store(path)


def _name(profile: dict[str, Any]) -> str:
    if profile["external_id"] is not None:
        return f"external_id {profile['external_id']}"
    if profile["aliases"]:
        alias = profile["aliases"][0]
        return f"alias {alias['alias_label']}:{alias['alias_name']}"
    for key in ("email", "phone"):
        if profile[key]:
            return f"{key} {profile[key]}"
    return f"braze_id {profile['braze_id']}"


def _count(value: Any) -> int:
    return len(value) if isinstance(value, list) else int(value)


def _action(item: dict[str, Any], kind: str) -> str:
    if kind == "event":
        text = f"{item.get('time', '?')}  {item.get('name', '?')}"
    else:
        text = (f"{item.get('time', '?')}  {item.get('product_id', '?')}  {item.get('price')} "
                f"{item.get('currency', '')} x{item.get('quantity', 1)}")
    if item.get("properties"):
        text += f"  {dumps(item['properties'])}"
    return f"    {text}"


def write_profile(profile: dict[str, Any], out: TextIO) -> None:
    """One profile as text: identifiers, aliases, attributes, subscription groups, events and purchases."""
    out.write(f"\n{_name(profile)}  (braze_id {profile['braze_id']})\n")
    if profile["deprecated_external_ids"]:
        out.write(f"  deprecated external_ids: {', '.join(profile['deprecated_external_ids'])}\n")
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
    if profile["subscriptions"]:
        out.write("  subscription groups:\n")
        for group, state in profile["subscriptions"].items():
            out.write(f"    {group}: {state}\n")
    out.write(f"  events: {_count(profile['events'])}, purchases: {_count(profile['purchases'])}\n")
    for kind, table in (("event", "events"), ("purchase", "purchases")):
        for item in profile[table] if isinstance(profile[table], list) else []:
            out.write(_action(item, kind) + "\n")


def _identifier(ident: dict[str, Any]) -> str:
    if "user_alias" in ident:
        return f"alias {ident['user_alias'].get('alias_label')}:{ident['user_alias'].get('alias_name')}"
    key = next(k for k in ("external_id", "email", "phone") if k in ident)
    return f"{key} {ident[key]}"


def write_merges(merges: list[dict[str, Any]], renames: list[dict[str, Any]], out: TextIO) -> None:
    """The merges received (with what became of each) and the external-id renames and removals."""
    if merges:
        out.write("\nmerges (in arrival order):\n")
    for m in merges:
        what = m["status"] + (f": {m['outcome']}" if m["outcome"] else "")
        if m["status"] == "merged":
            what += f" (braze_id {m['merged_braze_id']} into {m['kept_braze_id']})"
        out.write(f"  request {m['seq']} #{m['index']}: {_identifier(m['identifier_to_merge'])} -> "
                  f"{_identifier(m['identifier_to_keep'])}: {what}\n")
    if renames:
        out.write("\nexternal_id renames and removals (in order):\n")
    for r in renames:
        change = f"{r['old']} -> {r['new']}" if r["kind"] == "rename" else f"{r['old']} removed"
        out.write(f"  request {r['seq']}: {change}  (braze_id {r['braze_id']})\n")


def _summary(store: Store) -> dict[str, Any]:
    counts = store.counts()
    return {"profiles": counts["profiles"], "events": counts["events"], "purchases": counts["purchases"],
            "requests": counts["requests"], "objects_received": counts["received"], **reads.extra_counts(store)}


def _profiles(store: Store, user: str | None, with_events: bool, limit: int | None,
              offset: int) -> Iterable[dict[str, Any]]:
    if user is None:
        return reads.iter_profiles(store, with_events, limit, offset)
    pid = store.find_profile(external_id=user)
    found = reads.profile(store, pid, with_events) if pid is not None else None
    return [found] if found else []


def _stream_json(summary: dict[str, Any], profiles: Iterable[dict[str, Any]], store: Store, limit: int | None,
                 out: TextIO) -> int:
    out.write('{"summary": ' + json.dumps(summary) + ',\n "users": [')
    shown = 0
    for profile in profiles:
        out.write(("," if shown else "") + "\n  " + json.dumps(profile, ensure_ascii=False))
        shown += 1
        if shown % FLUSH_EVERY == 0:
            out.flush()
    out.write("\n ],\n \"merges\": " + json.dumps(reads.merges(store, limit), ensure_ascii=False) +
              ",\n \"renames\": " + json.dumps(reads.renames(store, limit), ensure_ascii=False) + "}\n")
    return shown


def show(db: str, user: str | None, with_events: bool, as_json: bool, out: TextIO, limit: int | None = None,
         offset: int = 0) -> int:
    """Print the summary, then the profiles one by one as they are read (or the one with that external_id),
    then the merges and renames; 1 when that user is not there."""
    if (limit is not None and limit < 0) or offset < 0:
        raise ConfigError("--limit and --offset take a number of profiles, 0 or more")
    store = open_store(db)
    try:
        summary = _summary(store)
        profiles = _profiles(store, user, with_events, limit, offset)
        if as_json:
            shown = _stream_json(summary, profiles, store, limit, out)
        else:
            out.write(f"{db}: {summary['profiles']} profiles, {summary['events']} events, "
                      f"{summary['purchases']} purchases ({summary['requests']} requests, "
                      f"{summary['objects_received']} objects received)\n")
            if summary["subscriptions"] or summary["merges"] or summary["deprecated_external_ids"]:
                out.write(f"  {summary['subscriptions']} subscription states, {summary['merges']} merges "
                          f"({summary['merges_pending']} pending), {summary['deprecated_external_ids']} "
                          "deprecated external_ids\n")
            out.flush()
            shown = 0
            for profile in profiles:
                write_profile(profile, out)
                shown += 1
                if shown % FLUSH_EVERY == 0:
                    out.flush()
            write_merges(reads.merges(store, limit), reads.renames(store, limit), out)
    finally:
        store.close()
    if user is not None and not shown:
        if not as_json:
            out.write(f"\nno profile with external_id {user}\n")
        return 1
    return 0
