"""Smoke tests of the bench scripts: the generator's files, the baseline's counts, the summary (no timing)."""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import baseline  # noqa: E402
from bench_data import CASES, data_path, ensure_data, write_rows  # noqa: E402
from bench_measure import Measurement  # noqa: E402
from bench_sinks import Sink  # noqa: E402
from run import parse_sets, summarise, table  # noqa: E402


@pytest.mark.parametrize("name", sorted(CASES))
def test_generator_writes_n_rows_with_the_header(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    path = write_rows(tmp_path / "x.csv", case, 123)
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == case.header
    assert len(rows) == 124
    assert all(len(r) == len(case.header) for r in rows)


def test_attributes_file_has_seven_columns_with_typed_cells(tmp_path: Path) -> None:
    case = CASES["attributes"]
    assert len(case.header) == 7 and case.columns == {"loyalty_points": "long", "is_vip": "boolean"}
    with open(write_rows(tmp_path / "a.csv", case, 50), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert all(r["loyalty_points"].isdigit() and r["is_vip"] in ("true", "false") for r in rows)
    assert len({r["external_id"] for r in rows}) == 50


def test_events_have_five_properties() -> None:
    assert len(CASES["events"].header) - len(("external_id", "name", "time")) == 5


def test_generator_is_deterministic_and_cached(tmp_path: Path) -> None:
    case = CASES["events"]
    first = ensure_data(tmp_path, case, 40)
    assert first == data_path(tmp_path, case, 40)
    content = first.read_bytes()
    first.write_bytes(b"sentinel")          # a cached file is reused, not rewritten
    assert ensure_data(tmp_path, case, 40).read_bytes() == b"sentinel"
    assert write_rows(tmp_path / "again.csv", case, 40).read_bytes() == content


def test_baseline_objects_convert_the_typed_columns() -> None:
    rows = [{"external_id": "u1", "email": "a@x", "first_name": "A", "country": "US",
             "loyalty_points": "42", "is_vip": "true", "signup_source": "web"}]
    assert list(baseline.objects(CASES["attributes"], rows)) == [{**rows[0], "loyalty_points": 42, "is_vip": True}]
    event = {"external_id": "u1", "name": "e", "time": "2024-05-01T10:00:00Z", "sku": "s", "quantity": "3",
             "amount": "1.50", "plan": "pro", "channel": "web"}
    assert list(baseline.objects(CASES["events"], [event])) == [{
        "external_id": "u1", "name": "e", "time": "2024-05-01T10:00:00Z",
        "properties": {"sku": "s", "quantity": 3, "amount": 1.5, "plan": "pro", "channel": "web"}}]
    assert list(baseline.objects(CASES["delete"], [{"external_id": "u9"}])) == ["u9"]


@pytest.mark.parametrize("name,rows", [("attributes", 160), ("delete", 101)])
def test_baseline_loop_counts_rows_and_requests_against_a_real_sink(tmp_path: Path, name: str, rows: int) -> None:
    case = CASES[name]
    path = write_rows(tmp_path / "in.csv", case, rows)
    with Sink("sandbox", "k") as sink:
        result = baseline.run(case, str(path), sink.url, "k")
    first, answered, ok = sink.stats()
    sink.cleanup()
    requests = math.ceil(rows / case.per_request)
    assert (result["rows"], result["requests"], result["ok"]) == (rows, requests, requests)
    assert (answered, ok) == (requests, requests)
    assert first is not None


def _m(program: str, rate: float, rss: float, startup: float | None) -> Measurement:
    return Measurement(program, "attributes", 1000, rate, 1.0, 1000.0, rss, startup, 14, 0)


def test_summary_takes_medians_the_largest_rss_and_judges_the_targets() -> None:
    product = [_m("braze-export", r, rss, 0.2) for r, rss in ((200_000, 90), (100_000, 120), (300_000, 100))]
    base = [_m("baseline", r, 40, 0.1) for r in (50_000, 80_000, 90_000)]
    row = summarise("attributes", product, base)
    assert (row["rows_per_s"], row["baseline_rows_per_s"], row["ratio"]) == (200_000, 80_000, 2.5)
    assert row["peak_rss_mb"] == 120 and row["startup_s"] == 0.2
    assert row["targets_met"] == {"rows_per_s": True, "peak_rss": True, "startup": True, "ratio": True}
    slow = summarise("attributes", [_m("braze-export", 70_000, 200, None)], base[:1])
    assert slow["targets_met"] == {"rows_per_s": False, "peak_rss": False, "startup": False, "ratio": False}
    assert "rows_per_s,peak_rss,startup,ratio" in table([slow])


def test_set_values_are_parsed_as_json() -> None:
    assert parse_sets(["concurrency=4", "event_delivery=at_most_once", "x=true"]) == {
        "concurrency": 4, "event_delivery": "at_most_once", "x": True}
    with pytest.raises(SystemExit):
        parse_sets(["concurrency"])
