"""Measure the state file: ack (settle) cost, lookup cost and file size per million users.

    python bench/state_bench.py [--users 1000000] [--attributes 5]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time

from connector.state.fingerprint import InputIdentity, key_hash, value_fp
from connector.state.store import Settled, StateStore


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--attributes", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "state.db")
        store = StateStore(path)
        store.begin_job("bench", InputIdentity("x", "bench"), False, False)
        names = [store.name_id(f"attr_{i}") for i in range(args.attributes)]
        users = [key_hash("bench", f"external_id:user-{i}") for i in range(args.users)]
        started = time.perf_counter()
        for i in range(0, args.users, 75):      # one transaction per acknowledged batch of 75
            batch = users[i:i + 75]
            rows = list(range(i + 1, i + len(batch) + 1))
            record = store.sending(rows)
            store.settle(Settled(record, rows, users={u: {n: value_fp(f"v{j}{n}") for n in names}
                                                        for j, u in enumerate(batch)}))
        settle_s = time.perf_counter() - started
        store.close()
        size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
        store = StateStore(path)
        sample = random.Random(1).sample(users, min(100_000, args.users))
        started = time.perf_counter()
        found = 0
        for i in range(0, len(sample), 500):
            found += len(store.users(sample[i:i + 500]))
        lookup_s = time.perf_counter() - started
        assert found == len(sample)
        store.close()
        per_million = 1_000_000 / args.users
        print(f"{args.users} users x {args.attributes} attributes")
        print(f"acknowledging (75 per transaction): {settle_s:.1f}s = {args.users / settle_s:,.0f} users/s")
        print(f"lookups (500 keys per SELECT, random order): {lookup_s / len(sample) * 1e6:.1f} us per user")
        print(f"state file: {size / 1e6 * per_million:.0f} MB per million users")


if __name__ == "__main__":
    main()
