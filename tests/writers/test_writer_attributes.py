"""user_track / user_profile_attributes: identifiers, values, nulls, flags, pre-formatted fields."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from connector.writers.values import NOT_UTF8
from connector.errors import InvalidRow
from connector.writers import Item
from connector.modes import make_writer
from connector.writers import WriterOptions

UUID = "3b0d9ba6-0e9e-4d4a-a4c3-5a6c2b1e9f00"


def build(row, **options):
    writer = make_writer("user_track", "user_profile_attributes", WriterOptions(**options))
    return writer.build(row)


def invalid(row, **options) -> tuple[str | None, str]:
    with pytest.raises(InvalidRow) as caught:
        build(row, **options)
    return caught.value.column, caught.value.reason


def test_external_id_row_becomes_an_attributes_object():
    item = build({"external_id": "u1", "first_name": "Ann", "age": 31, "vip": True, "score": 2.5})
    assert item == Item(
        "attributes",
        {"external_id": "u1", "first_name": "Ann", "age": 31, "vip": True, "score": 2.5},
        "external_id:u1",
    )



def test_int_identifier_is_sent_as_its_string():
    assert build({"external_id": 42, "braze_id": None}).body == {"external_id": "42"}
    assert build({"braze_id": 7}).key == "braze_id:7"


@pytest.mark.parametrize("value", [4.0, True, ["u1"], {"a": 1}])
def test_other_identifier_types_are_invalid(value):
    assert invalid({"external_id": value}) == ("external_id", "an identifier must be text or an integer")


def test_alias_identifies_and_creates_alias_only_profiles():
    item = build({"alias_name": "n1", "alias_label": "crm", "city": "Oslo"})
    assert item.body == {
        "user_alias": {"alias_name": "n1", "alias_label": "crm"},
        "city": "Oslo",
        "_update_existing_only": False,
    }
    assert item.key == "alias:crm\x00n1"


def test_two_primary_identifiers_are_invalid_and_named():
    column, reason = invalid({"external_id": "u1", "braze_id": "b1"})
    assert column == "braze_id"
    assert reason == "external_id is set too: give exactly one of external_id, braze_id or alias_name+alias_label"
    column, reason = invalid({"braze_id": "b1", "alias_name": "n", "alias_label": "l"})
    assert (column, reason.split(":")[0]) == ("alias_name", "braze_id is set too")


def test_half_an_alias_is_invalid():
    assert invalid({"alias_name": "n", "alias_label": None}) == (
        "alias_label",
        "empty while alias_name is set (a user alias is the pair)",
    )
    assert invalid({"alias_label": "l", "email": "a@b.c"}) == (
        "alias_name",
        "empty while alias_label is set (a user alias is the pair)",
    )


def test_no_identifier_is_invalid():
    column, reason = invalid({"external_id": None, "email": None, "first_name": "A"})
    assert column is None
    assert reason.startswith("no user identifier:")


def test_email_then_phone_identify_without_a_primary():
    assert build({"email": "a@b.c", "phone": "+1555", "x": 1}) == Item(
        "attributes", {"email": "a@b.c", "phone": "+1555", "x": 1}, "email:a@b.c"
    )
    assert build({"email": None, "phone": 15550100}).key == "phone:15550100"


def test_email_identifier_null_is_never_sent_even_with_unset():
    item = build({"email": None, "phone": "+1555", "x": None}, null_values="unset")
    assert item.body == {"phone": "+1555", "x": None}


def test_email_is_an_ordinary_attribute_beside_a_primary():
    item = build({"external_id": "u1", "email": "a@b.c", "phone": None}, null_values="unset")
    assert item.body == {"external_id": "u1", "email": "a@b.c", "phone": None}
    assert item.key == "external_id:u1"


def test_empty_string_identifier_counts_as_empty():
    assert build({"external_id": "", "braze_id": "b"}).key == "braze_id:b"


def test_external_id_limit_is_987_utf8_bytes():
    assert build({"external_id": "é" * 493}).key == "external_id:" + "é" * 493
    assert invalid({"external_id": "é" * 494}) == ("external_id", "longer than 987 bytes (988)")
    assert invalid({"external_id": "a" * 988}) == ("external_id", "longer than 987 bytes (988)")


def test_nulls_skipped_by_default_and_sent_with_unset():
    row = {"external_id": "u1", "a": None, "b": 1}
    assert build(row).body == {"external_id": "u1", "b": 1}
    assert build(row, null_values="unset").body == {"external_id": "u1", "a": None, "b": 1}


def test_identifier_only_row_is_valid():
    assert build({"external_id": "u1", "a": None}).body == {"external_id": "u1"}


def test_missing_columns_in_json_rows_are_not_sent():
    writer = make_writer("user_track", "user_profile_attributes", WriterOptions(null_values="unset"))
    assert writer.build({"external_id": "u1", "a": 1}).body == {"external_id": "u1", "a": 1}
    assert writer.build({"external_id": "u2", "b": 2}).body == {"external_id": "u2", "b": 2}


def test_text_limits_and_utf8():
    assert build({"external_id": "u", "a": "x" * 255}).body["a"] == "x" * 255
    assert invalid({"external_id": "u", "a": "x" * 256}) == ("a", "text longer than 255 characters (256)")
    assert invalid({"external_id": "u", "a": "ok\udcff"}) == ("a", NOT_UTF8)
    assert invalid({"external_id": "u\udc80"}) == ("external_id", NOT_UTF8)
    assert invalid({"email": "a\udc80@b"}) == ("email", NOT_UTF8)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_are_invalid(value):
    assert invalid({"external_id": "u", "score": value}) == ("score", "NaN or Infinity is not allowed")
    assert invalid({"external_id": "u", "o": {"v": [value]}}) == ("o", "NaN or Infinity is not allowed")


def test_datetime_values_are_sent_as_iso_8601_utc():
    tz = timezone(timedelta(hours=9))
    item = build({"external_id": "u", "seen": datetime(2024, 1, 2, 9, 0, tzinfo=tz), "dob": datetime(1990, 5, 6)})
    assert item.body == {"external_id": "u", "seen": "2024-01-02T00:00:00Z", "dob": "1990-05-06"}


def test_unsupported_type_is_invalid():
    assert invalid({"external_id": "u", "blob": b"\x00"}) == ("blob", "unsupported value of type bytes")


def test_huge_integer_is_invalid():
    assert invalid({"external_id": "u", "n": 2**70}) == ("n", "integer out of range (64 bits)")


@pytest.mark.parametrize(("value", "sent"), [("m", "M"), ("F", "F"), ("o", "O"), ("N", "N"), ("p", "P")])
def test_gender_accepts_any_case(value, sent):
    assert build({"external_id": "u", "gender": value}).body["gender"] == sent


def test_gender_other_values_are_invalid():
    assert invalid({"external_id": "u", "gender": "male"}) == ("gender", "must be one of M, F, O, N, P")


@pytest.mark.parametrize("column", ["email_subscribe", "push_subscribe"])
def test_subscribe_states(column):
    assert build({"external_id": "u", column: "Opted_In"}).body[column] == "opted_in"
    assert invalid({"external_id": "u", column: "yes"}) == (column, "must be one of opted_in, subscribed, unsubscribed")


def test_subscription_groups_valid():
    groups = [{"subscription_group_id": UUID, "subscription_state": "unsubscribed"}]
    assert build({"external_id": "u", "subscription_groups": groups}).body["subscription_groups"] == groups
    text = json.dumps(groups)
    listed = build({"external_id": "u", "subscription_groups": text}, pre_formatted_fields=frozenset({"subscription_groups"}))
    assert listed.body["subscription_groups"] == groups


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"subscription_group_id": UUID}, "must be a list of objects with subscription_group_id and subscription_state"),
        (["x"], "each entry must be an object with subscription_group_id and subscription_state"),
        ([{"subscription_group_id": "not-a-uuid", "subscription_state": "subscribed"}], "subscription_group_id must be a UUID"),
        ([{"subscription_group_id": UUID, "subscription_state": "opted_in"}], 'subscription_state must be "subscribed" or "unsubscribed"'),
    ],
)
def test_subscription_groups_invalid(value, reason):
    assert invalid({"external_id": "u", "subscription_groups": value}) == ("subscription_groups", reason)


def test_structured_standard_field_as_unlisted_text_is_invalid():
    assert invalid({"external_id": "u", "subscription_groups": "[]"}) == (
        "subscription_groups",
        "holds text, not JSON structure: list the column in pre_formatted_fields",
    )


def test_bool_standard_fields_convert_text():
    item = build({"external_id": "u", "email_open_tracking_disabled": "TRUE", "push_token_import": 0})
    assert item.body == {"external_id": "u", "email_open_tracking_disabled": True, "push_token_import": False}


def test_nested_object_rules():
    assert build({"external_id": "u", "car": {"make": "VW", "year": 1960}}).body["car"] == {"make": "VW", "year": 1960}
    assert invalid({"external_id": "u", "car": {"the make": "VW"}}) == ("car", "nested key 'the make' contains a space")
    assert invalid({"external_id": "u", "car": {"k" * 256: 1}}) == ("car", "nested key longer than 255 characters")
    assert invalid({"external_id": "u", "car": {"k": "v" * 256}}) == ("car", "nested text longer than 255 characters")
    big = {f"k{i}": "v" * 200 for i in range(300)}
    column, reason = invalid({"external_id": "u", "car": big})
    assert column == "car" and reason.startswith("nested object of ") and reason.endswith("bytes as JSON; Braze allows 50 KB")


def test_array_of_objects_allows_100_kb():
    items = [{"id": i, "name": "v" * 200} for i in range(300)]  # about 65 KB
    assert build({"external_id": "u", "pets": items}).body["pets"] == items
    column, reason = invalid({"external_id": "u", "pets": items * 2})
    assert column == "pets" and reason.endswith("bytes as JSON; Braze allows 100 KB")
    assert reason.startswith("array of objects of ")
    column, reason = invalid({"external_id": "u", "pets": {"$add": items * 2}})
    assert reason.startswith("array of objects update of ")


def test_operators_pass_through():
    row = {"external_id": "u", "count": {"inc": 2}, "tags": {"add": ["a"], "remove": ["b"]}}
    assert build(row).body == row


def test_object_over_4_mb_is_invalid():
    tags = ["t" * 200] * 21000  # a flat array: no per-value limit, but over 4 MB
    assert invalid({"external_id": "u", "tags": tags}) == (
        None,
        "the object is 4263028 bytes as JSON; a Braze request holds at most 4 MB",
    )
    assert len(build({"external_id": "u", "tags": tags[:19000]}).body["tags"]) == 19000


def test_merge_objects_and_update_existing_only_columns_convert_to_booleans():
    row = {"external_id": "u", "_merge_objects": "true", "_update_existing_only": "0", "a": 1}
    assert build(row).body == {"external_id": "u", "a": 1, "_merge_objects": True, "_update_existing_only": False}
    assert invalid({"external_id": "u", "_merge_objects": "yes"}) == (
        "_merge_objects",
        "must be a boolean: true, false, 1 or 0",
    )
    assert invalid({"external_id": "u", "_update_existing_only": 2}) == (
        "_update_existing_only",
        "must be a boolean: true, false, 1 or 0",
    )


@pytest.mark.parametrize(
    ("option", "identifier", "column", "expected"),
    [
        (False, "external_id", None, None),
        (False, "alias", None, False),
        (True, "external_id", None, True),
        (True, "alias", None, True),
        (False, "external_id", "true", True),
        (True, "alias", False, False),
        (False, "alias", "1", True),
        (True, "external_id", "false", False),
        (False, "email", None, None),
    ],
)
def test_update_existing_only_matrix(option, identifier, column, expected):
    row = {"external_id": "u1"} if identifier == "external_id" else {"email": "a@b.c"}
    if identifier == "alias":
        row = {"alias_name": "n", "alias_label": "l"}
    row["_update_existing_only"] = column
    body = build(row, update_existing_only=option).body
    assert body.get("_update_existing_only", "absent") == ("absent" if expected is None else expected)


def test_pre_formatted_column_is_parsed_and_unlisted_kept_as_text():
    row = {"external_id": "u", "tags": '["a","b"]', "raw": "[1,2]", "obj": '{"k": 1}'}
    body = build(row, pre_formatted_fields=frozenset({"tags", "obj"})).body
    assert body == {"external_id": "u", "tags": ["a", "b"], "raw": "[1,2]", "obj": {"k": 1}}


def test_pre_formatted_invalid_json_names_the_column():
    assert invalid({"external_id": "u", "tags": "[1,"}, pre_formatted_fields=frozenset({"tags"})) == (
        "tags",
        "not valid JSON (Expecting value at line 1 column 4)",
    )


def test_pre_formatted_structured_value_is_sent_as_it_is():
    body = build({"external_id": "u", "tags": ["a"]}, pre_formatted_fields=frozenset({"tags"})).body
    assert body["tags"] == ["a"]


def test_pre_formatted_json_nan_is_invalid():
    assert invalid({"external_id": "u", "o": '{"v": NaN}'}, pre_formatted_fields=frozenset({"o"})) == (
        "o",
        "NaN or Infinity is not allowed",
    )


def test_dollar_key_in_json_row_is_invalid():
    assert invalid({"external_id": "u", "$x": 1}) == ("$x", "column names starting with $ are not allowed")


def test_rows_with_many_different_key_sets_each_get_their_own_plan():
    writer = make_writer("user_track", "user_profile_attributes", WriterOptions())
    for i in range(200):
        row = {"external_id": f"u{i}", f"a{i}": i, "gender": "f"} if i % 2 else {f"b{i}": "x", "email": f"{i}@x"}
        expected = {"external_id": f"u{i}", f"a{i}": i, "gender": "F"} if i % 2 else {"email": f"{i}@x", f"b{i}": "x"}
        assert writer.build(row).body == expected


def test_header_plan_and_row_order_agree():
    writer = make_writer("user_track", "user_profile_attributes", WriterOptions())
    assert writer.check_columns(["first_name", "external_id", "gender"]) == []
    body = writer.build({"first_name": "A", "external_id": "u", "gender": "m"}).body
    assert list(body.items()) == [("external_id", "u"), ("first_name", "A"), ("gender", "M")]
