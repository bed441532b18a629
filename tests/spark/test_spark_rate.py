"""One rate budget for the whole write: with the sandbox enforcing 200 requests/s, the tasks together
never put more than 5% over it into any 1-second window."""

from __future__ import annotations

from collections import Counter

import connector.spark
from conftest import API_KEY, event_options, events_frame

from connector.sandbox import Sandbox

LIMIT = 200
ROWS, PARTITIONS, BATCH = 9_600, 8, 10      # 960 requests: about 5 s at the limit


def busiest_second(times: list[float]) -> int:
    """The most requests in any 1-second window (each window starting at a request)."""
    times = sorted(times)
    most, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def test_no_second_holds_more_than_the_limit_across_tasks(spark, workdir, key_env):
    # the sandbox's bucket holds a second's worth: it enforces the average; the windows are measured here
    with Sandbox(api_key=API_KEY, track_rps=LIMIT, track_burst=LIMIT) as sandbox:
        df = events_frame(spark, ROWS, PARTITIONS)
        report = connector.spark.write(df, **event_options(sandbox, workdir, requests_per_second=LIMIT,
                                                           batch_size=BATCH))
        requests = sandbox.requests("/users/track")
        received = Counter(r["object"]["external_id"] for r in sandbox.received("/users/track"))

    assert report.status == "success" and report.rows_delivered == ROWS
    assert len(received) == ROWS and set(received.values()) == {1}
    accepted = [r["time"] for r in requests if r["status"] == 201]
    assert len(accepted) >= ROWS // BATCH
    assert busiest_second([r["time"] for r in requests]) <= LIMIT * 1.05
    throttled = sum(1 for r in requests if r["status"] == 429)
    assert throttled <= len(requests) * 0.01, f"{throttled} of {len(requests)} requests got 429"
