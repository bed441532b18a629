"""The mode cards: one per mode / record type, each naming its Braze call, limits, bucket and rules."""

from __future__ import annotations

import pytest

from connector.config import load_schema
from connector.errors import ConfigError
from connector.modes import BUCKET_RATES, CARDS, MODES, RECORD_TYPES, card_for


@pytest.mark.parametrize("mode, record_type, path, bucket", [
    ("user_track", "user_profile_attributes", "/users/track", "track"),
    ("user_track", "custom_events", "/users/track", "track"),
    ("user_track", "purchases", "/users/track", "track"),
    ("user_new_alias", None, "/users/alias/new", "users"),
    ("user_identifying", None, "/users/identify", "users"),
    ("user_delete", None, "/users/delete", "users"),
    ("user_subscription", None, "/v2/subscription/status/set", "subscription"),
    ("user_merge", None, "/users/merge", "users"),
    ("user_rename_external_id", None, "/users/external_ids/rename", "rename"),
])
def test_each_card_names_its_endpoint_and_bucket(mode, record_type, path, bucket):
    card = card_for(mode, record_type)
    assert (card.path, card.bucket) == (path, bucket)
    assert card.default_rate == BUCKET_RATES[bucket]


def test_the_schema_offers_exactly_the_modes_and_record_types_of_the_cards():
    schema = load_schema()["properties"]
    assert schema["mode"]["enum"] == list(MODES)
    assert schema["track_record_type"]["enum"] == list(RECORD_TYPES)
    assert len({(c.mode, c.record_type) for c in CARDS}) == len(CARDS)


def test_limits_replay_safety_and_state_rules():
    attributes = card_for("user_track", "user_profile_attributes")
    events = card_for("user_track", "custom_events")
    assert attributes.objects_per_request("combined_50") == 50 and attributes.objects_per_request("per_array_75") == 75
    assert card_for("user_delete", None).objects_per_request("combined_50") == 50
    assert attributes.replay_safe and not events.replay_safe and not card_for("user_track", "purchases").replay_safe
    assert [c.name for c in CARDS if c.delta] == ["user_track / user_profile_attributes", "user_subscription"]
    assert [c.record_type for c in CARDS if c.dedupe] == ["custom_events", "purchases"]


@pytest.mark.parametrize("mode, record_type, words", [
    ("user_upsert", None, "mode must be one of"),
    ("user_track", None, "track_record_type must be one of"),
    ("user_delete", "purchases", "applies only to mode user_track"),
])
def test_an_unknown_combination_is_a_config_error(mode, record_type, words):
    with pytest.raises(ConfigError, match=words):
        card_for(mode, record_type)
