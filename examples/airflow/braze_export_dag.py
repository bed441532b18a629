"""Airflow DAG: user attributes to Braze in the braze-export container, then events in-process."""

# Two ways to run braze-export from Airflow 2.4+:
#   braze_export_users   DockerOperator (apache-airflow-providers-docker): the image runs
#                        `braze-export run` on a mounted config and CSV; the key comes from the
#                        Airflow connection `braze` (its password), which Airflow masks in logs.
#   braze_export_events  a @task calling connector.export() on rows read in Python (pip install
#                        braze-export on the workers); its return value, the report, goes to XCom.
# A task fails when the export does not succeed: the container's exit code (1 failed, 2 config,
# 3 Braze rejected rows) and, in Python, raise_on_failure plus a check for rejected rows.
# The callables below import without Airflow, so they can be tested (and reused) anywhere.

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any

log = logging.getLogger(__name__)

IMAGE = "braze-export:1.0"
HOST_DIR = "/srv/braze-export"          # on the Docker host: config/, data/, work/ (uid 10001 writes there)
EVENTS_FILE = f"{HOST_DIR}/data/events.jsonl"


def read_rows(path: str) -> Iterator[dict[str, Any]]:
    """The rows of a JSON Lines file, one dict per line (in a real DAG: a hook's cursor)."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def events_config(api_key: str, endpoint: str = "US-03", reject_file: str = "rejected-events.jsonl") -> dict[str, Any]:
    """The config of the events export, as a mapping (validated exactly like a config file)."""
    return {
        "endpoint": endpoint,
        "api_key": api_key,
        "mode": "user_track",
        "track_record_type": "custom_events",
        "skip_on_invalid_records": True,
        "reject_file": reject_file,
    }


def export_rows(rows: Iterator[Mapping[str, Any]], config: Mapping[str, Any] | str,
                report_path: str | None = None) -> dict[str, Any]:
    """Export rows with connector.export; raise when the job failed or Braze rejected rows."""
    from connector import export

    report = export(rows, config, report_path=report_path, raise_on_failure=True)
    if report.exit_code == 3:             # finished, but Braze refused some rows
        raise RuntimeError(f"Braze rejected {report.rows_rejected} of {report.rows_read} rows; "
                           f"see {report.reject_file}")
    log.info("braze-export: %s, %d of %d rows delivered", report.status, report.rows_delivered, report.rows_read)
    return report.as_dict()


try:
    import pendulum
    from airflow import DAG
    from airflow.decorators import task
    from airflow.providers.docker.operators.docker import DockerOperator
    from docker.types import Mount
except ImportError:  # not an Airflow worker: only the callables above are used
    DAG = None

if DAG is not None:
    with DAG(
        dag_id="braze_export",
        schedule="0 2 * * *",
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,                # never two exports of the same data at once
        tags=["braze"],
    ) as dag:
        users = DockerOperator(
            task_id="braze_export_users",
            image=IMAGE,
            command=["run", "--config", "/config/braze_users.yml", "--input", "/data/users.csv",
                     "--report", "/work/report.json"],
            environment={"BRAZE_API_KEY": "{{ conn.braze.password }}"},
            mounts=[
                Mount(source=f"{HOST_DIR}/config", target="/config", type="bind", read_only=True),
                Mount(source=f"{HOST_DIR}/data", target="/data", type="bind", read_only=True),
                Mount(source=f"{HOST_DIR}/work", target="/work", type="bind"),
            ],
            auto_remove="success",
            mount_tmp_dir=False,
        )

        @task(task_id="braze_export_events")
        def braze_export_events() -> dict[str, Any]:
            from airflow.hooks.base import BaseHook

            key = BaseHook.get_connection("braze").password
            return export_rows(read_rows(EVENTS_FILE), events_config(key),
                               report_path=f"{HOST_DIR}/work/events-report.json")

        users >> braze_export_events()
