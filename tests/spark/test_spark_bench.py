"""bench/spark_bench.py's two sides read the same rows: the DataFrame Spark writes and the dicts
`connector.export` takes hold the same typed values (no timing here: that is the bench's)."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import spark_bench  # noqa: E402
from bench_data import CASES, write_rows  # noqa: E402


def test_both_sides_of_the_bench_get_the_same_typed_rows(spark, tmp_path):
    for name in ("attributes", "events"):
        case = CASES[name]
        path = write_rows(tmp_path / f"{name}.csv", case, 50)
        df = spark_bench.frame(spark, case, path, 3)
        from_spark = sorted((r.asDict() for r in df.collect()), key=lambda r: tuple(map(str, r.values())))
        from_csv = sorted(spark_bench.csv_rows(case, path), key=lambda r: tuple(map(str, r.values())))
        assert from_spark == from_csv and len(from_csv) == 50
        df.unpersist()
