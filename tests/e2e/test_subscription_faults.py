"""100,000 user_subscription rows against a sandbox answering 429s, 5xx, a 400 and dropped connections:
every row delivered exactly once or listed with its reason, and the report's accounting exact.

The job and its checks are bench/subscription_faults.py's `check` (which also prints the figures);
here they run at the issue's size and must hold.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from subscription_faults import check  # noqa: E402


def test_a_hundred_thousand_rows_through_faults_are_each_accounted_for_once(tmp_path):
    figures = check(tmp_path, 100_000)
    assert figures["exit_code"] == 0 and figures["status"] == "partial"      # skipped + rejected, skipping on
    assert (figures["skipped"], figures["rejected"]) == (100, 50)            # the invalid rows; the 400's request
    assert figures["delivered"] + figures["failed"] == 100_000 - 150
    answers = figures["answers"]
    assert answers[429] > 1 and answers[503] > 0 and answers[500] == 1 and answers["dropped"] > 1
    assert figures["retries"] >= answers[429] + answers[503] + answers[500]
