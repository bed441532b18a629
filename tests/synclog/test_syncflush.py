"""One flush written three ways (packed, explicit, SQLAlchemy's executemany) gives the same rows, in
SQLite and in a real PostgreSQL, for every kind of user key and for values no database takes as is."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import uuid
from typing import Any

import pytest
import sqlalchemy

from connector.config.settings import Secret, SyncLogSettings
from connector.outcomes import Refusal, Settlement
from connector.synclog.syncdb import open_database
from connector.synclog.syncflush import Flush, _json, clean, compact, identifier, payloads, statement, write
from connector.rows import Entry

KEYS = ["external_id:u1", "external_id:a:b:c", "braze_id:b7", "email:x@example.com", "phone:+15550001",
        "alias:lab\x00name", "alias:l:a\x00n:m", None, "external_id:ü-ß-☕", "external_id:nul\x00inside"]
COMMON = {"run_id": "run-1", "mode": "user_track", "record_type": "user_profile_attributes"}


def _settlements(values: Any = None) -> list[Settlement]:
    entries = [Entry(n, values if values is not None else {"n": n}, None, None, key) for n, key in enumerate(KEYS, 1)]
    return [Settlement(delivered=entries[:7], attempts=2, sent_at=1_700_000_000.25, answered_at=1_700_000_001.5),
            Settlement(delivered=entries[7:8]),      # no request: delivered by an earlier run
            Settlement(refused=[Refusal("rejected", entries[8], "rejected by Braze: BAD", "BAD"),
                                Refusal("failed", entries[9], "HTTP 500 from Braze")], attempts=1,
                       sent_at=1_700_000_002.0, answered_at=1_700_000_003.0)]


def _flush(backend: str, include_values: bool, values: Any = None) -> Flush:
    flush = Flush(backend, include_values)
    for s in _settlements(values):
        flush.add(compact(s, lambda e: None, include_values))
    return flush


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'log.db'}"
    else:
        url = request.getfixturevalue("postgres").url()
    name = f"t_{uuid.uuid4().hex[:8]}"
    db = open_database(SyncLogSettings(Secret(url), table=name, runs_table=f"{name}_runs"))
    db.ensure_tables()
    yield db
    with db.engine.begin() as conn:
        conn.execute(sqlalchemy.text(f"DROP TABLE {name}"))
        conn.execute(sqlalchemy.text(f"DROP TABLE {name}_runs"))
    db.close()


def _written(db, form: str, include_values: bool, values: Any = None) -> list[tuple]:
    flush = _flush(db.target.backend, include_values, values)
    run_id = f"run-{form}"
    common = {**COMMON, "run_id": run_id}
    with db.engine.connect() as conn, conn.begin():
        if form == "packed":
            write(db, conn, common, flush)
        elif form == "explicit":
            rows, groups = _json(clean(flush.explicit())), payloads(flush)[2]
            conn.execute(sqlalchemy.text(statement(db, True, include_values)), {**common, "rows": rows, "groups": groups})
        else:
            write(dataclasses.replace(db, fast=False), conn, common, flush)
    with db.engine.connect() as conn:
        got = conn.execute(sqlalchemy.select(db.rows).where(db.rows.c.run_id == run_id).order_by(db.rows.c.row))
        return [tuple(r)[1:] for r in got]


@pytest.mark.parametrize("include_values", [False, True], ids=["keys", "values"])
def test_the_three_forms_write_the_same_rows(database, include_values: bool) -> None:
    packed, explicit, generic = (_written(database, form, include_values) for form in ("packed", "explicit", "generic"))
    assert packed == explicit == generic
    by_row = {r[0]: r for r in packed}
    assert [by_row[n][1:4] for n in range(1, 11)] == [
        ("external_id", "u1", None), ("external_id", "a:b:c", None), ("braze_id", "b7", None),
        ("email", "x@example.com", None), ("phone", "+15550001", None), ("user_alias", "name", "lab"),
        ("user_alias", "n:m", "l:a"), (None, None, None), ("external_id", "ü-ß-☕", None),
        ("external_id", "nul\ufffdinside" if not include_values else "nul\ufffdinside", None)]
    delivered, earlier, rejected, failed = by_row[1], by_row[8], by_row[9], by_row[10]
    assert delivered[6:10] == ("delivered", None, None, 2)
    assert earlier[6] == "delivered" and earlier[7].startswith("not sent in this run") and earlier[10] is None
    assert rejected[6:10] == ("rejected", "rejected by Braze: BAD", "BAD", 1)
    assert failed[6:10] == ("failed", "HTTP 500 from Braze", None, 1)
    sent = delivered[10]
    if isinstance(sent, str):
        sent = dt.datetime.fromisoformat(sent)
    if sent.tzinfo is None:                    # SQLite keeps UTC as text without an offset
        sent = sent.replace(tzinfo=dt.timezone.utc)
    assert sent.timestamp() == pytest.approx(1_700_000_000.25, abs=1e-3)
    values = [r[12] for r in packed]
    if include_values:
        assert [json.loads(v) for v in values] == [{"n": n} for n in range(1, 11)]
    else:
        assert values == [None] * 10


def test_values_no_database_takes_as_they_are_are_made_safe(database) -> None:
    odd = {"nan": math.nan, "inf": -math.inf, "nul": "a\x00b", "lone": "x\udcffy", "when": dt.date(2024, 5, 1)}
    packed, generic = (_written(database, form, True, odd) for form in ("packed", "generic"))
    assert packed == generic
    assert json.loads(packed[0][12]) == {"nan": "nan", "inf": "-inf", "nul": "a\ufffdb", "lone": "x\ufffd\ufffd\ufffdy",
                                         "when": "2024-05-01"}


def test_identifier_splits_the_key_forms() -> None:
    assert identifier("external_id:a:b") == ("external_id", "a:b", None)
    assert identifier("alias:label\x00name") == ("user_alias", "name", "label")
    assert identifier(None) == (None, None, None)


def test_a_plain_flush_is_packed_and_an_alias_needs_no_explicit_form() -> None:
    flush = Flush("sqlite", False)
    flush.add(compact(Settlement(delivered=[Entry(7, None, None, None, "external_id:u7"),
                                            Entry(8, None, None, None, "alias:l\x00n")], attempts=1), str, False))
    explicit, rows, _ = payloads(flush)
    assert not explicit and json.loads(rows) == ["0000007:external_id:u7", "0000008:alias:l\x1fn"]
    flush.add(compact(Settlement(delivered=[Entry(9, None, None, None, "alias:has\x1fus\x00n")], attempts=1),
                      str, False))
    assert payloads(flush)[0] is True           # U+001F already in a key: the explicit form
