"""Braze's rate buckets for the newer endpoints: which paths share one, their headers, their 429s, their settings."""

from __future__ import annotations

import argparse

import pytest

from connector.errors import ConfigError
from connector.sandbox import Sandbox
from connector.sandbox.command import register
from connector.sandbox.ratelimit import RateLimits

GROUP = "3f2b6a4e-8c1d-4e5f-9a7b-0c1d2e3f4a5b"
BODIES = {
    "/users/merge": {"merge_updates": [{"identifier_to_merge": {"external_id": "a"},
                                        "identifier_to_keep": {"external_id": "b"}}]},
    "/v2/subscription/status/set": {"subscription_groups": [
        {"subscription_group_id": GROUP, "subscription_state": "subscribed", "external_ids": ["a"]}]},
    "/subscription/status/set": {"subscription_group_id": GROUP, "subscription_state": "subscribed",
                                 "external_id": ["a"]},
    "/users/external_ids/rename": {"external_id_renames": [{"current_external_id": "a", "new_external_id": "b"}]},
    "/users/external_ids/remove": {"external_ids": ["a"]},
    "/users/delete": {"external_ids": ["zz"]},
    "/users/track": {"attributes": [{"external_id": "t"}]},
}


def test_default_limits_are_braze_s(client):
    expected = {"/users/track": "3000", "/users/delete": "999", "/users/merge": "999",
                "/v2/subscription/status/set": "250", "/users/external_ids/rename": "50",
                "/users/external_ids/remove": "50"}
    got = {path: client.post(path, BODIES[path]).headers["X-RateLimit-Limit"] for path in expected}
    assert got == expected


@pytest.mark.parametrize("bucket,paths,other", [
    ("subscription", ["/v2/subscription/status/set", "/subscription/status/set"], "/users/external_ids/rename"),
    ("users", ["/users/delete", "/users/merge"], "/users/track"),
    ("rename", ["/users/external_ids/rename", "/users/external_ids/rename"], "/users/external_ids/remove"),
    ("remove", ["/users/external_ids/remove", "/users/external_ids/remove"], "/v2/subscription/status/set"),
])
def test_each_bucket_counts_its_paths_and_answers_429_beyond_its_limit(make_client, bucket, paths, other):
    c = make_client(**{f"{bucket}_rps": 0.01, f"{bucket}_burst": 2})
    answers = [c.post(path, BODIES[path]) for path in paths]
    assert all(200 <= a.status_code < 300 for a in answers)
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["1", "0"]
    assert {a.headers["X-RateLimit-Limit"] for a in answers} == {"2"}
    before = len(c.sandbox.received())
    refused = c.post(paths[0], BODIES[paths[0]])
    assert refused.status_code == 429 and refused.json() == {"message": "Too Many Requests"}
    assert float(refused.headers["X-Ratelimit-Retry-After"]) > 0 and refused.headers["X-RateLimit-Remaining"] == "0"
    assert len(c.sandbox.received()) == before                   # nothing of a refused request applied
    assert 200 <= c.post(other, BODIES[other]).status_code < 300  # another bucket is untouched


def test_rate_settings_are_checked():
    for bad in ({"subscription_rps": 0}, {"rename_rps": -1}, {"remove_burst": 0.5}):
        with pytest.raises(ConfigError):
            Sandbox(**bad)
    with pytest.raises(ValueError):
        RateLimits(rates={"export": 1.0})
    limits = RateLimits(rates={"rename": 2.0}, bursts={"subscription": 7})
    assert (limits.buckets["rename"].capacity, limits.buckets["subscription"].capacity) == (6.0, 7)
    assert limits.buckets["track"].capacity == 3000.0


def test_command_line_rates():
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["sandbox", "--subscription-rps", "5", "--rename-rps", "2", "--remove-rps", "3",
                              "--merges", "manual"])
    assert (args.subscription_rps, args.rename_rps, args.remove_rps, args.merges) == (5.0, 2.0, 3.0, "manual")
    defaults = parser.parse_args(["sandbox"])
    assert (round(defaults.subscription_rps, 2), round(defaults.rename_rps, 2), defaults.users_rps) == (
        83.33, 16.67, 333.0)
    for bad in (["--rename-rps", "0"], ["--subscription-rps", "fast"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["sandbox", *bad])
