"""The signed notice when a run ends, posted to a real loopback receiver that checks the signature:
for success, partial, failed, a failure before the first row and a run stopped by SIGINT or
SIGTERM; retried on 5xx; never changing the exit code; its secret and URL token in no output."""

from __future__ import annotations

import json
import random
import signal
import time

import pytest
from synclog_support import API_KEY, NOTIFY_SECRET, SIGNATURE, Job, Receiver, users_csv

from connector.config.settings import NotifySettings, Secret
from connector.pipeline import notify

REJECT_U2 = [{"status": 201, "body": {"message": "success", "errors": [
    {"type": "EMAIL_BAD_FORMAT", "input_array": "attributes", "index": 1}]}}]
TOKEN = "t0k3n-in-the-query"


def _config(job: Job, receiver: Receiver, **more) -> None:
    job.write("u.csv", users_csv(3))
    job.config(input={"path": "u.csv"}, notify={"url": receiver.url, "secret": "${NOTIFY_SECRET}"}, **more)


def _clean(text: str) -> None:
    assert NOTIFY_SECRET not in text and TOKEN not in text and API_KEY not in text


def _the_notice(receiver: Receiver, run_report: dict) -> dict:
    [notice] = receiver.wait_for(1)
    assert notice.verified, "the signature does not match the body"
    assert notice.headers[SIGNATURE].startswith("sha256=") and notice.headers["Content-Type"] == "application/json"
    assert notice.headers["User-Agent"].startswith("braze-export/")
    assert notice.path == f"/hooks/braze?token={TOKEN}"
    body = notice.json
    assert set(body) == {"run_id", "status", "exit_code", "error", "counts", "started_at", "ended_at", "mode",
                         "record_type", "config_fingerprint"}
    assert body["run_id"] == run_report["run_id"] and body["status"] == run_report["status"]
    assert body["counts"] == {k: run_report[k] for k in body["counts"]}
    assert body["started_at"] <= body["ended_at"] and body["ended_at"].endswith("Z")
    return body


def test_success(job: Job, receiver: Receiver) -> None:
    _config(job, receiver)
    run = job.run()
    assert run.code == 0, run.output
    body = _the_notice(receiver, run.report)
    assert (body["status"], body["exit_code"], body["error"]) == ("success", 0, None)
    assert body["counts"]["rows_delivered"] == 3 and body["mode"] == "user_track"
    assert "notice sent to 127.0.0.1" in run.stderr
    _clean(run.output + json.dumps(run.report))


def test_partial(job: Job, receiver: Receiver, sandbox) -> None:
    _config(job, receiver)
    sandbox.set_faults(script=REJECT_U2)
    run = job.run()
    assert run.code == 3
    body = _the_notice(receiver, run.report)
    assert (body["status"], body["exit_code"], body["counts"]["rows_rejected"]) == ("partial", 3, 1)


def test_failed(job: Job, receiver: Receiver) -> None:
    _config(job, receiver, api_key="not-the-sandbox-key")
    run = job.run()
    assert run.code == 1
    body = _the_notice(receiver, run.report)
    assert body["status"] == "failed" and body["exit_code"] == 1 and "HTTP 401" in body["error"]
    _clean(run.output)


def test_failed_before_the_first_row(job: Job, receiver: Receiver) -> None:
    _config(job, receiver)
    (job.folder / "u.csv").unlink()
    run = job.run()
    assert run.code == 1
    body = _the_notice(receiver, run.report)
    assert body["status"] == "failed" and "u.csv" in body["error"] and body["counts"]["rows_read"] == 0


def test_a_header_the_mode_cannot_use_is_a_failed_run_with_exit_2(job: Job, receiver: Receiver) -> None:
    _config(job, receiver)
    job.write("u.csv", "city\nOslo\n")
    run = job.run()
    assert run.code == 2
    body = _the_notice(receiver, run.report)
    assert (body["status"], body["exit_code"]) == ("failed", 2)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_run_stopped_by_a_signal(job: Job, receiver: Receiver, sandbox, signum: int) -> None:
    job.write("u.csv", users_csv(2000))
    job.config(input={"path": "u.csv"}, notify={"url": receiver.url, "secret": "${NOTIFY_SECRET}"},
               batch_size=10, concurrency=1)
    sandbox.set_faults(latency_ms=30)
    proc = job.start()
    deadline = time.monotonic() + 60
    while not sandbox.requests("/users/track"):
        assert time.monotonic() < deadline and proc.poll() is None, "no request reached the sandbox"
        time.sleep(0.01)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    report = json.loads((job.folder / "report.json").read_text())
    body = _the_notice(receiver, report)
    assert (body["status"], body["error"]) == ("failed", "interrupted")
    assert 0 < body["counts"]["rows_delivered"] < 2000
    _clean(out + err)


def test_a_5xx_is_retried_and_the_same_signed_body_arrives(job: Job, receiver: Receiver) -> None:
    receiver.script = [503, 502]
    _config(job, receiver)
    run = job.run()
    assert run.code == 0
    notices = receiver.wait_for(3)
    assert len({n.body for n in notices}) == 1 and all(n.verified for n in notices)
    assert run.stderr.count("notice to 127.0.0.1") == 2 and "notice sent to 127.0.0.1" in run.stderr
    assert "attempt 1 failed (HTTP 503)" in run.stderr and "attempt 2 failed (HTTP 502)" in run.stderr


def test_a_refused_notice_is_one_warning_and_never_changes_the_exit_code(job: Job, receiver: Receiver) -> None:
    receiver.script = [404]
    _config(job, receiver)
    run = job.run()
    assert run.code == 0, run.output
    assert len(receiver.wait_for(1)) == 1
    assert ("braze-export: warning: the notice to 127.0.0.1:" in run.stderr
            and "was refused (HTTP 404); not resent; the exit code is not changed" in run.stderr)
    _clean(run.output)


def test_a_webhook_that_never_answers_is_given_up_within_the_bound(job: Job, tmp_path) -> None:
    with Receiver() as gone:
        url = gone.url
    job.write("u.csv", users_csv(2))
    job.config(input={"path": "u.csv"}, notify={"url": url, "secret": "${NOTIFY_SECRET}"})
    started = time.monotonic()
    run = job.run()
    assert run.code == 0, run.output
    assert time.monotonic() - started < notify.TOTAL_S + 20
    assert f"was not delivered after {notify.MAX_RETRIES + 1} attempts (last: no answer (" in run.stderr
    assert "the exit code is not changed" in run.stderr
    _clean(run.output)


def test_a_dry_run_sends_no_notice(job: Job, receiver: Receiver) -> None:
    _config(job, receiver)
    assert job.run("--dry-run").code == 0
    assert receiver.notices == []


def test_send_notice_retries_with_back_off_within_its_bound(receiver: Receiver) -> None:
    receiver.script = [500] * 20
    waits: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    settings = NotifySettings(Secret(receiver.url), Secret(NOTIFY_SECRET))
    body = b'{"run_id":"r"}'
    ok = notify.send_notice(settings, body, user_agent="t", sleep=sleep, clock=lambda: now[0], rng=random.Random(1))
    assert ok is False
    assert len(receiver.wait_for(len(waits) + 1)) == len(waits) + 1 <= notify.MAX_RETRIES + 1
    assert sum(waits) <= notify.TOTAL_S and all(w <= notify.POLICY.maximum_s for w in waits)
    assert waits == sorted(waits) or len(waits) <= 2      # growing back-off (full jitter within each step)
    assert all(n.verified and n.body == body for n in receiver.notices)


def test_the_signature_is_hmac_sha256_of_the_exact_body() -> None:
    import hashlib
    import hmac

    body = notify.notice_body({"run_id": "r1", "status": "success", "rows_read": 2}, exit_code=0, started_at=0.0,
                              ended_at=1.5, mode="user_delete", record_type=None, fingerprint="f")
    assert json.loads(body)["ended_at"] == "1970-01-01T00:00:01.500Z"
    assert notify.sign("k" * 16, body) == "sha256=" + hmac.new(b"k" * 16, body, hashlib.sha256).hexdigest()
