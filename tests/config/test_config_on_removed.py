"""on_removed and max_removed_ratio: which modes may undo what, what they need, and their defaults."""

from __future__ import annotations

import pytest

from config_helpers import minimal, parse, problems_of

ATTRS = {"mode": "user_track", "track_record_type": "user_profile_attributes"}
SUBS = {"mode": "user_subscription"}


def test_the_defaults_change_nothing():
    settings = parse(minimal())
    assert (settings.on_removed, settings.max_removed_ratio) == ("ignore", 0.2)


@pytest.mark.parametrize("mode, value", [(ATTRS, "unset"), (ATTRS, "delete"), (SUBS, "unsubscribe"), (SUBS, "delete")])
def test_each_audience_mode_takes_its_removals(mode, value):
    settings = parse(minimal(**mode, on_removed=value, state_file="s.db", max_removed_ratio=0.5))
    assert (settings.on_removed, settings.max_removed_ratio) == (value, 0.5)


def test_a_removal_a_mode_cannot_make_is_refused_with_where_it_applies():
    assert problems_of(minimal(**ATTRS, on_removed="unsubscribe", state_file="s.db")) == (
        "on_removed: unsubscribe applies to mode user_subscription, not to user_track / user_profile_attributes",)
    assert problems_of(minimal(**SUBS, on_removed="unset", state_file="s.db")) == (
        "on_removed: unset applies to mode user_track with track_record_type user_profile_attributes, "
        "not to user_subscription",)
    assert problems_of(minimal(on_removed="delete", state_file="s.db")) == (      # mode user_delete
        "on_removed: delete applies to mode user_track with track_record_type user_profile_attributes or "
        "mode user_subscription, not to user_delete",)
    for record_type in ("custom_events", "purchases"):
        (problem,) = problems_of(minimal(mode="user_track", track_record_type=record_type, on_removed="delete",
                                         state_file="s.db"))
        assert problem.startswith(f"on_removed: is refused for {record_type} (a sent event or purchase")


def test_on_removed_needs_a_state_file_and_the_ratio_needs_on_removed():
    assert problems_of(minimal(**ATTRS, on_removed="unset")) == (
        "state_file: is required when on_removed is unset (it keeps the audience)",)
    assert problems_of(minimal(**ATTRS, max_removed_ratio=0.1)) == (
        "max_removed_ratio: applies only when on_removed is unset, unsubscribe or delete",)
    assert parse(minimal(**ATTRS, on_removed="ignore")).on_removed == "ignore"


@pytest.mark.parametrize("bad", [1.5, -0.1, "0.2", True])
def test_the_ratio_is_a_share(bad):
    (problem,) = problems_of(minimal(**ATTRS, on_removed="unset", state_file="s.db", max_removed_ratio=bad))
    assert problem.startswith("max_removed_ratio: ")


def test_an_unknown_removal_is_the_schemas_to_refuse():
    (problem,) = problems_of(minimal(**ATTRS, on_removed="purge", state_file="s.db"))
    assert problem.startswith("on_removed: ") and "purge" not in problem.split(":", 1)[0]
