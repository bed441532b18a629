"""A Spark write's options as a job: every config key as an option, typed as the schema says; no key.

Spark keeps a write's options in its plans, logs and UI, so this module refuses an `api_key` option
holding a key (a `${VAR}` reference, expanded on each executor, is fine) and keeps the raw mapping
unexpanded: the key is read where the requests are sent, from the executor's environment or file.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connector.config import Settings, load_schema, parse_config
from connector.config.loading import merge, parse_text, read_config_file
from connector.errors import ConfigError

# Options of the Spark write itself, not config keys (docs/spark.md).
SPARK_ONLY = ("config", "report", "state_folder", "job_id", "tasks_at_once", "base_dir", "_fail_first_attempt_after")
_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
_JOB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
# Config keys that cannot mean on Spark what they mean for one process, and why.
REFUSED = {
    "input": "on Spark the DataFrame is the input",
    "workers": "on Spark the DataFrame's partitions share the work (repartition it to change how many)",
    "state_file": "on Spark each partition keeps its own state in the option state_folder",
    "delta": "needs one state file for the whole input; on Spark the state is per partition",
    "dedupe_key": "needs one state file for the whole input; on Spark each task's retries are "
                  "made safe without it (docs/spark.md)",
    # A run's log, notice and limits are the run's, and a Spark write's run is on the driver, whose
    # commit sums the tasks: until it owns them, each task would log, notify and judge on its own.
    "sync_log": "is written by braze-export run and connector.export; on Spark, read the write's report",
    "notify": "is sent by braze-export run and connector.export; on Spark, act on the write's report",
    "max_rejected_ratio": "would be judged per partition on Spark; check the write's report instead",
    "max_failed_ratio": "would be judged per partition on Spark; check the write's report instead",
    "on_removed": "needs one state file for the whole input; on Spark the state is per partition",
}
KEY_MESSAGE = ("option api_key: Spark shows a write's options in its plans, logs and UI, so the API key "
               "cannot be an option; put api_key: ${BRAZE_API_KEY} in the config file, give "
               ".option('api_key', '${BRAZE_API_KEY}') (expanded on each executor), or api_key_file")


@dataclass(frozen=True)
class SparkJob:
    """One write, decided on the driver and shipped to every task: no secret in it."""

    data: dict[str, Any]            # the config mapping, ${VAR} not expanded
    base_dir: str                   # the driver's working folder: relative files are read from it
    fingerprint: str                # the config parts that shape the objects (connector/state)
    job_id: str                     # names the state folder of this write
    job_id_given: bool              # the user named it: its state outlives the write (a rerun resumes)
    state_folder: str | None        # given by the user; else a temp folder on each executor
    report: str | None              # where the driver writes the --report JSON
    reject_file: str                # where the driver writes the rejected rows (absolute)
    tasks_at_once: int | None       # given by the user (or by connector.spark.write); else from Spark's conf
    fail_after: int | None = None   # test hook: the first attempt of each task fails after N rows delivered
    started: float = field(default_factory=time.time)
    write_id: str = field(default_factory=lambda: uuid.uuid4().hex)    # this write, whatever its job id

    def settings(self, environ: Mapping[str, str] = os.environ) -> Settings:
        """The validated settings, the key read from this process's environment or file."""
        settings = parse_config(self.data, environ=environ, base_dir=self.base_dir)
        if settings.endpoint == "sandbox":
            raise ConfigError("config is invalid", problems=(
                "endpoint: sandbox starts a server inside one process; on Spark start one with "
                "`braze-export sandbox` and give its URL",))
        return settings


def check_key_option(text: str) -> None:
    """An api_key option may only name a variable of the executors' environment."""
    if not _REFERENCE.fullmatch(text.strip()):
        raise ConfigError(KEY_MESSAGE) from None


def _schema_type(key: str) -> Any:
    """The schema's type of a (dotted) key, or None when the schema does not name it."""
    node: Any = load_schema()
    for part in key.split("."):
        node = node.get("properties", {}).get(part) if isinstance(node, Mapping) else None
        if node is None:
            return None
    return node.get("type")


def option_value(key: str, text: str) -> Any:
    """An option's text as the config value it stands for: text for keys the schema types as
    strings, else parsed as a YAML/JSON scalar or structure (and then checked by the schema)."""
    if _schema_type(key) == "string":
        return text
    value = parse_text(text, f"option {key}")
    return text if value is None and text.strip() not in ("null", "~", "") else value


def _nest(key: str, value: Any) -> dict[str, Any]:
    head, _, rest = key.partition(".")
    return {head: _nest(rest, value) if rest else value}


def _config_of(options: Mapping[str, str], base_dir: str) -> dict[str, Any]:
    """The config file's mapping (option config), then every other option over it."""
    path = options.get("config")
    data: dict[str, Any] = read_config_file(os.path.join(base_dir, path)) if path else {}
    for key, text in options.items():
        if key in SPARK_ONLY:
            continue
        if key == "api_key":
            check_key_option(text)
        value = _nest(key, option_value(key, text))
        head = key.partition(".")[0]
        if isinstance(data.get(head), Mapping) and isinstance(value[head], Mapping):
            value = {head: {**data[head], **value[head]}}
        data = merge(data, value)
    return data


def _positive(options: Mapping[str, str], key: str) -> int | None:
    text = options.get(key)
    if text is None:
        return None
    if not text.strip().isdigit() or int(text) < 1:
        raise ConfigError(f"option {key}: must be a whole number of at least 1") from None
    return int(text)


def parse_options(options: Mapping[str, str], base_dir: str) -> SparkJob:
    """The job of a write with these options; ConfigError for a bad one. Relative paths are taken
    from the option base_dir, else from `base_dir` (the driver's working folder)."""
    from connector.state.fingerprint import config_fingerprint

    options = {k.lower(): v for k, v in options.items()}
    base_dir = os.path.join(base_dir, options.get("base_dir") or "")
    data = _config_of(options, base_dir)
    problems = [f"{key}: {why}" for key, why in REFUSED.items() if key in data]
    if problems:
        raise ConfigError("config is invalid", problems=tuple(problems)) from None
    job_id = options.get("job_id")
    if job_id is not None and not _JOB_ID.fullmatch(job_id):
        raise ConfigError("option job_id: letters, digits, '.', '_' and '-' only (at most 100)") from None
    folder = options.get("state_folder")
    report = options.get("report")
    job = SparkJob(
        data=data, base_dir=base_dir, fingerprint="", job_id=job_id or uuid.uuid4().hex, job_id_given=job_id is not None,
        state_folder=os.path.join(base_dir, folder) if folder else None,
        report=os.path.join(base_dir, report) if report else None, reject_file="",
        tasks_at_once=_positive(options, "tasks_at_once"), fail_after=_positive(options, "_fail_first_attempt_after"))
    settings = job.settings()      # every problem found on the driver, before a task starts
    return SparkJob(**{**job.__dict__, "fingerprint": config_fingerprint(settings),
                       "reject_file": os.path.join(base_dir, settings.reject_file)})
