"""check_columns for every mode, and make_writer's refusals."""

from __future__ import annotations

import pytest

from connector.errors import ConfigError, HeaderError
from connector.modes import make_writer
from connector.writers import WriterOptions

TRACK = ("user_profile_attributes", "custom_events", "purchases")


def header_error(mode, record_type, columns, **options) -> str:
    w = make_writer(mode, record_type, WriterOptions(**options))
    with pytest.raises(HeaderError) as caught:
        w.check_columns(columns)
    return str(caught.value)


def notes(mode, record_type, columns, **options) -> list[str]:
    return make_writer(mode, record_type, WriterOptions(**options)).check_columns(columns)


@pytest.mark.parametrize("record_type", TRACK)
def test_duplicate_blank_and_dollar_names_in_track(record_type):
    base = ["external_id", "name", "time", "product_id", "currency", "price"]
    assert header_error("user_track", record_type, base + ["a", "a"]) == "column a appears more than once in the header"
    assert header_error("user_track", record_type, base + [" "]) == "the header's column 7 has a blank name"
    assert header_error("user_track", record_type, base + ["$a"]) == (
        "column $a: column names starting with $ are not allowed"
    )
    assert header_error("user_track", record_type, base + ["b\udcff"]) == (
        "column 'b\\udcff': column name is not valid UTF-8 (if the input is in another encoding, set "
        "input.encoding, e.g. latin-1)"
    )
    assert header_error("user_track", record_type, base + ["k" * 256]) == (
        f"column {'k' * 77}...: column name longer than 255 characters"
    )


@pytest.mark.parametrize("mode", ["user_new_alias", "user_identifying", "user_delete"])
def test_duplicate_blank_and_dollar_names_in_other_modes(mode):
    base = ["external_id", "alias_name", "alias_label"]
    assert header_error(mode, None, base + ["x", "x"]) == "column x appears more than once in the header"
    assert header_error(mode, None, ["", *base]) == "the header's column 1 has a blank name"
    assert header_error(mode, None, [*base, "$x"]) == "column $x: column names starting with $ are not allowed"


@pytest.mark.parametrize(
    ("mode", "record_type"),
    [("user_track", t) for t in TRACK] + [("user_delete", None), ("user_new_alias", None), ("user_identifying", None)],
)
def test_half_an_alias_pair(mode, record_type):
    columns = ["external_id", "alias_name", "name", "time", "product_id", "currency", "price"]
    assert header_error(mode, record_type, columns) == (
        "column alias_name needs a column alias_label beside it (a user alias is the pair)"
    )
    columns[1] = "alias_label"
    assert header_error(mode, record_type, columns) == (
        "column alias_label needs a column alias_name beside it (a user alias is the pair)"
    )


@pytest.mark.parametrize("record_type", TRACK)
def test_track_needs_an_identifier_column(record_type):
    message = header_error("user_track", record_type, ["name", "time", "product_id", "currency", "price", "x"])
    assert message == (
        f"no identifier column: {record_type} needs external_id, braze_id, alias_name+alias_label, email or phone"
    )


@pytest.mark.parametrize("columns", [["email"], ["phone"], ["braze_id"], ["alias_name", "alias_label"]])
def test_any_identifier_column_serves_attributes(columns):
    assert notes("user_track", "user_profile_attributes", columns) == []


@pytest.mark.parametrize(
    ("record_type", "columns", "missing"),
    [
        ("custom_events", ["external_id", "time"], "name"),
        ("custom_events", ["external_id", "name"], "time"),
        ("purchases", ["external_id", "currency", "price", "time"], "product_id"),
        ("purchases", ["external_id", "product_id", "price", "time"], "currency"),
        ("purchases", ["external_id", "product_id", "currency", "time"], "price"),
        ("purchases", ["external_id", "product_id", "currency", "price"], "time"),
    ],
)
def test_track_required_columns(record_type, columns, missing):
    assert header_error("user_track", record_type, columns) == (
        f"missing required column {missing}: {record_type} needs it"
    )


def test_event_name_column_is_refused_for_events():
    assert header_error("user_track", "custom_events", ["external_id", "name", "time", "event_name"]) == (
        "column event_name: Braze reserves this property name (the event's name goes in column name)"
    )


@pytest.mark.parametrize(
    ("mode", "columns", "message"),
    [
        ("user_new_alias", ["alias_name"], "column alias_name needs a column alias_label beside it (a user alias is the pair)"),
        ("user_new_alias", ["external_id"], "missing required column alias_name: user_new_alias needs it"),
        ("user_identifying", ["alias_name", "alias_label"], "missing required column external_id: user_identifying needs it"),
        ("user_identifying", ["external_id"], "missing required column alias_name: user_identifying needs it"),
        ("user_delete", ["email"], "no identifier column: user_delete needs external_id, braze_id or alias_name+alias_label"),
    ],
)
def test_other_modes_required_columns(mode, columns, message):
    assert header_error(mode, None, columns) == message


def test_other_modes_note_ignored_columns():
    assert notes("user_delete", None, ["external_id", "email", "x"]) == ["user_delete ignores the columns: email, x"]
    assert notes("user_new_alias", None, ["alias_name", "alias_label", "external_id"]) == []
    assert notes("user_identifying", None, ["external_id", "alias_name", "alias_label", "braze_id"]) == [
        "user_identifying ignores the columns: braze_id"
    ]


def test_track_notes_for_names_that_differ_by_case_or_spaces():
    assert notes("user_track", "user_profile_attributes", ["external_id", "Email", " gender"]) == [
        "column 'Email' is not 'email' (names are exact): it is sent as its own field",
        "column ' gender' is not 'gender' (names are exact): it is sent as its own field",
    ]


def test_pre_formatted_fields_notes():
    listed = frozenset({"tags", "gone", "external_id"})
    assert notes("user_track", "user_profile_attributes", ["external_id", "tags"], pre_formatted_fields=listed) == [
        "pre_formatted_fields lists external_id, which this mode does not parse as JSON",
        "pre_formatted_fields lists gone, which the input does not have",
    ]
    events = ["external_id", "name", "time", "properties", "items"]
    assert notes("user_track", "custom_events", events, pre_formatted_fields=frozenset({"properties", "items"})) == []
    assert notes("user_track", "custom_events", events, pre_formatted_fields=frozenset({"time"})) == [
        "pre_formatted_fields lists time, which this mode does not parse as JSON"
    ]


def test_make_writer_refusals():
    with pytest.raises(ConfigError, match="track_record_type must be one of"):
        make_writer("user_track", None, WriterOptions())
    with pytest.raises(ConfigError, match="track_record_type applies only to mode user_track, not user_delete"):
        make_writer("user_delete", "purchases", WriterOptions())
    with pytest.raises(ConfigError, match="mode must be one of"):
        make_writer("user_upsert", None, WriterOptions())
    with pytest.raises(ConfigError, match="null_values must be skip or unset"):
        make_writer("user_delete", None, WriterOptions(null_values="drop"))
