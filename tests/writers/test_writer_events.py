"""user_track / custom_events and purchases: required fields, properties, precedence, limits."""

from __future__ import annotations

from datetime import datetime

import pytest

from connector.writers.values import NOT_UTF8
from connector.errors import InvalidRow
from connector.writers import Item
from connector.modes import make_writer
from connector.writers import WriterOptions

EVENT = {"external_id": "u1", "name": "login", "time": "2024-01-02T03:04:05Z"}
PURCHASE = {"external_id": "u1", "product_id": "sku-1", "currency": "usd", "price": "9.99", "time": 1704164645}


def build(kind, row, **options):
    return make_writer("user_track", kind, WriterOptions(**options)).build(row)


def invalid(kind, row, **options) -> tuple[str | None, str]:
    with pytest.raises(InvalidRow) as caught:
        build(kind, row, **options)
    return caught.value.column, caught.value.reason


def test_event_row_becomes_an_event_object():
    item = build("custom_events", {**EVENT, "app_id": "app", "color": "red", "n": 3})
    assert item == Item(
        "events",
        {
            "external_id": "u1",
            "name": "login",
            "time": "2024-01-02T03:04:05Z",
            "app_id": "app",
            "properties": {"color": "red", "n": 3},
        },
        "external_id:u1",
    )



def test_event_without_properties_has_no_properties_key():
    assert "properties" not in build("custom_events", {**EVENT, "color": None}).body


@pytest.mark.parametrize("column", ["name", "time"])
def test_event_required_columns(column):
    assert invalid("custom_events", {**EVENT, column: None}) == (column, "required, but empty")
    row = dict(EVENT)
    del row[column]
    assert invalid("custom_events", row) == (column, "required, but empty")


def test_event_email_and_phone_go_top_level_never_in_properties():
    item = build("custom_events", {**EVENT, "email": "a@b.c", "phone": "+1", "color": "red"})
    assert item.body["email"] == "a@b.c" and item.body["phone"] == "+1"
    assert item.body["properties"] == {"color": "red"}
    by_email = build("custom_events", {"email": "a@b.c", "phone": None, "name": "x", "time": 0})
    assert by_email == Item("events", {"email": "a@b.c", "name": "x", "time": "1970-01-01T00:00:00Z"}, "email:a@b.c")


def test_event_by_alias_gets_no_explicit_false():
    row = {"alias_name": "n", "alias_label": "l", "name": "x", "time": 0}
    assert "_update_existing_only" not in build("custom_events", row).body
    assert build("custom_events", row, update_existing_only=True).body["_update_existing_only"] is True
    assert build("custom_events", {**row, "_update_existing_only": "false"}).body["_update_existing_only"] is False


def test_event_update_existing_only_column_overrides_option():
    body = build("custom_events", {**EVENT, "_update_existing_only": "0"}, update_existing_only=True).body
    assert body["_update_existing_only"] is False
    assert "_update_existing_only" not in build("custom_events", EVENT).body


def test_properties_object_and_columns_merge_column_wins():
    row = {**EVENT, "properties": '{"color": "blue", "size": 2, "gone": null}', "color": "red"}
    assert build("custom_events", row).body["properties"] == {"color": "red", "size": 2}


def test_null_column_leaves_the_properties_key():
    row = {**EVENT, "properties": {"color": "blue"}, "color": None}
    assert build("custom_events", row).body["properties"] == {"color": "blue"}


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        ("[1]", "must be a JSON object"),
        ("{bad", "not valid JSON (Expecting property name enclosed in double quotes at line 1 column 2)"),
        ({"": 1}, "property '': property names must not be empty"),
        ({"$x": 1}, "property '$x': property names must not start with $"),
        ({"time": 1}, "property 'time': Braze reserves the property name time"),
        ({"event_name": "x"}, "property 'event_name': Braze reserves the property name event_name"),
        ({"k" * 256: 1}, f"property {'k' * 77 + '...'!r}: property names are at most 255 characters"),
        ({"s": "v" * 256}, "property 's': text longer than 255 characters (256)"),
        ({"f": float("nan")}, "property 'f': NaN or Infinity is not allowed"),
        ({"u": "\udce9"}, f"property 'u': {NOT_UTF8}"),
    ],
)
def test_properties_object_rules(properties, reason):
    assert invalid("custom_events", {**EVENT, "properties": properties}) == ("properties", reason)


def test_property_column_rules():
    assert invalid("custom_events", {**EVENT, "note": "v" * 256}) == ("note", "text longer than 255 characters (256)")
    assert invalid("custom_events", {**EVENT, "note": "\udc80"}) == ("note", NOT_UTF8)
    assert invalid("custom_events", {**EVENT, "f": float("inf")}) == ("f", "NaN or Infinity is not allowed")
    assert invalid("custom_events", {**EVENT, "l": [1, float("nan")]}) == ("l", "NaN or Infinity is not allowed")
    assert invalid("custom_events", {**EVENT, "event_name": "x"}) == (
        "event_name",
        "Braze reserves this property name (the event's name goes in column name)",
    )


def test_nested_structure_inside_properties_object_is_checked():
    assert invalid("custom_events", {**EVENT, "properties": {"l": [float("nan")]}}) == (
        "properties",
        "NaN or Infinity is not allowed",
    )


def test_property_values_keep_their_types_and_datetimes_become_iso():
    row = {**EVENT, "b": False, "d": datetime(2024, 1, 2, 3, 4, 5, 123000), "l": ["a"], "o": {"k": 1}}
    assert build("custom_events", row).body["properties"] == {
        "b": False,
        "d": "2024-01-02T03:04:05.123000Z",
        "l": ["a"],
        "o": {"k": 1},
    }


def test_pre_formatted_property_column_parsed_and_unlisted_stays_text():
    row = {**EVENT, "items": '[{"id": 1}]', "raw": "[1,2]"}
    props = build("custom_events", row, pre_formatted_fields=frozenset({"items"})).body["properties"]
    assert props == {"items": [{"id": 1}], "raw": "[1,2]"}
    assert invalid("custom_events", {**EVENT, "items": "[1,"}, pre_formatted_fields=frozenset({"items"})) == (
        "items",
        "not valid JSON (Expecting value at line 1 column 4)",
    )


def test_event_properties_limit_is_100_kb():
    ok = {f"k{i}": "v" * 250 for i in range(400)}  # about 104,000 bytes
    assert len(build("custom_events", {**EVENT, "properties": dict(list(ok.items())[:390])}).body["properties"]) == 390
    column, reason = invalid("custom_events", {**EVENT, "properties": ok})
    assert column is None
    assert reason.startswith("custom event properties are ") and reason.endswith("bytes as JSON; Braze allows 100 KB")


def test_purchase_properties_limit_is_50_kb():
    big = [{"id": i, "v": "x" * 200} for i in range(260)]
    column, reason = invalid("purchases", {**PURCHASE, "things": big})
    assert column is None and reason.endswith("Braze allows 50 KB") and reason.startswith("purchase properties are ")
    assert build("purchases", {**PURCHASE, "things": big[:200]}).body["properties"]["things"] == big[:200]


def test_event_name_and_app_id_must_be_text():
    assert invalid("custom_events", {**EVENT, "name": 1.5}) == ("name", "must be text")
    assert build("custom_events", {**EVENT, "name": 7}).body["name"] == "7"
    assert invalid("custom_events", {**EVENT, "app_id": ["a"]}) == ("app_id", "must be text")


def test_purchase_row_becomes_a_purchase_object():
    item = build("purchases", {**PURCHASE, "quantity": "2", "app_id": "app", "color": "red", "name": "promo"})
    assert item == Item(
        "purchases",
        {
            "external_id": "u1",
            "product_id": "sku-1",
            "currency": "USD",
            "price": 9.99,
            "quantity": 2,
            "time": "2024-01-02T03:04:05Z",
            "app_id": "app",
            "properties": {"color": "red", "name": "promo"},
        },
        "external_id:u1",
    )


@pytest.mark.parametrize("column", ["product_id", "currency", "price", "time"])
def test_purchase_required_columns(column):
    assert invalid("purchases", {**PURCHASE, column: None}) == (column, "required, but empty")


@pytest.mark.parametrize("value", ["US", "USDX", "U$D", 840, "ÜSD"])
def test_currency_must_be_three_ascii_letters(value):
    assert invalid("purchases", {**PURCHASE, "currency": value}) == (
        "currency",
        "must be a three-letter ISO 4217 code such as USD",
    )


@pytest.mark.parametrize(("value", "sent"), [(5, 5), (2.5, 2.5), ("-1.5", -1.5), (" 3 ", 3.0), ("1e3", 1000.0)])
def test_price_numbers(value, sent):
    assert build("purchases", {**PURCHASE, "price": value}).body["price"] == sent


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("abc", "must be a number"),
        ("1_000", "must be a number"),
        (True, "must be a number"),
        ("nan", "NaN or Infinity is not allowed"),
        ("inf", "NaN or Infinity is not allowed"),
        ("1e999", "NaN or Infinity is not allowed"),
        (float("nan"), "NaN or Infinity is not allowed"),
    ],
)
def test_price_invalid(value, reason):
    assert invalid("purchases", {**PURCHASE, "price": value}) == ("price", reason)


@pytest.mark.parametrize(("value", "sent"), [(1, 1), (100, 100), ("42", 42), (3.0, 3)])
def test_quantity_valid(value, sent):
    assert build("purchases", {**PURCHASE, "quantity": value}).body["quantity"] == sent


@pytest.mark.parametrize("value", [0, 101, "2.0", "x", 2.5, True, "-1", [1]])
def test_quantity_invalid(value):
    assert invalid("purchases", {**PURCHASE, "quantity": value}) == ("quantity", "must be a whole number from 1 to 100")


def test_quantity_null_is_omitted():
    assert "quantity" not in build("purchases", {**PURCHASE, "quantity": None}).body


def test_product_id_limit():
    assert invalid("purchases", {**PURCHASE, "product_id": "p" * 256}) == (
        "product_id",
        "text longer than 255 characters (256)",
    )


def test_purchase_update_existing_only_option():
    assert build("purchases", PURCHASE, update_existing_only=True).body["_update_existing_only"] is True


def test_good_headers_have_no_notes():
    events = make_writer("user_track", "custom_events", WriterOptions())
    assert events.check_columns(["external_id", "name", "time", "app_id", "properties", "color"]) == []
    purchases = make_writer("user_track", "purchases", WriterOptions())
    columns = ["email", "product_id", "currency", "price", "quantity", "time", "name", "_update_existing_only"]
    assert purchases.check_columns(columns) == []
