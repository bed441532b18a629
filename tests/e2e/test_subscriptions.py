"""user_subscription end to end: grouping into <= 50-user entries, identifier kinds kept apart, the
config's group, invalid rows skipped or aborting, a refused request, and delta — over real HTTP."""

from __future__ import annotations

import csv
import io
from typing import Any

from e2e_support import Job

PATH = "/v2/subscription/status/set"
G1 = "3f2b6a4e-8c1d-4e5f-9a7b-0c1d2e3f4a5b"
G2 = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
KINDS = ("external_ids", "emails", "phones")


def write_csv(job: Job, name: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    job.write(name, out.getvalue())


def seed_profiles(job: Job, external_ids: list[str]) -> None:
    """Profiles for these external ids (the sandbox, like Braze, ignores unknown ones here)."""
    write_csv(job, "seed.csv", [{"external_id": e, "first_name": "x"} for e in external_ids],
              ["external_id", "first_name"])
    job.config(mode="user_track", track_record_type="user_profile_attributes", input={"path": "seed.csv"})
    assert job.run().code == 0


def users_of(body: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(group, state, kind, user) for every user of a request body."""
    return [(e["subscription_group_id"], e["subscription_state"], kind, user)
            for e in body["subscription_groups"] for kind in KINDS for user in e.get(kind, [])]


def test_mixed_groups_states_and_kinds_are_grouped_into_requests_of_at_most_50_users(job, sandbox):
    ids = [f"u{i}" for i in range(70)]
    seed_profiles(job, ids)
    rows: list[dict[str, Any]] = []
    for i in range(210):
        group, state = (G1, G2)[i % 2], ("subscribed", "unsubscribed")[(i // 2) % 2]
        kind = i % 3
        rows.append({"subscription_group_id": group, "subscription_state": state,
                     "external_id": ids[i // 3] if kind == 0 else "",
                     "email": f"p{i}@example.com" if kind == 1 else "",
                     "phone": f"+1555{i:07d}" if kind == 2 else ""})
    write_csv(job, "subs.csv", rows, ["subscription_group_id", "subscription_state", "external_id", "email", "phone"])
    job.config(mode="user_subscription", concurrency=4, input={"path": "subs.csv"})
    run = job.run()
    assert run.code == 0, run.output
    assert (run.report["rows_read"], run.report["rows_delivered"]) == (210, 210)

    sent: list[tuple[str, str, str, str]] = []
    for request in sandbox.requests(PATH):
        assert request["status"] == 201
        users = users_of(request["body"])
        assert 0 < len(users) <= 50
        kinds = {kind for *_, kind, _ in users}
        assert len(kinds) == 1                              # one identifier kind per request
        entries = request["body"]["subscription_groups"]
        assert len({(e["subscription_group_id"], e["subscription_state"]) for e in entries}) == len(entries)
        sent += users
    expected = [(r["subscription_group_id"], r["subscription_state"],
                 KINDS[i % 3], r["external_id"] or r["email"] or r["phone"]) for i, r in enumerate(rows)]
    assert sorted(sent) == sorted(expected)                 # every row once, nothing else
    assert len(sandbox.requests(PATH)) <= 3 * 2 + 4 * 3     # full requests, plus a few partial ones per lane
    for i, r in enumerate(rows):
        who = {("external_id", "email", "phone")[i % 3]: r["external_id"] or r["email"] or r["phone"]}
        assert sandbox.subscription(r["subscription_group_id"], **who) == r["subscription_state"], i


def test_the_config_group_serves_an_input_without_the_column(job, sandbox):
    seed_profiles(job, ["u1", "u2"])
    job.write("unsub.csv", "external_id,subscription_state\nu1,unsubscribed\nu2,UNSUBSCRIBED\n")
    job.config(mode="user_subscription", subscription_group_id=G2, input={"path": "unsub.csv"})
    run = job.run()
    assert run.code == 0, run.output
    assert [r["body"] for r in sandbox.requests(PATH)] == [{"subscription_groups": [
        {"subscription_group_id": G2, "subscription_state": "unsubscribed", "external_ids": ["u1", "u2"]}]}]
    assert sandbox.subscription(G2, external_id="u2") == "unsubscribed"


BAD_ROWS = ("subscription_group_id,subscription_state,external_id,email,phone,use_double_opt_in_logic\n"
            f"{G1},subscribed,,ok@example.com,,\n"
            f"not-a-uuid,subscribed,,a@example.com,,\n"
            f"{G1},maybe,,b@example.com,,\n"
            f"{G1},subscribed,,not-an-address,,\n"
            f"{G1},subscribed,,,555-0100,\n"
            f"{G1},subscribed,u9,c@example.com,,\n"
            f"{G1},subscribed,,,+15555550101,yes\n"
            f"{G1},subscribed,,,+15555550102,true\n")


def test_invalid_rows_are_skipped_with_their_column(job, sandbox):
    job.write("subs.csv", BAD_ROWS)
    job.config(mode="user_subscription", skip_on_invalid_records=True, input={"path": "subs.csv"})
    run = job.run()
    assert run.code == 0, run.output
    assert (run.report["rows_delivered"], run.report["rows_skipped"]) == (2, 6)
    assert {r["row"]: r["reason"] for r in run.rejected} == {
        2: "column subscription_group_id: must be a subscription group id: a UUID such as "
           "3f2b6a4e-8c1d-4e5f-9a7b-0c1d2e3f4a5b",
        3: 'column subscription_state: must be "subscribed" or "unsubscribed"',
        4: "column email: not an email address (name@domain.tld)",
        5: "column phone: not a phone number in E.164 format (+, the country code and the number, at most 15 digits)",
        6: "column email: external_id is set too: give exactly one of external_id, email or phone",
        7: "column use_double_opt_in_logic: must be a boolean: true, false, 1 or 0",
    }
    assert sandbox.subscription(G1, email="ok@example.com") == "subscribed"
    [phones] = [r["body"] for r in sandbox.requests(PATH) if "phones" in str(r["body"])]
    assert phones == {"subscription_groups": [{"subscription_group_id": G1, "subscription_state": "subscribed",
                                               "phones": ["+15555550102"], "use_double_opt_in_logic": True}]}


def test_an_invalid_row_aborts_the_job_when_skipping_is_off(job, sandbox):
    job.write("subs.csv", BAD_ROWS)
    job.config(mode="user_subscription", input={"path": "subs.csv"})
    run = job.run()
    assert run.code == 1
    assert "row 2, column subscription_group_id: must be a subscription group id" in run.stderr
    assert "Traceback" not in run.output
    assert run.report["rows_failed"] >= 1 and run.report["status"] == "failed"


def test_a_refused_request_rejects_every_row_of_it_with_brazes_message(job, sandbox):
    job.write("subs.csv", "subscription_state,email\n" + "".join(f"subscribed,u{i}@example.com\n" for i in range(60)))
    job.config(mode="user_subscription", subscription_group_id=G1, concurrency=1, input={"path": "subs.csv"})
    sandbox.set_faults(script=[{"status": 400, "body": {"message": "subscription_groups[0] is not valid"}}])
    run = job.run()
    assert run.code == 3, run.output
    assert (run.report["rows_rejected"], run.report["rows_delivered"]) == (50, 10)
    assert {r["reason"] for r in run.rejected} == {
        "Braze refused the request (HTTP 400): subscription_groups[0] is not valid"}
    assert sorted(r["row"] for r in run.rejected) == list(range(1, 51))
    assert sandbox.subscription(G1, email="u0@example.com") is None
    assert sandbox.subscription(G1, email="u59@example.com") == "subscribed"


def test_delta_does_not_send_a_state_braze_acknowledged_again(job, sandbox):
    seed_profiles(job, ["u1", "u2", "u3"])
    rows = [{"subscription_group_id": G1, "subscription_state": "subscribed", "external_id": "u1"},
            {"subscription_group_id": G1, "subscription_state": "unsubscribed", "external_id": "u2"},
            {"subscription_group_id": G2, "subscription_state": "subscribed", "external_id": "u1"},
            {"subscription_group_id": G1, "subscription_state": "subscribed", "external_id": "u3"}]
    columns = ["subscription_group_id", "subscription_state", "external_id"]
    write_csv(job, "subs.csv", rows, columns)
    job.config(mode="user_subscription", state_file="state.db", delta=True, input={"path": "subs.csv"})
    first = job.run()
    assert first.code == 0 and first.report["rows_delivered"] == 4 and first.report["rows_unchanged"] == 0

    write_csv(job, "subs.csv", list(reversed(rows)), columns)      # a new input holding the same rows
    before = len(sandbox.requests(PATH))
    second = job.run()
    assert second.code == 0, second.output
    assert (second.report["requests"], second.report["rows_unchanged"], second.report["rows_delivered"]) == (0, 4, 4)
    assert len(sandbox.requests(PATH)) == before

    rows[1]["subscription_state"] = "subscribed"                    # one change, which Braze refuses
    write_csv(job, "subs.csv", rows, columns)
    sandbox.set_faults(script=[{"status": 400, "body": {"message": "refused"}}])
    third = job.run()
    assert third.code == 3 and third.report["rows_unchanged"] == 3
    assert [(r["row"], r["outcome"]) for r in third.rejected] == [(2, "rejected")]
    assert sandbox.subscription(G1, external_id="u2") == "unsubscribed"

    write_csv(job, "subs.csv", list(reversed(rows)), columns)      # not acknowledged: sent again
    before = len(sandbox.requests(PATH))
    fourth = job.run()
    assert fourth.code == 0 and fourth.report["rows_unchanged"] == 3
    assert [users_of(r["body"]) for r in sandbox.requests(PATH)[before:]] == [[(G1, "subscribed", "external_ids", "u2")]]
    assert sandbox.subscription(G1, external_id="u2") == "subscribed"
