"""Strategies for the property suite (configs, CSV and JSON Lines inputs as bytes, sandbox faults),
its settings profiles, and the in-process run of the real CLI (`connector.cli.main`).

HYPOTHESIS_PROFILE=ci (the default: a bounded number of examples, derandomised so that CI is
repeatable; about half a minute) or thorough (many more, random: for a local hunt)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, settings, strategies as st

from connector.cli import main

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("ci", max_examples=300, deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=_QUIET)
settings.register_profile("thorough", max_examples=3000, deadline=None, print_blob=True, suppress_health_check=_QUIET)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
PROCESS_EXAMPLES = 20       # of them as a subprocess (each ~0.5 s)

API_KEY = "property-test-key-8d41c0"
EXIT_CODES = {0, 1, 2, 3}
SETTLED = ("rows_delivered", "rows_skipped", "rows_rejected", "rows_failed")

MODES = {       # one row is one object in the sandbox's store in each of them
    "attributes": ({"mode": "user_track", "track_record_type": "user_profile_attributes"}, []),
    "events": ({"mode": "user_track", "track_record_type": "custom_events"}, ["name", "time"]),
    "purchases": ({"mode": "user_track", "track_record_type": "purchases"}, ["product_id", "currency", "price", "time"]),
}
IDENTIFIERS = [["external_id"], ["external_id"], ["braze_id"], ["alias_name", "alias_label"], ["email"], ["phone"]]
EXTRA = ["city", "score", "tags", "is_vip", "properties", "_update_existing_only", "quantity", "app_id", "n"]
BAD_HEADER = [[], ["", "city"], ["$bad"], ["city", "city"], ["\udcff"]]     # each a header error: exit 2
TYPES = ["string", "long", "double", "boolean", "timestamp", "json"]
DEEP = "[" * 300 + "]" * 300
CELLS = ["", "u1", "u2", "u3", "2024-05-01T10:00:00Z", "1714557600", "not a time", "12.5", "-3", "1e400", "NaN",
         "true", "no", "USD", "usd", "[1,2]", '{"a": 1, "b": [true]}', "[[[[", "+4915112345678", "a@example.com",
         "x" * 300, DEEP, "y" * 3000, 'say "hi", then\nleave', "\x00", "\ud800"]


def rarely() -> st.SearchStrategy[bool]:
    """True about once in 20 draws (an integer's 0 would be drawn far more often: Hypothesis likes it)."""
    return st.sampled_from([False] * 19 + [True])


def _cell(column: str = "") -> st.SearchStrategy[str]:
    fitting = st.sampled_from(FITTING.get(column, GOOD))
    return st.one_of(fitting, fitting, fitting, fitting, st.sampled_from(CELLS), st.text(max_size=12))


GOOD = ["u1", "u2", "u3", "u4", "2024-05-01T10:00:00Z", "12.5", "3", "USD", "Oslo", "true"]
FITTING = {     # a value each column takes, most of the time
    "external_id": ["u1", "u2", "u3", "u4", "u5"], "braze_id": ["5f0c2d9a7b3e4f1a2b3c4d5e"],
    "alias_name": ["a1", "a2"], "alias_label": ["crm"], "email": ["a@example.com", "b@example.org"],
    "phone": ["+4915112345678"], "name": ["played", "paid"], "time": ["2024-05-01T10:00:00Z", "2024-05-02T08:30:00+02:00"],
    "product_id": ["sku-1"], "currency": ["USD", "EUR"], "price": ["12.5", "3"], "quantity": ["1", "2"],
    "tags": ['["a", "b"]'], "properties": ['{"k": 1}'], "is_vip": ["true", "false"], "score": ["7", "7.5"],
}


def _json_value() -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                        st.sampled_from(CELLS))
    return st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                        max_leaves=8)


@st.composite
def headers(draw: st.DrawFn, required: list[str]) -> list[str]:
    columns = list(draw(st.sampled_from(IDENTIFIERS)))
    columns += [name for name in required if not draw(rarely())]      # now and then one is missing
    columns += draw(st.lists(st.sampled_from(EXTRA), max_size=3, unique=True))
    if draw(rarely()):
        columns = draw(st.sampled_from(BAD_HEADER)) + columns[:1] if columns else []
    return columns


@st.composite
def csv_input(draw: st.DrawFn, header: list[str], delimiter: str = ",") -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    for _ in range(draw(st.integers(1, 25))):
        width = len(header) + draw(st.sampled_from([0] * 18 + [-1, 1]))
        names = header + [""] * 2
        writer.writerow([draw(_cell(names[i])) for i in range(max(width, 0))])
    body = text.getvalue().encode("utf-8", "surrogatepass")
    return _spoil(draw, body)


@st.composite
def jsonl_input(draw: st.DrawFn, header: list[str]) -> bytes:
    lines = []
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(["row"] * 8 + ["value", "deep"]))
        if kind == "value":
            lines.append(json.dumps(draw(_json_value())))                      # not an object, maybe
        elif kind == "deep":
            lines.append('{"external_id": "u1", "a": ' + DEEP + "}")
        else:
            row = {name: draw(st.one_of(_cell(name), _cell(name), _cell(name), _json_value())) for name in header}
            lines.append(json.dumps(row, ensure_ascii=draw(st.booleans())))
    return _spoil(draw, "\n".join(lines).encode("utf-8", "surrogatepass") + b"\n")


def _spoil(draw: st.DrawFn, body: bytes) -> bytes:
    """Now and then: a garbage line (invalid UTF-8, NUL, a stray quote), or the input cut short."""
    if draw(st.sampled_from([False, False, False, True])):
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.sampled_from([b"\xff\xfe\n", b'"\n', b"\x00\x00\n", b"\n\n", b"{\n"])) + body[at:]
    if draw(st.sampled_from([False] * 9 + [True])):
        body = body[:draw(st.integers(0, len(body)))]
    return body


@st.composite
def configs(draw: st.DrawFn, fmt: str, header: list[str]) -> dict[str, Any]:
    config: dict[str, Any] = {
        "skip_on_invalid_records": draw(st.booleans()),
        "batch_size": draw(st.integers(1, 75)),
        "concurrency": draw(st.sampled_from([1, 2, "auto"])),
        "max_record_bytes": draw(st.sampled_from([1024, 2048, 4194304])),
        "null_values": draw(st.sampled_from(["skip", "unset"])),
        "update_existing_only": draw(st.booleans()),
        "maximum_retries": draw(st.integers(0, 2)),
        "initial_retry_interval_millis": 1, "maximum_retry_interval_millis": 5, "timeout_millis": 10_000,
        "requests_per_second": 500,
    }
    if draw(st.sampled_from([False, False, True])):
        config["pre_formatted_fields"] = draw(st.lists(st.sampled_from(["tags", "properties", "city"]), max_size=2))
    if fmt == "csv" and draw(st.booleans()):
        names = [name for name in header if name] or ["score"]
        config["input_columns"] = draw(st.dictionaries(st.sampled_from(names), st.sampled_from(TYPES), max_size=3))
    if draw(rarely()):
        config["batch_size"] = 0                    # a config error: exit 2, nothing sent
    return config


FAULTS = st.sampled_from([{}, {}, {}, {"fail_rate": 0.3, "fail_status": 500}, {"fail_rate": 0.2, "fail_status": 400}])


@dataclass
class Case:
    """One generated job: the mode, the input's format and bytes, the config, the sandbox's faults."""

    mode: str
    fmt: str
    data: bytes
    config: dict[str, Any]
    faults: dict[str, Any]

    def write(self, folder: Path, endpoint: str) -> None:
        (folder / f"in.{self.fmt}").write_bytes(self.data)
        config = {k: v for k, v in self.config.items() if k != "input_columns"}
        source = {"path": str(folder / f"in.{self.fmt}"), "format": self.fmt}
        if "input_columns" in self.config:
            source["columns"] = self.config["input_columns"]
        config.update(MODES[self.mode][0], endpoint=endpoint, api_key=API_KEY,
                      reject_file=str(folder / "rejected.jsonl"), input=source)
        (folder / "config.json").write_text(json.dumps(config))


@st.composite
def cases(draw: st.DrawFn) -> Case:
    mode = draw(st.sampled_from(sorted(MODES)))
    fmt = draw(st.sampled_from(["csv", "jsonl"]))
    header = draw(headers(MODES[mode][1]))
    data = draw(csv_input(header) if fmt == "csv" else jsonl_input(header))
    return Case(mode, fmt, data, draw(configs(fmt, header)), draw(FAULTS))


@dataclass
class Ran:
    code: int
    stderr: str
    report: dict[str, Any] | None
    rejected: list[dict[str, Any]]
    thread_errors: list[BaseException]


def run_in_process(folder: Path) -> Ran:
    """`braze-export run` in this process: the same main() as the command, minus the interpreter."""
    err = io.StringIO()
    errors: list[BaseException] = []
    hook = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)   # a thread's uncaught error fails the example
    try:
        with contextlib.redirect_stderr(err):
            code = main(["run", "--config", str(folder / "config.json"), "--report", str(folder / "report.json")])
    finally:
        threading.excepthook = hook
    report, rejected = outputs(folder)
    return Ran(code, err.getvalue(), report, rejected, errors)


def outputs(folder: Path) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The report (None when not written) and the rejected-rows file's lines of the run in `folder`."""
    report_path, reject_path = folder / "report.json", folder / "rejected.jsonl"
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    rejected = [json.loads(line) for line in reject_path.read_text().splitlines()] if reject_path.exists() else []
    return report, rejected


def check(ran: Ran, sandbox: Any) -> None:
    """What holds for any input and config: the documented end, and every row accounted for."""
    assert ran.thread_errors == [], ran.thread_errors
    assert ran.code in EXIT_CODES, ran.code
    assert "Traceback" not in ran.stderr, ran.stderr[-3000:]
    assert ran.report is not None, ran.stderr[-3000:]
    r = ran.report
    assert r["rows_read"] == sum(r[name] for name in SETTLED), r
    assert r["rows_delivered"] == len(sandbox.received()), (r, len(sandbox.received()))
    errors = [line for line in ran.stderr.splitlines() if line.startswith("braze-export: error: ")]
    if r.get("error"):          # a job error: its one line (rows that failed on their own have none)
        assert errors == [f"braze-export: error: {r['error']}"] and ran.code in (1, 2), ran.stderr[-3000:]
    else:
        assert errors == [] and ran.code in (0, 1, 3) and (ran.code == 1) is (r["rows_failed"] > 0), ran.stderr[-3000:]
    event(f"exit {ran.code}")
    event("rows delivered" if r["rows_delivered"] else "none delivered")
    event("rows skipped" if r["rows_skipped"] else "none skipped")
    event("rows rejected by Braze" if r["rows_rejected"] else "none rejected")
    assert len(ran.rejected) == r["rows_read"] - r["rows_delivered"], (r, len(ran.rejected))
    assert sorted(line["row"] for line in ran.rejected) == sorted({line["row"] for line in ran.rejected})
    assert API_KEY not in ran.stderr + json.dumps(r) + json.dumps(ran.rejected)
