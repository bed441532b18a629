"""A compressed input (gzip, bzip2, xz) is read as its content, whatever its name, from a file or
standard input; a damaged or zstd one is one line with exit 1 (input unreadable), never a
traceback or a row made of compressed bytes."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import subprocess
import sys

import pytest

from e2e_support import API_KEY, objects

ATTRS = {"mode": "user_track", "track_record_type": "user_profile_attributes"}
CSV = "external_id,city\n" + "".join(f"u{i},Zürich {i}\n" for i in range(1, 201))
PACK = {"gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress}


@pytest.mark.parametrize("kind", sorted(PACK))
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_compressed_file_is_read_as_its_content(job, sandbox, kind, fmt):
    if fmt == "csv":
        text = CSV
    else:
        text = "".join(json.dumps({"external_id": f"u{i}", "city": f"Zürich {i}"}) + "\n" for i in range(1, 201))
    (job.folder / f"users.{fmt}").write_bytes(PACK[kind](text.encode()))   # named as if plain
    job.config(**ATTRS, input={"path": f"users.{fmt}", "format": fmt})
    run = job.run()
    assert run.code == 0, run.output
    assert run.report["rows_delivered"] == 200
    sent = {o["external_id"]: o["city"] for o in objects(sandbox)}
    assert sent == {f"u{i}": f"Zürich {i}" for i in range(1, 201)}


def test_compressed_standard_input(job, sandbox):
    job.config(**ATTRS, input={"path": "-", "format": "csv"})
    done = subprocess.run([sys.executable, "-m", "connector", "run", "--config", "config.yml"],
                          cwd=job.folder, input=gzip.compress(CSV.encode()), capture_output=True,
                          env={**os.environ, "BRAZE_API_KEY": API_KEY}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert len(objects(sandbox)) == 200


def test_a_cut_short_gzip_file_is_one_line_and_exit_1(job, sandbox):
    packed = gzip.compress(CSV.encode())
    (job.folder / "users.csv").write_bytes(packed[: len(packed) // 2])
    job.config(**ATTRS, input={"path": "users.csv"})
    run = job.run()
    assert run.code == 1, run.output
    assert "gzip-compressed input is damaged or cut short" in run.stderr
    assert "Traceback" not in run.output
    assert run.report is not None and run.report["status"] == "failed"


def test_zstd_is_named_not_misread(job, sandbox):
    (job.folder / "users.csv").write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00" * 40)
    job.config(**ATTRS, input={"path": "users.csv"})
    run = job.run()
    assert run.code == 1 and "zstd-compressed" in run.stderr and "Traceback" not in run.output
    assert objects(sandbox) == []


def test_the_format_is_inferred_through_a_compression_suffix(job, sandbox):
    rows = "".join(json.dumps({"external_id": f"u{i}", "city": "Bern"}) + "\n" for i in range(1, 11))
    (job.folder / "users.jsonl.gz").write_bytes(gzip.compress(rows.encode()))
    job.config(**ATTRS, input={"path": "users.jsonl.gz"})         # no format: jsonl, from .jsonl.gz
    run = job.run()
    assert run.code == 0, run.output
    assert len(objects(sandbox)) == 10
