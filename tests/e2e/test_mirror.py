"""on_removed end to end: a job mirrors an audience into the sandbox and undoes what left it.

The figures of the issue: an audience of 1,000, then 950 of them plus 30 new: exactly 50 removals
and 30 additions; the guard trips on a 50% drop and on an empty input; a run killed during its
removals and rerun removes each user once; `unset` touches only the attributes this job sent.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from connector.sandbox import Sandbox
from e2e_support import API_KEY, Job

GROUP = "3f2b6a4e-8c1d-4e5f-9a7b-0c1d2e3f4a5b"
ATTRS = {"mode": "user_track", "track_record_type": "user_profile_attributes", "state_file": "state.db",
         "on_removed": "unset", "delta": True, "input": {"path": "audience.csv"}}


@pytest.fixture
def stored(tmp_path):
    """A sandbox whose store is a file, so that `sandbox show` can read it."""
    with Sandbox(api_key=API_KEY, db_path=str(tmp_path / "braze.sqlite")) as sb:
        yield sb


@pytest.fixture
def mirror(tmp_path, stored):
    folder = tmp_path / "job"
    folder.mkdir()
    return Job(folder, stored)


def _audience(job: Job, ids, new=(), extra: str = "") -> None:
    rows = [f"u{i},true,gold{extra}\n" for i in ids] + [f"n{i},true,silver{extra}\n" for i in new]
    job.write("audience.csv", "external_id,vip,tier" + (",city" if extra else "") + "\n" + "".join(rows))


def _show(job: Job, sandbox: Sandbox) -> list[dict]:
    proc = job.cli("sandbox", "show", "--db", sandbox.store.path, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["users"]


def _first_run(job: Job, sandbox: Sandbox, users: int, **config) -> int:
    """The job's first complete run on an audience of `users`; what the sandbox had received then."""
    job.config(**{**ATTRS, **config})
    _audience(job, range(users))
    first = job.run()
    assert first.code == 0, first.output[-2000:]
    return len(sandbox.received())


def _vip(profile: dict | None) -> bool:
    return profile is not None and profile["attributes"].get("vip") is not None


def test_an_audience_of_1000_then_950_of_them_and_30_new_sends_exactly_50_removals_and_30_additions(mirror, stored):
    mirror.config(**ATTRS)
    _audience(mirror, range(1000))
    first = mirror.run()
    assert first.code == 0, first.output[-2000:]
    assert first.report["users_to_remove"] == 0 and first.report["audience_users"] == 1000
    before = len(stored.received("/users/track"))
    assert before == 1000

    _audience(mirror, range(50, 1000), new=range(30))
    second = mirror.run()
    assert second.code == 0, second.output[-2000:]
    r = second.report
    assert (r["rows_read"], r["rows_delivered"], r["rows_unchanged"]) == (980, 980, 950)
    assert (r["audience_users_before"], r["audience_users"], r["users_to_remove"], r["users_removed"]) == (
        1000, 980, 50, 50)
    assert (r["removals_rejected"], r["removals_failed"], r["removals_skipped"]) == (0, 0, 0)
    assert r["status"] == "success"
    sent = [o for o in (x["object"] for x in stored.received("/users/track")[before:])]
    removals = [o for o in sent if o.get("vip", "") is None]
    additions = [o for o in sent if o.get("vip") is not None]
    assert len(sent) == 80 and len(additions) == 30 and len(removals) == 50
    assert sorted(o["external_id"] for o in removals) == sorted(f"u{i}" for i in range(50))
    assert all(o == {"external_id": o["external_id"], "vip": None, "tier": None, "_update_existing_only": True}
               for o in removals)
    assert sorted(o["external_id"] for o in additions) == sorted(f"n{i}" for i in range(30))
    assert 1 <= r["removal_requests"] < r["requests"]

    profiles = {p["external_id"]: p for p in _show(mirror, stored)}      # `sandbox show` agrees
    assert sum(_vip(p) for p in profiles.values()) == 980
    assert not any(_vip(profiles[f"u{i}"]) for i in range(50))
    assert all(profiles[f"u{i}"]["attributes"] == {"vip": "true", "tier": "gold"} for i in range(50, 1000))
    assert all(profiles[f"n{i}"]["attributes"] == {"vip": "true", "tier": "silver"} for i in range(30))

    third = mirror.run()        # the same input again: nothing left to remove, nothing to add
    assert third.code == 0 and third.report["users_to_remove"] == 0
    assert len(stored.received("/users/track")) == before + 80


def test_unset_touches_only_the_attributes_this_job_sent(mirror, stored):
    other = Job(mirror.folder.parent, stored)       # another job wrote city and score for the same users
    other.config(mode="user_track", track_record_type="user_profile_attributes", input={"path": "crm.csv"})
    other.write("crm.csv", "external_id,city,score\n" + "".join(f"u{i},Oslo,{i}\n" for i in range(10)))
    assert other.run().code == 0
    mirror.config(**{**ATTRS, "null_values": "unset"})
    mirror.write("audience.csv", "external_id,vip,tier\n" + "".join(
        f"u{i},true,{'gold' if i % 2 else ''}\n" for i in range(10)))    # even users: tier sent as null
    assert mirror.run().code == 0
    _audience(mirror, range(2, 10))
    run = mirror.run()
    assert run.code == 0 and run.report["users_removed"] == 2, run.output[-2000:]
    removals = [o for o in (x["object"] for x in stored.received("/users/track")) if o.get("vip", "") is None]
    assert sorted(removals, key=lambda o: o["external_id"]) == [
        {"external_id": "u0", "vip": None, "_update_existing_only": True},      # tier: this job sent only a null
        {"external_id": "u1", "vip": None, "tier": None, "_update_existing_only": True}]
    for i in (0, 1):
        assert stored.user(f"u{i}")["attributes"] == {"city": "Oslo", "score": str(i)}
    assert stored.user("u3")["attributes"] == {"city": "Oslo", "score": "3", "vip": "true", "tier": "gold"}


def test_the_guard_trips_on_a_50_percent_drop_and_nothing_is_removed_until_allowed(mirror, stored):
    sent = _first_run(mirror, stored, 1000)
    _audience(mirror, range(500, 1000))
    run = mirror.run()
    assert run.code == 1, run.output[-2000:]
    r = run.report
    assert r["status"] == "failed" and r["rows_delivered"] == 500 and r["rows_failed"] == 0
    assert (r["audience_users_before"], r["audience_users"], r["users_to_remove"], r["users_removed"]) == (
        1000, 500, 500, 0)
    assert "500 of the 1000 users of the last complete run left the audience (50.0%)" in r["error"]
    assert "max_removed_ratio 0.2" in r["error"] and "--allow-mass-removal" in r["error"]
    assert "nothing was removed" in run.stderr and "Traceback" not in run.stderr
    assert len(stored.received()) == sent and all(_vip(stored.user(f"u{i}")) for i in range(1000))

    again = mirror.run()            # rerun: still refused
    assert again.code == 1 and len(stored.received()) == sent
    allowed = mirror.run("--allow-mass-removal")
    assert allowed.code == 0, allowed.output[-2000:]
    assert allowed.report["users_removed"] == 500
    assert not any(_vip(stored.user(f"u{i}")) for i in range(500))
    assert all(_vip(stored.user(f"u{i}")) for i in range(500, 1000))


def test_an_empty_input_removes_nobody_unless_allowed(mirror, stored):
    sent = _first_run(mirror, stored, 100, max_removed_ratio=1.0)
    mirror.write("audience.csv", "external_id,vip,tier\n")
    run = mirror.run()
    assert run.code == 1 and run.report["rows_read"] == 0 and run.report["users_removed"] == 0
    assert "this run's input has no user, so all 100 users the job holds would be removed" in run.report["error"]
    assert len(stored.received()) == sent
    mirror.write("audience.csv", "")            # a 0-byte file too
    assert mirror.run().code == 1 and len(stored.received()) == sent
    allowed = mirror.run("--allow-mass-removal")
    assert allowed.code == 0 and allowed.report["users_removed"] == 100, allowed.output[-2000:]
    assert not any(_vip(stored.user(f"u{i}")) for i in range(100))


def _members(job: Job) -> int:
    with sqlite3.connect(job.folder / "state.db") as db:
        return db.execute("SELECT count(*) FROM members").fetchone()[0]


def _wait_for(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_run_killed_during_its_removals_and_rerun_removes_each_user_once(mirror, stored):
    mirror.config(**{**ATTRS, "on_removed": "delete"})
    _audience(mirror, range(1000))
    assert mirror.run().code == 0
    # Removals 10 a request, 2 requests a second: the kill lands between two requests.
    mirror.config(**{**ATTRS, "on_removed": "delete", "batch_size": 10, "concurrency": 1, "requests_per_second": 2})
    _audience(mirror, range(50, 1000))
    proc = subprocess.Popen([sys.executable, "-m", "connector", "run", "--config", "config.yml"], cwd=mirror.folder,
                            env={**os.environ, "BRAZE_API_KEY": API_KEY}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        def deleted() -> int:
            return len(stored.received("/users/delete"))
        # Killed once at least 20 removals were acknowledged and recorded, and none is in flight.
        _wait_for(lambda: deleted() >= 20 and _members(mirror) == 1000 - deleted())
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    done = len(stored.received("/users/delete"))
    assert 20 <= done < 50

    run = mirror.run()
    assert run.code == 0, run.output[-2000:]
    assert run.report["users_to_remove"] == 50 - done and run.report["users_removed"] == 50 - done
    ids = [o["object"] for o in stored.received("/users/delete")]
    assert sorted(ids) == sorted(f"u{i}" for i in range(50))        # each user removed once
    assert all(stored.user(f"u{i}") is None for i in range(50))
    assert all(stored.user(f"u{i}") is not None for i in range(50, 1000))
    assert mirror.run().report["users_to_remove"] == 0


def test_unsubscribe_mirrors_a_subscription_group(mirror, stored):
    crm = Job(mirror.folder.parent, stored)     # the profiles exist (the group endpoint creates nobody)
    crm.config(mode="user_track", track_record_type="user_profile_attributes", input={"path": "crm.csv"})
    crm.write("crm.csv", "external_id,city\n" + "".join(f"u{i},Oslo\n" for i in range(100)) + "n1,Rome\n")
    assert crm.run().code == 0
    mirror.config(mode="user_subscription", subscription_group_id=GROUP, state_file="state.db",
                  on_removed="unsubscribe", input={"path": "audience.csv"})
    mirror.write("audience.csv", "external_id,subscription_state\n" + "".join(f"u{i},subscribed\n" for i in range(100)))
    assert mirror.run().code == 0
    mirror.write("audience.csv", "external_id,subscription_state\n" + "".join(
        f"u{i},subscribed\n" for i in range(10, 100)) + "n1,subscribed\n")
    run = mirror.run()
    assert run.code == 0, run.output[-2000:]
    assert (run.report["users_to_remove"], run.report["users_removed"]) == (10, 10)
    assert [stored.subscription(GROUP, external_id=f"u{i}") for i in range(12)] == ["unsubscribed"] * 10 + [
        "subscribed"] * 2


def test_a_dry_run_lists_the_removals_and_changes_nothing(mirror, stored):
    sent = _first_run(mirror, stored, 100)
    _audience(mirror, range(5, 100))
    dry = mirror.run("--dry-run")
    assert dry.code == 0 and dry.report["dry_run"] is True, dry.output[-2000:]
    assert dry.report["users_to_remove"] == 5 and dry.report["users_removed"] == 5
    lines = sorted(line for line in dry.stderr.splitlines() if "would unset" in line)
    assert lines == [f"braze-export: dry run: would unset tier, vip of external_id u{i} (left the audience)"
                     for i in range(5)]
    assert len(stored.received()) == sent
    preview = mirror.cli("preview", "--config", "config.yml", "--limit", "200")
    assert preview.returncode == 0, preview.stderr
    assert "on_removed: unset)\n" in preview.stdout and "POST /users/track  (removal" in preview.stdout
    assert preview.stdout.count('"vip": null') == 5
    short = mirror.cli("preview", "--config", "config.yml")
    assert "removals" not in short.stdout and "the rows read are not the whole input" in short.stderr
    assert mirror.run().report["users_removed"] == 5       # the dry runs recorded nothing


def test_a_removal_braze_rejects_is_rejected_with_its_reason_and_tried_again(mirror, stored):
    _first_run(mirror, stored, 40, batch_size=5, concurrency=1)
    _audience(mirror, range(5, 40))             # nothing changed: the first request is the removals'
    stored.set_faults(script=[{"status": 400, "body": {"message": "no such thing"}}])
    run = mirror.run()
    assert run.code == 3, run.output[-2000:]
    assert (run.report["status"], run.report["removals_rejected"], run.report["users_removed"]) == ("partial", 5, 0)
    assert run.report["rows_rejected"] == 0 and run.report["rows_read"] == 35
    assert sorted(r["values"]["external_id"] for r in run.rejected) == [f"u{i}" for i in range(5)]
    assert all(r["row"] is None and r["removal"] == "unset" and r["outcome"] == "rejected" for r in run.rejected)
    assert all(_vip(stored.user(f"u{i}")) for i in range(5))
    again = mirror.run()
    assert again.code == 0 and again.report["users_removed"] == 5, again.output[-2000:]
    assert not any(_vip(stored.user(f"u{i}")) for i in range(5))


def test_users_whose_rows_were_not_delivered_stay_and_a_failed_row_stops_the_removals(mirror, stored):
    _first_run(mirror, stored, 40, batch_size=5, concurrency=1, skip_on_invalid_records=True, maximum_retries=0)
    rows = ["u0,true,gold,Z\n"] + [f"u{i},true,platinum,\n" for i in range(1, 5)] + [
        f"u{i},true,gold,\n" for i in range(5, 39)]            # u0 invalid, u1-u4 changed, u39 left
    mirror.write("audience.csv", "external_id,vip,tier,gender\n" + "".join(rows))
    stored.set_faults(script=[{"status": 400, "body": {"message": "refused"}}])     # u1-u4's request
    run = mirror.run()
    assert run.code == 0, run.output[-2000:]      # skip_on_invalid_records: rejections exit 0
    r = run.report
    assert (r["rows_skipped"], r["rows_rejected"], r["users_to_remove"], r["users_removed"]) == (1, 4, 1, 1)
    assert not _vip(stored.user("u39")) and all(_vip(stored.user(f"u{i}")) for i in range(39))

    mirror.write("audience.csv", "external_id,vip,tier,gender\n" + "".join(
        f"u{i},true,silver,\n" for i in range(34)))                      # u34-u38 left, every row changed
    stored.set_faults(script=[{"status": 503}])      # one batch fails (maximum_retries 0); the job goes on
    failed = mirror.run()
    assert failed.code == 1 and failed.report["rows_failed"] == 5 and "error" not in failed.report
    assert failed.report["users_to_remove"] is None and failed.report["users_removed"] == 0
    assert "nothing is removed" in failed.stderr
    assert all(_vip(stored.user(f"u{i}")) for i in range(34, 39))
    again = mirror.run()            # the failed rows are sent again, then the removals follow
    assert again.code == 0 and again.report["users_removed"] == 5, again.output[-2000:]
    assert not any(_vip(stored.user(f"u{i}")) for i in range(34, 39))
