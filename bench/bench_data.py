"""Benchmark inputs: deterministic CSV files per case, written once per size and reused."""

from __future__ import annotations

import csv
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

Row = list[str]


@dataclass(frozen=True)
class Case:
    """One benchmark case: the export it runs, its CSV shape and the config around it."""

    name: str
    mode: str
    track_record_type: str | None
    header: tuple[str, ...]
    rows: Callable[[int, random.Random], Iterator[Row]]
    columns: dict[str, str] = field(default_factory=dict)   # input.columns: declared types
    per_request: int = 75                                  # objects per request (baseline)


_COUNTRIES = ("US", "DE", "FR", "JP", "GB", "BR", "IN", "CA")
_SOURCES = ("web", "ios", "android", "referral", "ads")
_FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Dennis", "Margaret", "Linus", "Guido")
_EVENTS = ("viewed_item", "added_to_cart", "played_song", "opened_app", "shared_link")
_PLANS = ("free", "plus", "pro")


def _attributes(n: int, rng: random.Random) -> Iterator[Row]:
    for i in range(1, n + 1):
        first = _FIRST[i % len(_FIRST)]
        yield [f"user-{i:08d}", f"{first.lower()}.{i}@example.com", first, rng.choice(_COUNTRIES),
               str(rng.randrange(0, 100_000)), "true" if rng.random() < 0.2 else "false", rng.choice(_SOURCES)]


def _events(n: int, rng: random.Random) -> Iterator[Row]:
    users = max(1, n // 10)   # ten events per user on average, so same-user order matters
    for i in range(1, n + 1):
        minute, second = divmod(i % 3600, 60)
        yield [f"user-{rng.randrange(users):08d}", rng.choice(_EVENTS), f"2024-05-01T10:{minute:02d}:{second:02d}Z",
               f"sku-{rng.randrange(10_000)}", str(rng.randrange(1, 10)), f"{rng.random() * 100:.2f}",
               rng.choice(_PLANS), rng.choice(_SOURCES)]


def _delete(n: int, rng: random.Random) -> Iterator[Row]:
    for i in range(1, n + 1):
        yield [f"user-{i:08d}"]


def _alias(n: int, rng: random.Random) -> Iterator[Row]:
    for i in range(1, n + 1):
        yield [f"anon-{i:08d}-{rng.randrange(1 << 30):x}", "crm_id"]


CASES: dict[str, Case] = {c.name: c for c in (
    Case("attributes", "user_track", "user_profile_attributes",
         ("external_id", "email", "first_name", "country", "loyalty_points", "is_vip", "signup_source"),
         _attributes, {"loyalty_points": "long", "is_vip": "boolean"}),
    Case("events", "user_track", "custom_events",
         ("external_id", "name", "time", "sku", "quantity", "amount", "plan", "channel"),
         _events, {"quantity": "long", "amount": "double"}),
    Case("delete", "user_delete", None, ("external_id",), _delete, per_request=50),
    Case("alias", "user_new_alias", None, ("alias_name", "alias_label"), _alias, per_request=50),
)}


def data_path(out: Path, case: Case, rows: int) -> Path:
    return out / f"{case.name}-{rows}.csv"


def write_rows(path: Path, case: Case, rows: int, seed: int = 6) -> Path:
    """Write `rows` data rows (plus the header) to `path` atomically; return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(case.header)
        writer.writerows(case.rows(rows, random.Random(seed)))
    os.replace(tmp, path)
    return path


def ensure_data(out: Path, case: Case, rows: int) -> Path:
    """The case's file of `rows` rows, generated only when it is not already there."""
    path = data_path(out, case, rows)
    return path if path.exists() else write_rows(path, case, rows)
