"""The parent's pieces: rates divided between workers, rejected-rows parts merged by row, the board."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from connector.config import parse_config
from connector.errors import ConfigError
from connector.outcomes.report import exit_code
from connector.modes import BUCKET_RATES as DEFAULT_RATES
from connector.modes import card_for
from connector.outcomes.rejects import merge_rejects, reject_parts
from connector.workers.parent import worker_settings
from connector.outcomes.ledger import Counts
from connector.workers.board import PARENT, Board

BASE = {"endpoint": "sandbox", "mode": "user_track", "track_record_type": "user_profile_attributes",
        "input": {"path": "u.csv"}}


def test_worker_settings_divide_rates_and_lanes() -> None:
    settings = parse_config({**BASE, "workers": 3, "concurrency": 8, "requests_per_hour": 1000})
    one = worker_settings(settings, "http://127.0.0.1:9", "k3y", card_for("user_track", "user_profile_attributes"))
    assert (one.requests_per_second, one.requests_per_hour, one.concurrency, one.workers) == (1000 / 3, 333, 2, 1)
    assert one.endpoint == "http://127.0.0.1:9" and one.api_key is not None and one.api_key.reveal() == "k3y"
    assert isinstance(one.input.columns, dict)          # picklable
    tight = worker_settings(parse_config({**BASE, "workers": 4, "concurrency": 2, "requests_per_second": 10,
                                          "requests_per_hour": 2}), "u", "k", card_for("user_delete", None))
    assert (tight.requests_per_second, tight.requests_per_hour, tight.concurrency) == (2.5, 1, 1)
    delete = {"endpoint": "sandbox", "mode": "user_delete", "input": {"path": "u.csv"}, "workers": 2}
    users = worker_settings(parse_config(delete), "u", "k", card_for("user_delete", None))
    assert users.requests_per_second == DEFAULT_RATES["users"] / 2 and DEFAULT_RATES["users"] > 300


@pytest.mark.parametrize("extra, reason", [
    ({"state_file": "s.db"}, "workers: must be 1 with a state_file"),
    ({"input": {"path": "-", "format": "csv"}}, "not standard input"),
    ({"input": {"path": "u.json"}}, "csv, tsv or jsonl input (the format is json)"),
    ({"input": {"path": "u.db", "query": "select 1"}}, "(the format is sqlite)"),
    ({"input": {}}, "needs input.path to name a file"),
])
def test_ineligible_inputs_are_refused(extra: dict, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({**BASE, "workers": 2, **extra})
    assert reason in str(caught.value)
    parse_config({**BASE, "workers": 1, **extra} if "state_file" in extra else {**BASE, **extra})  # fine with 1


def test_workers_bounds() -> None:
    assert parse_config(BASE).workers == 1
    for bad in (0, 17, True, "2"):
        with pytest.raises(ConfigError, match="workers"):
            parse_config({**BASE, "workers": bad})


def _record(row: int, outcome: str = "skipped") -> str:
    return json.dumps({"row": row, "outcome": outcome, "reason": "r", "values": {"a": ",x"}}) + "\n"


def test_parts_are_merged_sorted_by_row_and_removed(tmp_path: Path) -> None:
    target = tmp_path / "rejected.jsonl"
    parts = reject_parts(str(target), 3)
    Path(parts[0]).write_text(_record(9) + _record(2) + _record(40))
    Path(parts[2]).write_text(_record(3, "failed") + _record(1))
    assert merge_rejects(parts, str(target)) == str(target)
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert [r["row"] for r in lines] == [1, 2, 3, 9, 40]
    assert lines[2]["outcome"] == "failed" and lines[0]["values"] == {"a": ",x"}
    assert not any(Path(p).exists() for p in parts)


def test_nothing_written_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "rejected.jsonl"
    assert merge_rejects(reject_parts(str(target), 2), str(target)) is None
    assert not target.exists()


def test_board_sums_counts_and_keeps_the_first_abort() -> None:
    board = Board.create(multiprocessing.get_context("spawn"), 2)
    board.publish(0, Counts(10, 7, 1, 1, 1, 3, 1, 0), 0.5)
    board.publish(1, Counts(5, 5, 0, 0, 0, 2, 0, 1), None)
    assert board.counts() == Counts(15, 12, 1, 1, 1, 5, 1, 1)
    assert board.share() is None
    board.publish(1, Counts(5, 5, 0, 0, 0, 2, 0, 1), 0.25)
    assert board.share() == 0.25
    assert not board.stopped() and board.first() == -1
    board.trigger(1)
    board.trigger(PARENT)
    board.trigger(1)            # a second abort of the same worker keeps its first time
    assert board.stopped() and board.first() == 1


def test_exit_code_rules() -> None:
    ok = Counts(3, 3, 0, 0, 0, 1, 0, 0)
    assert exit_code(ok, None, False) == 0
    assert exit_code(Counts(3, 2, 0, 1, 0, 1, 0, 0), None, False) == 3
    assert exit_code(Counts(3, 2, 0, 1, 0, 1, 0, 0), None, True) == 0
    assert exit_code(Counts(3, 2, 0, 0, 1, 1, 0, 0), None, True) == 1
    assert exit_code(ok, ConfigError("x"), False) == 2
