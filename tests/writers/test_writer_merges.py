"""user_merge: merge_updates entries from both sides' identifiers, prioritization, and every invalid row."""

from __future__ import annotations

import pytest

from connector.errors import HeaderError, InvalidRow
from connector.modes import card_for, make_writer
from connector.writers import Item, WriterOptions


def build(row):
    return make_writer("user_merge", None, WriterOptions()).build(row)


def invalid(row) -> tuple[str | None, str]:
    with pytest.raises(InvalidRow) as caught:
        build(row)
    return caught.value.column, caught.value.reason


def test_external_ids_and_aliases():
    assert build({"merge_external_id": "old", "keep_external_id": "new", "merge_email": ""}) == Item(
        "merge_updates", {"identifier_to_merge": {"external_id": "old"}, "identifier_to_keep": {"external_id": "new"}},
        "external_id:new")
    item = build({"merge_alias_name": "a1", "merge_alias_label": "crm", "keep_alias_name": "a2",
                  "keep_alias_label": "crm"})
    assert item.body == {"identifier_to_merge": {"user_alias": {"alias_name": "a1", "alias_label": "crm"}},
                         "identifier_to_keep": {"user_alias": {"alias_name": "a2", "alias_label": "crm"}}}
    assert item.key == "alias:crm\x00a2"


def test_email_and_phone_carry_a_prioritization_by_side():
    body = build({"merge_email": "a@x.io", "keep_email": "a@x.io"}).body
    assert body == {"identifier_to_merge": {"email": "a@x.io", "prioritization": ["unidentified", "most_recently_updated"]},
                    "identifier_to_keep": {"email": "a@x.io", "prioritization": ["identified", "most_recently_updated"]}}
    body = build({"merge_phone": "+15555550100", "keep_external_id": "u1",
                  "prioritization": '["identified", "least_recently_updated"]'}).body
    assert body["identifier_to_merge"] == {"phone": "+15555550100",
                                           "prioritization": ["identified", "least_recently_updated"]}
    body = build({"merge_email": "a@x.io", "keep_email": "b@x.io", "prioritization": ["most_recently_updated"],
                  "keep_prioritization": "unidentified, least_recently_updated"}).body
    assert body["identifier_to_merge"]["prioritization"] == ["most_recently_updated"]
    assert body["identifier_to_keep"]["prioritization"] == ["unidentified", "least_recently_updated"]
    assert "prioritization" not in build({"merge_external_id": "a", "keep_external_id": "b",
                                          "prioritization": "identified"}).body["identifier_to_keep"]


def test_a_dry_run_line_says_what_would_be_merged():
    describe = card_for("user_merge", None).describe
    assert describe is not None
    assert describe(build({"merge_email": "a@x.io", "keep_external_id": "u1"}).body) == \
        "merge email a@x.io (unidentified, most_recently_updated) into external_id u1"
    assert describe(build({"merge_alias_name": "n", "merge_alias_label": "crm", "keep_phone": "+4512345678"}).body) == \
        "merge user_alias crm:n into phone +4512345678 (identified, most_recently_updated)"


ONE_MERGE = ("give exactly one of merge_external_id, merge_alias_name+merge_alias_label, merge_email or "
             "merge_phone")
BAD = ("must be a JSON array (or comma-separated names) of identified or unidentified (not both), "
       "most_recently_updated, least_recently_updated")


@pytest.mark.parametrize("row, column, reason", [
    ({"keep_external_id": "u1"}, None, f"no profile to merge: {ONE_MERGE}"),
    ({"merge_external_id": "u1", "keep_email": ""}, None,
     "no profile to keep: give exactly one of keep_external_id, keep_alias_name+keep_alias_label, keep_email or "
     "keep_phone"),
    ({"merge_external_id": "u1", "merge_email": "a@x.io", "keep_external_id": "u2"}, "merge_email",
     f"merge_external_id is set too: {ONE_MERGE}"),
    ({"merge_external_id": "u1", "keep_external_id": "u2", "keep_alias_name": "n", "keep_alias_label": "l"},
     "keep_alias_name", "keep_external_id is set too: give exactly one of keep_external_id, "
                        "keep_alias_name+keep_alias_label, keep_email or keep_phone"),
    ({"merge_external_id": "u1", "keep_external_id": "u1"}, "keep_external_id",
     "the same external_id as merge_external_id: a profile cannot be merged into itself"),
    ({"merge_email": "a@x.io", "keep_email": "a@x.io", "prioritization": "identified"}, "keep_email",
     "the same email and prioritization as merge_email: a profile cannot be merged into itself"),
    ({"merge_alias_name": "n", "merge_alias_label": "l", "keep_alias_name": "n", "keep_alias_label": "l"},
     "keep_alias_name", "the same alias as merge_alias_name: a profile cannot be merged into itself"),
    ({"merge_alias_name": "n", "merge_alias_label": "", "keep_external_id": "u"}, "merge_alias_label",
     "empty while merge_alias_name is set (a user alias is the pair)"),
    ({"merge_email": "nobody", "keep_external_id": "u"}, "merge_email", "not an email address (name@domain.tld)"),
    ({"merge_external_id": "u", "keep_phone": "0045 1234"}, "keep_phone",
     "not a phone number in E.164 format (+, the country code and the number, at most 15 digits)"),
    ({"merge_email": "a@x.io", "keep_external_id": "u", "prioritization": "[identified"}, "prioritization",
     "not valid JSON (Expecting value at line 1 column 2)"),
    ({"merge_email": "a@x.io", "keep_external_id": "u", "prioritization": "identified,unidentified"},
     "prioritization", BAD),
    ({"merge_email": "a@x.io", "keep_external_id": "u", "merge_prioritization": "newest"},
     "merge_prioritization", BAD),
    ({"merge_email": "a@x.io", "keep_external_id": "u", "prioritization": []}, "prioritization", BAD),
    ({"merge_email": "a@x.io", "keep_external_id": "u", "prioritization": "identified,identified"},
     "prioritization", BAD),
    ({"merge_external_id": "x" * 988, "keep_external_id": "u"}, "merge_external_id", "longer than 987 bytes (988)"),
])
def test_invalid_rows_name_their_column(row, column, reason):
    assert invalid(row) == (column, reason)


def test_the_header_needs_both_sides():
    w = make_writer("user_merge", None, WriterOptions())
    assert w.check_columns(["merge_email", "keep_external_id", "prioritization", "note"]) == [
        "user_merge ignores the columns: note"]
    with pytest.raises(HeaderError, match="no profile-to-keep column: user_merge needs keep_external_id, "
                                          "keep_alias_name\\+keep_alias_label, keep_email or keep_phone"):
        w.check_columns(["merge_external_id", "external_id"])
    with pytest.raises(HeaderError, match="no profile-to-merge column"):
        w.check_columns(["keep_external_id"])
    with pytest.raises(HeaderError, match="column keep_alias_name needs a column keep_alias_label beside it"):
        w.check_columns(["merge_external_id", "keep_alias_name"])
