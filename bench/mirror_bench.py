"""Measure on_removed's audience in the state file: joining it with each acknowledgement, finding the
users who left, recording their removals, and its size per million users.

    python bench/mirror_bench.py [--users 1000000] [--attributes 5] [--leaving 0.05]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from connector.state.audience import Audience, attribute_names
from connector.state.store import Settled, StateStore


def main() -> None:
    parser = argparse.ArgumentParser()
    for flag, default in (("--users", 1_000_000), ("--attributes", 5), ("--leaving", 0.05)):
        parser.add_argument(flag, type=type(default), default=default)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "state.db")
        store = StateStore(path)
        first = Audience(store, "bench", "bench", attribute_names, digest="a", keep=False)
        store.audience = first
        bodies = [{"external_id": f"user-{i}", **{f"attr_{n}": n for n in range(args.attributes)}}
                  for i in range(args.users)]
        started = time.perf_counter()
        for i in range(0, args.users, 75):      # one transaction per acknowledged batch of 75
            changes = [first.change(b, f"external_id:{b['external_id']}") for b in bodies[i:i + 75]]
            store.settle(Settled(None, [], members=changes))
        join_s = time.perf_counter() - started
        first.complete()
        store.close()       # checkpointed: the size of the file itself
        size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
        store = StateStore(path)
        second = Audience(store, "bench", "bench", attribute_names, digest="b", keep=False)
        store.audience = second
        stay = args.users - round(args.users * args.leaving)
        started = time.perf_counter()
        for i in range(0, stay, 75):            # the users who stay are acknowledged again
            changes = [second.change(b, f"external_id:{b['external_id']}") for b in bodies[i:min(i + 75, stay)]]
            store.settle(Settled(None, [], members=changes))
        again_s = time.perf_counter() - started
        started = time.perf_counter()
        figures = second.figures()
        leaving = list(second.members())
        find_s = time.perf_counter() - started
        started = time.perf_counter()
        for i in range(0, len(leaving), 75):    # one transaction per acknowledged batch of removals
            second.removed([(m.user, None) for m in leaving[i:i + 75]])
        remove_s = time.perf_counter() - started
        assert figures.leaving == len(leaving) == args.users - stay and second.figures().leaving == 0
        store.close()
        print(f"{args.users} users x {args.attributes} attributes, {len(leaving)} leaving")
        print(f"joining (75 per transaction): {args.users / join_s:,.0f} users/s; again: {stay / again_s:,.0f} users/s")
        print(f"finding who left (count + read): {find_s:.2f}s; removals recorded: {len(leaving) / remove_s:,.0f} users/s")
        print(f"audience in the state file: {size / 1e6 * 1_000_000 / args.users:.0f} MB per million users")


if __name__ == "__main__":
    main()
