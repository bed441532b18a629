"""The report: the --report JSON (built once, for one process or many), the summary line, the exit code."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any, Mapping

from connector.errors import ConnectorError, JobError
from connector.outcomes.ledger import Counts


def new_run_id() -> str:
    """A run's id: a random UUID, the same in the report, the sync log and the notice."""
    return str(uuid.uuid4())


def status_of(counts: Counts, aborted: bool) -> str:
    """success (every row delivered), partial (some skipped or rejected) or failed."""
    if aborted or counts.rows_failed:
        return "failed"
    if counts.rows_delivered == counts.rows_read:
        return "success"
    return "partial"


def exit_code(counts: Counts, error: ConnectorError | None, skip_on_invalid_records: bool) -> int:
    """The exit code of a job: its error's, else 1 for failed rows, 3 for Braze's rejections, else 0."""
    if error is not None:
        return error.exit_code
    if counts.rows_failed:
        return 1
    if counts.rows_rejected and not skip_on_invalid_records:
        return 3
    return 0


def ratio_error(counts: Counts, max_rejected: float | None, max_failed: float | None) -> JobError | None:
    """The run fails when more of its rows than a limit allows were rejected, or not delivered."""
    read = counts.rows_read
    limits = ((max_rejected, counts.rows_rejected, "rejected by Braze", "max_rejected_ratio"),
              (max_failed, read - counts.rows_delivered, "not delivered", "max_failed_ratio"))
    for limit, rows, words, key in limits:
        if limit is not None and read and rows / read > limit:
            return JobError(f"{rows} of {read} rows were {words} ({rows / read:.2%}), more than "
                            f"{key} {limit:g} ({limit:.2%})")
    return None


def build_report(counts: Counts, *, aborted: bool, error: str | None, reject_file: str | None,
                 elapsed_seconds: float, extra: Mapping[str, Any], run_id: str | None = None) -> dict[str, Any]:
    """The --report JSON's fields, in their documented order, then `run_id` and `extra` (state, dry run...)."""
    report: dict[str, Any] = {"status": status_of(counts, aborted)}
    report.update(counts.__dict__)
    report["reject_file"] = reject_file
    report["elapsed_seconds"] = round(elapsed_seconds, 3)
    if error:
        report["error"] = error
    report["run_id"] = run_id or new_run_id()
    report.update(extra)
    return report


_STATE_WORDS = (("rows_delivered_earlier", "delivered earlier"), ("rows_unknown_fate_at_resume", "of unknown fate at resume"),
                ("rows_unchanged", "unchanged"), ("rows_duplicate", "duplicate"))


def summary(report: Mapping[str, Any]) -> str:
    """The one closing line: 'success: 20 rows read, 20 delivered, ...; 1 requests, 0 retries, 0.06s'
    (a dry run: 'dry run: 20 rows read, 20 would be sent, ...; 1 request would be made')."""
    if report.get("dry_run"):
        return (f"dry run: {report['rows_read']} rows read, {report['rows_delivered']} would be sent, "
                f"{report['rows_skipped']} skipped, {report['rows_failed']} failed; {report['requests']} "
                f"requests would be made, {report['elapsed_seconds']:.2f}s")
    line = (f"{report['status']}: {report['rows_read']} rows read, {report['rows_delivered']} delivered, "
            f"{report['rows_skipped']} skipped, {report['rows_rejected']} rejected, "
            f"{report['rows_failed']} failed; {report['requests']} requests, {report['retries']} retries, "
            f"{report['elapsed_seconds']:.2f}s")
    if report.get("rows_maybe_duplicated"):
        line += f"; {report['rows_maybe_duplicated']} rows may be stored twice"
    if report.get("rows_fate_unknown"):
        line += f"; {report['rows_fate_unknown']} rows of unknown fate"
    if "attributes_sent" in report:
        line += (f"; delta: {report['attributes_sent']} attributes sent ({report['data_points']} data points), "
                 f"{report['data_points_saved']} unchanged not sent")
    parts = [f"{report[k]} {words}" for k, words in _STATE_WORDS if report.get(k)]
    return line + (f"; state: {', '.join(parts)}" if parts else "")


def warnings(report: Mapping[str, Any]) -> list[str]:
    """The warnings a run's end repeats, so that no likely duplicate or loss goes unseen."""
    out = []
    if report.get("rows_maybe_duplicated"):
        out.append(f"{report['rows_maybe_duplicated']} rows may be stored twice in Braze: their request got no "
                   f"answer and was sent again (event_delivery: at_least_once); Braze does not de-duplicate "
                   f"events or purchases")
    if report.get("rows_fate_unknown"):
        out.append(f"{report['rows_fate_unknown']} rows may or may not have reached Braze: their request got no "
                   f"answer and was not sent again (they are failed, with their reason, in the rejected-rows file)")
    return out


def write_report(path: str, report: Mapping[str, Any]) -> None:
    """Write atomically, so a scheduler never reads half a report."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
