"""user_merge and user_rename_external_id end to end: what Braze (the sandbox) did, `sandbox show`,
per-entry rename errors mapped back to their rows, invalid rows, and dry runs that list each one."""

from __future__ import annotations

import pytest

from connector.sandbox import Sandbox
from e2e_support import API_KEY, Job


@pytest.fixture
def stored(tmp_path):
    """A sandbox whose store is a file, so that `sandbox show` can read it."""
    with Sandbox(api_key=API_KEY, db_path=str(tmp_path / "sandbox.sqlite")) as sb:
        yield sb


def seed(job: Job, text: str) -> None:
    job.write("seed.csv", text)
    job.config(mode="user_track", track_record_type="user_profile_attributes", input={"path": "seed.csv"})
    assert job.run().code == 0


def show(job: Job) -> str:
    proc = job.cli("sandbox", "show", "--db", "sandbox.sqlite")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_merges_are_applied_and_shown(tmp_path, stored):
    job = Job(tmp_path, stored)
    seed(job, "external_id,email,first_name,city\nold-1,,Ann,Oslo\nnew-1,,,Bergen\nu3,,Cy,\n")
    seed(job, "email,first_name\nanon@example.com,Anon\n")            # an email-only profile
    job.write("merges.csv", "merge_external_id,merge_email,keep_external_id\nold-1,,new-1\n,anon@example.com,u3\n")
    job.config(mode="user_merge", input={"path": "merges.csv"})
    run = job.run()
    assert run.code == 0, run.output
    assert run.report["rows_delivered"] == 2
    stored.wait_for_merges(timeout=10)
    assert [m["status"] for m in stored.merges()] == ["merged", "merged"]
    kept = stored.user("new-1")
    assert kept["attributes"]["first_name"] == "Ann" and kept["attributes"]["city"] == "Bergen"
    assert stored.user(email="anon@example.com")["external_id"] == "u3"
    assert [r["body"] for r in stored.requests("/users/merge")] == [{"merge_updates": [
        {"identifier_to_merge": {"external_id": "old-1"}, "identifier_to_keep": {"external_id": "new-1"}},
        {"identifier_to_merge": {"email": "anon@example.com", "prioritization": ["unidentified", "most_recently_updated"]},
         "identifier_to_keep": {"external_id": "u3"}}]}]
    text = show(job)
    assert "external_id old-1 -> external_id new-1: merged" in text
    assert "email anon@example.com -> external_id u3: merged" in text


def test_invalid_merges_are_skipped_and_a_dry_run_lists_each_merge(job, sandbox):
    job.write("merges.csv", "merge_external_id,merge_phone,keep_external_id,keep_email\n"
                            "a,,b,\n"
                            "same,,same,\n"
                            "c,+15555550100,d,\n"
                            ",+15555550100,,x@example.com\n"
                            ",,e,\n")
    job.config(mode="user_merge", skip_on_invalid_records=True, input={"path": "merges.csv"})
    dry = job.run("--dry-run")
    assert dry.code == 0, dry.output
    assert "dry run: row 1 would merge external_id a into external_id b" in dry.stderr
    assert ("dry run: row 4 would merge phone +15555550100 (unidentified, most_recently_updated) into email "
            "x@example.com (identified, most_recently_updated)") in dry.stderr
    assert dry.stderr.count("would merge") == 2 and sandbox.requests() == []
    assert {r["row"]: r["reason"] for r in dry.rejected} == {
        2: "column keep_external_id: the same external_id as merge_external_id: a profile cannot be merged into itself",
        3: "column merge_phone: merge_external_id is set too: give exactly one of merge_external_id, "
           "merge_alias_name+merge_alias_label, merge_email or merge_phone",
        5: "no profile to merge: give exactly one of merge_external_id, merge_alias_name+merge_alias_label, "
           "merge_email or merge_phone",
    }
    preview = job.cli("preview", "--config", "config.yml")
    assert preview.returncode == 0
    assert preview.stdout.startswith("POST /users/merge  (2 rows, from row 1 to 4)\n{\n  \"merge_updates\": [\n")
    assert '"identifier_to_keep": {\n        "external_id": "b"\n      }' in preview.stdout


def test_renames_map_each_rename_error_back_to_its_row(tmp_path, stored):
    job = Job(tmp_path, stored)
    seed(job, "external_id,first_name\n" + "".join(f"u{i},n{i}\n" for i in range(120)) + "taken,T\n")
    rows = [(f"u{i}", f"crm-{i}") for i in range(120)]
    rows[7] = ("u7", "taken")                   # a new id in use
    rows[64] = ("ghost", "crm-64")              # nobody has the current id
    rows[101] = ("u101", "u102")                # a new id in use (a primary one)
    job.write("renames.csv", "current_external_id,new_external_id\n" + "".join(f"{a},{b}\n" for a, b in rows))
    job.config(mode="user_rename_external_id", concurrency=3, input={"path": "renames.csv"})
    run = job.run()
    assert run.code == 3, run.output
    assert (run.report["rows_delivered"], run.report["rows_rejected"]) == (117, 3)
    assert run.report["requests"] >= 3 and len(stored.requests("/users/external_ids/rename")) == run.report["requests"]
    taken = "rejected by Braze: 'new_external_id' is already in use (as a primary or a deprecated external_id)"
    assert {r["row"]: (r["outcome"], r["reason"]) for r in run.rejected} == {
        8: ("rejected", taken),
        65: ("rejected", "rejected by Braze: 'current_external_id' is not the external_id of any user"),
        102: ("rejected", taken),
    }
    assert stored.user("crm-0")["deprecated_external_ids"] == ["u0"]
    assert stored.user("u0")["external_id"] == "crm-0"              # the old id still finds the user
    assert stored.user("u7")["external_id"] == "u7" and stored.user("crm-7") is None
    assert len([r for r in stored.renames() if r["kind"] == "rename"]) == 117
    assert "request " in show(job) and ": u5 -> crm-5" in show(job)


def test_invalid_renames_and_the_dry_run_line(job, sandbox):
    job.write("renames.csv", "current_external_id,new_external_id\na,b\nc,c\n,d\n")
    job.config(mode="user_rename_external_id", input={"path": "renames.csv"})
    run = job.run("--dry-run")
    assert run.code == 1
    assert "row 2, column new_external_id: the same as current_external_id: a rename needs a new id" in run.stderr
    job.config(mode="user_rename_external_id", skip_on_invalid_records=True, input={"path": "renames.csv"})
    run = job.run("--dry-run")
    assert run.code == 0 and "dry run: row 1 would rename external_id a to b" in run.stderr
    assert [r["row"] for r in run.rejected] == [2, 3] and sandbox.requests() == []
