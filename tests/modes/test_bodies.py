"""The cards' encoders and answer readers (connector/delivery/bodies.py): pure, no socket."""

from __future__ import annotations

import json

from connector.braze.outcome import Kind, ObjectError, Outcome, classify_response
from connector.delivery.bodies import as_classified, rename_errors, subscription_groups
from connector.modes import card_for

G1 = "3f2b6a4e-8c1d-4e5f-9a7b-0c1d2e3f4a5b"
G2 = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def entry(group: str, state: str, user: str, array: str = "external_ids", **more) -> dict:
    return {"subscription_group_id": group, "subscription_state": state, array: [user], **more}


def test_a_requests_rows_become_one_entry_per_group_state_and_opt_in():
    bodies = [entry(G1, "subscribed", "u1"), entry(G2, "unsubscribed", "u2"), entry(G1, "subscribed", "u3"),
              entry(G1, "unsubscribed", "u4"), entry(G1, "subscribed", "u5", use_double_opt_in_logic=True)]
    assert json.loads(subscription_groups("external_ids", bodies)) == {"subscription_groups": [
        {"subscription_group_id": G1, "subscription_state": "subscribed", "external_ids": ["u1", "u3"]},
        {"subscription_group_id": G2, "subscription_state": "unsubscribed", "external_ids": ["u2"]},
        {"subscription_group_id": G1, "subscription_state": "unsubscribed", "external_ids": ["u4"]},
        {"subscription_group_id": G1, "subscription_state": "subscribed", "external_ids": ["u5"],
         "use_double_opt_in_logic": True},
    ]}


def test_a_user_twice_for_one_group_is_sent_once_with_the_later_state():
    bodies = [entry(G1, "subscribed", "a@x.io", "emails"), entry(G1, "subscribed", "b@x.io", "emails"),
              entry(G2, "subscribed", "a@x.io", "emails"), entry(G1, "unsubscribed", "a@x.io", "emails")]
    assert json.loads(subscription_groups("emails", bodies)) == {"subscription_groups": [
        {"subscription_group_id": G1, "subscription_state": "subscribed", "emails": ["b@x.io"]},
        {"subscription_group_id": G2, "subscription_state": "subscribed", "emails": ["a@x.io"]},
        {"subscription_group_id": G1, "subscription_state": "unsubscribed", "emails": ["a@x.io"]},
    ]}
    only = [entry(G1, "subscribed", "u1"), entry(G1, "unsubscribed", "u1"), entry(G1, "subscribed", "u1")]
    assert json.loads(subscription_groups("external_ids", only)) == {"subscription_groups": [
        {"subscription_group_id": G1, "subscription_state": "subscribed", "external_ids": ["u1"]}]}


def _answer(status: int, body: dict) -> Outcome:
    return classify_response(status, {}, json.dumps(body), 0.0)


def test_rename_errors_reject_the_entries_they_name():
    outcome = rename_errors(_answer(200, {"message": "success", "external_ids": ["a"],
                                          "rename_errors": [[1, "'new_external_id' is already in use"], [2, "gone"]]}))
    assert outcome.kind is Kind.PARTIAL and outcome.others_accepted
    assert outcome.errors == (ObjectError(None, 1, "'new_external_id' is already in use"), ObjectError(None, 2, "gone"))
    odd = rename_errors(_answer(200, {"rename_errors": [{"index": 0, "message": "m"}, "text", [True, "x"]]}))
    assert odd.errors == (ObjectError(None, 0, "m"), ObjectError(None, None, "text"), ObjectError(None, None, "x"))


def test_readers_leave_other_answers_as_the_client_classified_them():
    clean = _answer(200, {"message": "success", "external_ids": ["a"], "rename_errors": []})
    assert rename_errors(clean) is clean and clean.kind is Kind.DELIVERED
    refused = _answer(400, {"message": "Valid data must be provided", "rename_errors": [[0, "x"]]})
    assert rename_errors(refused).kind is Kind.REJECTED
    assert rename_errors(Outcome(Kind.RETRY, 503, "HTTP 503")).kind is Kind.RETRY
    assert "answer" not in repr(clean)      # the answer may hold ids: never shown
    assert card_for("user_merge", None).read_answer is as_classified
    assert card_for("user_rename_external_id", None).read_answer is rename_errors
    assert card_for("user_subscription", None).encode is subscription_groups
