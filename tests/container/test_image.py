"""The braze-export image run for real: offline (--network none), with a mounted config and input."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKER_SH = ROOT / ".ci" / "docker.sh"
DAEMON_CANNOT_RUN = 75  # .ci/docker.sh's exit code when dockerd cannot start here
PREPARE_TIMEOUT = 1800  # seconds: packages + debootstrap + wheels + build, from nothing
RUN_TIMEOUT = 120


@dataclass(frozen=True)
class Result:
    """What one `docker run` gave back."""

    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass(frozen=True)
class Image:
    """A built image and how to run it: always `--rm --network none`."""

    tag: str

    def run(self, args: Sequence[str], *, options: Sequence[str] = ()) -> Result:
        cmd = ["docker", "run", "--rm", "--network", "none", *options, self.tag, *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
        return Result(proc.returncode, proc.stdout, proc.stderr)


def _prepare() -> str:
    """Build the image with .ci/docker.sh (idempotent: the base image is built only once)."""
    proc = subprocess.run(["bash", str(DOCKER_SH)], capture_output=True, text=True,
                          timeout=PREPARE_TIMEOUT, check=False)
    if proc.returncode == DAEMON_CANNOT_RUN:
        # The only skip: no Docker engine can run here at all. Its own words say why.
        why = [line for line in proc.stderr.splitlines() if line and not line.startswith("-----")]
        pytest.skip("SKIPPED LOUDLY: the Docker daemon cannot run in this environment: "
                    + " | ".join(why[-4:]))
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
        pytest.fail(f".ci/docker.sh failed with exit code {proc.returncode}:\n{tail}")
    return os.environ.get("IMAGE", "braze-export:local")


@pytest.fixture(scope="session")
def image() -> Image:
    """BRAZE_EXPORT_IMAGE names an image already built (as .ci/run does); else build it now."""
    prebuilt = os.environ.get("BRAZE_EXPORT_IMAGE")
    if prebuilt:
        proc = subprocess.run(["docker", "image", "inspect", prebuilt], capture_output=True,
                              text=True, timeout=RUN_TIMEOUT, check=False)
        assert proc.returncode == 0, f"BRAZE_EXPORT_IMAGE={prebuilt} is not a built image: {proc.stderr}"
        return Image(prebuilt)
    return Image(_prepare())


ROWS = [
    ("u-1", "Ada", "ada@example.com", "true"),
    ("u-2", "Grace", "grace@example.com", "false"),
    ("u-3", "Linus", "", "true"),
    ("u-4", "Barbara", "barbara@example.com", ""),
    ("u-5", "Ken", "ken@example.com", "false"),
]

CONFIG = """\
endpoint: sandbox
api_key: ${BRAZE_API_KEY}
mode: user_track
track_record_type: user_profile_attributes
input:
  format: csv
  path: /data/users.csv
  columns: {is_vip: boolean}
"""


@pytest.fixture()
def job(tmp_path: Path) -> dict[str, Path]:
    """A config dir and an input dir (mounted read-only) and a writable work dir (mounted at /work)."""
    config_dir, data_dir, work_dir = (tmp_path / name for name in ("config", "data", "work"))
    for folder in (config_dir, data_dir, work_dir):
        folder.mkdir()
    (config_dir / "export.yml").write_text(CONFIG)
    (config_dir / "bad.yml").write_text(CONFIG + "batch_sise: 10\n")
    lines = ["external_id,first_name,email,is_vip"] + [",".join(row) for row in ROWS]
    (data_dir / "users.csv").write_text("\n".join(lines) + "\n")
    work_dir.chmod(0o777)  # the image's user is uid 10001, not the owner of the tmp dir
    return {"config": config_dir, "data": data_dir, "work": work_dir}


def mounts(job: dict[str, Path], key: str) -> list[str]:
    return ["-e", f"BRAZE_API_KEY={key}",
            "-v", f"{job['config']}:/config:ro",
            "-v", f"{job['data']}:/data:ro",
            "-v", f"{job['work']}:/work"]


def export(image: Image, job: dict[str, Path], key: str, *extra_env: str) -> Result:
    return image.run(["run", "--config", "/config/export.yml", "--report", "/work/report.json"],
                     options=[*mounts(job, key), *extra_env])


def test_run_exports_every_row_and_writes_the_report(image: Image, job: dict[str, Path]) -> None:
    key = "key-" + secrets.token_hex(16)
    result = export(image, job, key)
    assert result.code == 0, result.output
    summary = [line for line in result.stderr.splitlines() if "rows read" in line]
    assert summary == [summary[0]] and summary[0].startswith("braze-export: success: 5 rows read, 5 delivered"), \
        result.stderr
    report = json.loads((job["work"] / "report.json").read_text())
    assert report["status"] == "success"
    assert report["rows_read"] == len(ROWS) == report["rows_delivered"]
    assert (report["rows_skipped"], report["rows_rejected"], report["rows_failed"]) == (0, 0, 0)
    assert report["requests"] >= 1
    assert not (job["work"] / "rejected.jsonl").exists()
    written = [p for p in job["work"].iterdir() if p.suffix in (".json", ".jsonl")]
    for text in [result.stdout, result.stderr] + [p.read_text() for p in written]:
        assert key not in text


def test_json_logs_for_container_platforms(image: Image, job: dict[str, Path]) -> None:
    key = "key-" + secrets.token_hex(16)
    result = export(image, job, key, "-e", "BRAZE_EXPORT_LOG_FORMAT=json")
    assert result.code == 0, result.output
    entries = [json.loads(line) for line in result.stderr.splitlines()]
    summaries = [e for e in entries if e.get("event") == "summary"]
    assert len(summaries) == 1, entries
    assert summaries[0]["rows_read"] == summaries[0]["rows_delivered"] == len(ROWS)
    assert all({"time", "level", "message"} <= entry.keys() for entry in entries)
    assert key not in result.output


def test_bad_config_exits_2_with_one_clear_line(image: Image, job: dict[str, Path]) -> None:
    key = "key-" + secrets.token_hex(16)
    result = image.run(["run", "--config", "/config/bad.yml"], options=mounts(job, key))
    assert result.code == 2, result.output
    lines = result.stderr.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("braze-export: error:")]
    assert len(starts) == 1, result.stderr
    # One line: the headline and every problem, each as "path: reason".
    error = lines[starts[0]]
    assert "config is invalid" in error and "unknown key 'batch_sise'" in error, result.stderr
    assert "Traceback" not in result.output
    assert key not in result.output


def test_spec_prints_the_config_json_schema(image: Image) -> None:
    result = image.run(["spec"])
    assert result.code == 0, result.output
    schema = json.loads(result.stdout)
    assert schema["type"] == "object"
    assert {"endpoint", "api_key", "mode", "input"} <= schema["properties"].keys()
    assert schema["properties"]["api_key"]["writeOnly"] is True


def test_default_command_is_help(image: Image) -> None:
    result = image.run([])
    assert result.code == 0, result.output
    assert result.stdout.startswith("usage: braze-export")
    assert "exit codes of run" in result.stdout


def test_image_runs_as_non_root_in_a_writable_workdir(image: Image) -> None:
    result = image.run(["-c", "import os; print(os.getuid(), os.getcwd(), os.access('.', os.W_OK))"],
                       options=["--entrypoint", "python3"])
    assert result.stdout.split() == ["10001", "/work", "True"], result.output
    uid = image.run(["-u"], options=["--entrypoint", "id"])
    assert uid.code == 0 and uid.stdout.strip() != "0" and uid.stdout.strip() == "10001", uid.output


def test_image_has_no_compiler_and_no_pip(image: Image) -> None:
    probe = "for c in gcc cc c++ make pip pip3; do command -v $c; done; echo probed"
    result = image.run(["-c", probe], options=["--entrypoint", "sh"])
    assert result.code == 0 and result.stdout.strip() == "probed", result.output


def test_image_stays_small(image: Image) -> None:
    size = subprocess.run(["docker", "image", "inspect", "--format", "{{.Size}}", image.tag],
                          capture_output=True, text=True, timeout=60, check=True).stdout
    assert int(size) < 250_000_000, f"image is {int(size) / 1e6:.0f} MB"


def test_stdin_input(image: Image, job: dict[str, Path]) -> None:
    key = "key-" + secrets.token_hex(16)
    csv_text = (job["data"] / "users.csv").read_text()
    cmd = ["docker", "run", "--rm", "-i", "--network", "none", *mounts(job, key), image.tag,
           "run", "--config", "/config/export.yml", "--input", "-", "--report", "/work/stdin.json"]
    proc = subprocess.run(cmd, input=csv_text, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((job["work"] / "stdin.json").read_text())
    assert report["rows_read"] == report["rows_delivered"] == len(ROWS)
