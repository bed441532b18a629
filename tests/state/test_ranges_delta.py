"""RangeSet and the delta of one attributes object, directly."""

from __future__ import annotations

import random

from connector.state.delta import UNKNOWN, apply, diff, identifier_keys, is_operator, pack, unpack
from connector.state.fingerprint import value_fp
from connector.state.ranges import RangeSet


def test_rows_added_out_of_order_merge_into_ranges_and_report_the_changes():
    s = RangeSet()
    assert s.add(5) == ([], (5, 5))
    assert s.add(7) == ([], (7, 7))
    assert s.add(6) == ([7], (5, 7))
    assert s.add(4) == ([5], (4, 7))
    assert s.add(8) == ([], (4, 8))
    assert s.add(6) == ([], None)
    assert list(s) == [(4, 8)] and len(s) == 5 and 3 not in s and 4 in s and 8 in s and 9 not in s


def test_add_many_nets_its_changes_against_a_table_mirror():
    table: dict[int, int] = {}
    s = RangeSet()
    rows = list(range(1, 1001))
    random.Random(3).shuffle(rows)
    for i in range(0, 1000, 75):
        deleted, written = s.add_many(rows[i:i + 75])
        for lo in deleted:
            table.pop(lo, None)
        table.update(written)
        assert sorted(table.items()) == list(s)
    assert list(s) == [(1, 1000)] and s.range_count == 1
    assert list(RangeSet([(5, 9), (1, 3), (4, 4), (12, 12)])) == [(1, 9), (12, 12)]


def _ids():
    names: dict[str, int] = {}
    return lambda name: names.setdefault(name, len(names) + 1)


def test_unchanged_values_are_left_out_and_identifiers_and_flags_kept():
    nid = _ids()
    stored = {nid("a"): value_fp(1), nid("tags"): value_fp(["x", "y"]), nid("fav"): value_fp({"k": 1, "j": 2})}
    body = {"user_alias": {"alias_name": "n", "alias_label": "l"}, "a": 1, "tags": ["y", "x"],
            "fav": {"j": 2, "k": 1}, "_update_existing_only": False}
    v = diff(body, "alias:l\0n", stored.get, nid, known_user=True)
    assert v.body == {"user_alias": {"alias_name": "n", "alias_label": "l"}, "tags": ["y", "x"],
                      "_update_existing_only": False}
    assert v.unchanged == 2 and v.changes == {nid("tags"): value_fp(["y", "x"])}
    same = diff({"external_id": "u", "a": 1}, "external_id:u", stored.get, nid, known_user=True)
    assert same.body is None and same.unchanged == 1


def test_null_is_a_change_only_over_a_stored_value():
    nid = _ids()
    stored = {nid("a"): value_fp("x")}
    v = diff({"external_id": "u", "a": None, "b": None}, "external_id:u", stored.get, nid, known_user=True)
    assert v.body == {"external_id": "u", "a": None} and v.changes == {nid("a"): None} and v.unchanged == 1
    assert apply(stored, v.changes) == {}


def test_operators_are_always_sent_and_leave_the_value_unknown():
    nid = _ids()
    assert is_operator({"inc": 2}) and is_operator({"add": ["a"], "remove": ["b"]}) and is_operator({"$add": []})
    assert not is_operator({"x": 1}) and not is_operator({}) and not is_operator({"inc": 1, "x": 2})
    v = diff({"external_id": "u", "n": {"inc": 1}}, "external_id:u", {}.get, nid, known_user=True)
    assert v.body == {"external_id": "u", "n": {"inc": 1}} and v.changes == {nid("n"): UNKNOWN}
    after = diff({"external_id": "u", "n": None}, "external_id:u", apply({}, v.changes).get, nid, known_user=True)
    assert after.body == {"external_id": "u", "n": None}


def test_a_merged_nested_object_differs_from_the_same_object_set_whole():
    nid = _ids()
    stored = {nid("fav"): value_fp({"k": 1})}
    body = {"external_id": "u", "fav": {"k": 1}, "_merge_objects": True}
    v = diff(body, "external_id:u", stored.get, nid, known_user=True)
    assert v.body == body and v.changes == {nid("fav"): value_fp({"k": 1}, merged=True)}
    again = diff(body, "external_id:u", apply(stored, v.changes).get, nid, known_user=True)
    assert again.body is None


def test_an_object_without_attributes_is_sent_once_per_user():
    nid = _ids()
    body = {"external_id": "u", "_update_existing_only": True}
    assert diff(body, "external_id:u", {}.get, nid, known_user=False).body == body
    assert diff(body, "external_id:u", {}.get, nid, known_user=True).body is None


def test_email_is_an_identifier_only_when_it_identifies_the_user():
    assert "email" in identifier_keys("email:a@x.com") and "phone" not in identifier_keys("email:a@x.com")
    assert "email" not in identifier_keys("external_id:u1")
    nid = _ids()
    v = diff({"email": "a@x.com", "phone": "+1"}, "email:a@x.com", {nid("phone"): value_fp("+1")}.get, nid, True)
    assert v.body is None and v.unchanged == 1


def test_fingerprints_pack_into_12_bytes_each():
    fps = {3: value_fp("a"), 1: UNKNOWN, 70000: value_fp([1])}
    blob = pack(fps)
    assert len(blob) == 36 and unpack(blob) == fps and unpack(None) == {}


def test_a_rangeset_is_safe_to_read_while_other_threads_add():
    """The race that crashed a 5,000,000-row delta run: a membership test while senders add rows."""
    import threading

    from connector.state.ranges import RangeSet

    ranges = RangeSet()
    errors: list[BaseException] = []
    done = threading.Event()

    def add(start: int) -> None:
        try:
            for n in range(start, 400_000, 4):       # interleaved, so ranges keep merging and splitting
                ranges.add(n)
        except BaseException as exc:   # noqa: BLE001 - the test reports whatever a thread hit
            errors.append(exc)

    def look() -> None:
        try:
            while not done.is_set():
                for n in range(0, 400_000, 997):
                    n in ranges         # noqa: B015 - the membership test is the point
        except BaseException as exc:   # noqa: BLE001
            errors.append(exc)

    adders = [threading.Thread(target=add, args=(k,)) for k in range(4)]
    reader = threading.Thread(target=look)
    reader.start()
    for t in adders:
        t.start()
    for t in adders:
        t.join()
    done.set()
    reader.join()
    assert errors == []
    assert len(ranges) == 400_000 and list(ranges) == [(0, 399_999)]
