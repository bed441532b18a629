"""How one attributes object changes a profile's attributes (pure)."""

from __future__ import annotations

from connector.sandbox.attributes import apply_attributes, apply_value


def test_set_null_inc():
    attrs = apply_attributes({"a": 1, "gone": "x", "n": 5}, {"external_id": "u", "a": 2, "gone": None,
                                                            "n": {"inc": -2}, "m": {"inc": 3}})
    assert attrs == {"a": 2, "n": 3, "m": 3}


def test_identifiers_and_flags_are_not_attributes():
    obj = {"user_alias": {"alias_name": "n", "alias_label": "l"}, "_update_existing_only": False,
           "_merge_objects": True, "x": 1}
    assert apply_attributes({}, obj) == {"x": 1}


def test_arrays_add_remove_replace_and_dedupe():
    assert apply_value(["a", "b"], {"add": ["c", "a"]}, False) == ["b", "c", "a"]
    assert apply_value(["a", "b"], {"remove": ["a"], "add": ["d"]}, False) == ["b", "d"]
    assert apply_value(None, {"add": ["x"]}, False) == ["x"]
    assert apply_value(["a"], ["z", "y", "z"], False) == ["y", "z"]


def test_nested_objects_replace_or_deep_merge():
    old = {"fav": {"title": "A", "meta": {"year": 1960, "genre": "x"}}}
    replaced = apply_attributes(old, {"fav": {"meta": {"year": 1961}}})
    assert replaced == {"fav": {"meta": {"year": 1961}}}
    merged = apply_attributes(old, {"_merge_objects": True, "fav": {"meta": {"year": 1961}, "extra": 1}})
    assert merged == {"fav": {"title": "A", "meta": {"year": 1961, "genre": "x"}, "extra": 1}}


def test_array_of_objects_operators():
    old = [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]
    ops = {"$add": [{"id": 3}], "$remove": [{"$identifier_key": "id", "$identifier_value": 1}],
           "$update": [{"$identifier_key": "id", "$identifier_value": 2, "$new_object": {"v": "B"}}]}
    assert apply_value(old, ops, True) == [{"id": 2, "v": "B"}, {"id": 3}]
    assert apply_value(old, ops, False) == [{"id": 2, "v": "b"}, {"id": 3}]


def test_long_strings_are_silently_not_applied_and_groups_merge_by_id():
    attrs = apply_attributes({"s": "old"}, {"s": "x" * 256, "t": "y" * 255})
    assert attrs == {"s": "old", "t": "y" * 255}
    first = [{"subscription_group_id": "g1", "subscription_state": "subscribed"}]
    second = [{"subscription_group_id": "g2", "subscription_state": "subscribed"},
              {"subscription_group_id": "g1", "subscription_state": "unsubscribed"}]
    attrs = apply_attributes(apply_attributes({}, {"subscription_groups": first}), {"subscription_groups": second})
    assert attrs["subscription_groups"] == [{"subscription_group_id": "g1", "subscription_state": "unsubscribed"},
                                            {"subscription_group_id": "g2", "subscription_state": "subscribed"}]
