"""One export job: rows -> writer -> delivery -> ledger, whatever the endpoint or the caller."""

from __future__ import annotations

import contextlib
import logging
import secrets
import signal
import threading
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from connector.batching import Entry
from connector.braze.client import ENDPOINTS, BrazeClient
from connector.braze.outcome import Kind, Outcome
from connector.config import Settings
from connector.config.settings import InputSettings
from connector.delivery import Delivery, DeliveryPolicy, Transport
from connector.errors import ConnectorError, InvalidRow, JobError, RowAborted
from connector.pacing import DEFAULT_RATES, Pacer, PacingPolicy
from connector.report import Counts, Ledger, build_report
from connector.retry import RetryPolicy
from connector.state import StateSession, check_settings, writer_columns
from connector.state.gate import Gate
from connector.sources import CellSource
from connector.writers import Writer, WriterOptions, make_writer
from connector.writers.cells import CellPlan

log = logging.getLogger("braze_export")

TRACK_LIMITS = {"combined_75": 75, "per_array_75": 75, "combined_50": 50}

Rows = Iterable[tuple[int, "dict[str, Any] | InvalidRow"]]


@dataclass(frozen=True)
class JobResult:
    exit_code: int
    report: dict[str, Any]
    error: ConnectorError | None = None


@dataclass(frozen=True)
class JobOptions:
    dry_run: bool = False
    seed: int | None = None
    extra_report: Mapping[str, Any] = field(default_factory=dict)
    resume_input: InputSettings | None = None   # the input a state_file's job is resumed on; None: no resume
    restart: bool = False                       # forget the state's progress on this job and start over
    on_delivery: Callable[[Delivery], None] | None = None  # told the job's Delivery once it exists


class _DryRun:
    """A transport that sends nothing and answers as if Braze accepted every object."""

    def post(self, path: str, body: bytes) -> Outcome:
        return Outcome(Kind.DELIVERED, None, "dry run")

    def close(self) -> None:
        pass


def make_job_writer(settings: Settings) -> Writer:
    return make_writer(settings.mode, settings.track_record_type, WriterOptions(
        pre_formatted_fields=frozenset(settings.pre_formatted_fields),
        update_existing_only=settings.update_existing_only,
        null_values=settings.null_values,
    ))


def delivery_policy(settings: Settings, path: str) -> DeliveryPolicy:
    endpoint = ENDPOINTS[path]
    limit = endpoint.max_objects
    if endpoint.bucket == "track":
        limit = min(limit, TRACK_LIMITS[settings.track_object_limit])
    return DeliveryPolicy(
        path=path,
        concurrency=settings.concurrency,
        max_objects=min(limit, settings.batch_size),
        retry=RetryPolicy(
            maximum_retries=settings.maximum_retries,
            initial_s=settings.initial_retry_interval_millis / 1000,
            maximum_s=settings.maximum_retry_interval_millis / 1000,
            total_s=settings.maximum_retry_duration_millis / 1000,
        ),
        at_most_once=settings.event_delivery == "at_most_once",
    )


def pacing_policy(settings: Settings, bucket: str) -> PacingPolicy:
    return PacingPolicy(per_second=settings.requests_per_second or DEFAULT_RATES[bucket],
                        per_hour=settings.requests_per_hour)


@contextlib.contextmanager
def braze_endpoint(settings: Settings) -> Iterator[tuple[str, str]]:
    """(base URL, API key) for the job; `endpoint: sandbox` starts an in-process sandbox."""
    key = settings.api_key.reveal() if settings.api_key is not None else secrets.token_hex(16)
    if settings.endpoint != "sandbox":
        yield settings.endpoint, key
        return
    from connector.sandbox import Sandbox

    with Sandbox(api_key=key, db_path=settings.sandbox_db) as sandbox:
        log.info("sandbox: a local Braze-compatible server at %s, storing into %s",
                 sandbox.url, settings.sandbox_db)
        yield sandbox.url, key


def check_header(writer: Writer, columns: Sequence[str] | None) -> list[str]:
    """HeaderError when the columns cannot serve the mode; its notes are logged and returned."""
    if columns is None:
        return []
    notes = writer.check_columns(columns)
    for note in notes:
        log.warning("%s", note)
    return notes


class _Pump:
    """Reads rows, builds objects, hands them to delivery; settles invalid rows on the spot."""

    def __init__(self, writer: Writer, delivery: Delivery, ledger: Ledger, skip_invalid: bool,
                 gate: Gate | None = None) -> None:
        self._writer = writer
        self._delivery = delivery
        self._ledger = ledger
        self._skip = skip_invalid
        self._gate = gate
        self.reading = False    # inside the source: a row taken there is not counted yet

    def run(self, rows: Rows) -> None:
        fast = self._fast_path(rows)
        if fast is not None:
            return self._run_cells(rows, fast)  # type: ignore[arg-type]
        read, one = self._ledger.read, self._one
        source = iter(rows)
        while True:
            self.reading = True
            try:
                n, values = next(source)
            except StopIteration:
                return
            finally:
                self.reading = False
            read()
            one(n, values)
            if self._delivery.error is not None:
                return

    def _fast_path(self, rows: Rows) -> CellPlan | None:
        """The writer's cell encoder for a CSV/TSV source, when it has one (writers/cells.py).
        Not with a state: its gate sees every row as a row."""
        compile_cells = getattr(self._writer, "compile_cells", None)
        if self._gate is not None or compile_cells is None or not isinstance(rows, CellSource):
            return None
        return compile_cells(rows.columns, rows.declared()) if rows.columns is not None else None

    def _run_cells(self, source: CellSource, plan: CellPlan) -> None:
        """The fast path: rows it takes go out as encoded bytes with their raw cells as values;
        the others take the general path, one by one."""
        read, one, row_of, delivery = self._ledger.read, self._one, source.row_of, self._delivery
        submit, array, encode = delivery.submit, plan.array, plan.encode
        self._ledger.read_cells_with(row_of)
        records = source.cells()
        while True:
            self.reading = True
            try:
                n, cells = next(records)
            except StopIteration:
                return
            finally:
                self.reading = False
            read()
            if isinstance(cells, InvalidRow):
                one(n, cells)
            elif (fast := encode(cells)) is not None:
                submit(fast[0], array, Entry(n, cells, fast[1]))
            else:
                one(n, row_of(cells))
            if delivery.error is not None:
                return

    def _one(self, n: int, values: "dict[str, Any] | InvalidRow") -> None:
        """The general path of one row: build its object, or settle it as invalid."""
        gate = self._gate
        if isinstance(values, InvalidRow):
            self._invalid(n, values, getattr(values, "values", None))
        elif gate is None or not gate.earlier(n, values):     # a state: settled by an earlier run
            try:
                plain, key = (values, None) if gate is None else gate.prepare(values)
                item = self._writer.build(plain)
            except InvalidRow as invalid:
                self._invalid(n, invalid, values)
            else:
                if gate is None:
                    self._delivery.submit(item.key, item.array, Entry(n, values, item.body))
                else:
                    gate.add(n, values, item, key)

    def _invalid(self, n: int, invalid: InvalidRow, values: Mapping[str, Any] | None) -> None:
        if self._skip:
            self._ledger.not_delivered("skipped", [(n, str(invalid), values)])
            return
        self._ledger.not_delivered("failed", [(n, f"invalid row: {invalid}", values)])
        raise RowAborted(n, invalid)


@contextlib.contextmanager
def _stop_on_signals(pump: _Pump, delivery: Delivery) -> Iterator[None]:
    """SIGINT / SIGTERM stop the job cleanly: nothing more is sent, every row read is accounted
    for, the report is written. The pump stops at its next row; only while it waits inside the
    source (stdin may block) is the wait itself interrupted. Signals set to be ignored stay so."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        delivery.abort(JobError("interrupted"))
        if pump.reading:
            raise KeyboardInterrupt

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is not signal.SIG_IGN:
            previous[sig] = signal.signal(sig, stop)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_job(settings: Settings, rows: Rows, columns: Sequence[str] | None, ledger: Ledger,
            options: JobOptions = JobOptions()) -> JobResult:
    """Run the export of `rows`; every row read ends in the ledger. Never raises a ConnectorError."""
    state: StateSession | None = None
    try:
        check_settings(settings)
        writer = make_job_writer(settings)
        check_header(writer, writer_columns(settings, columns))
        if settings.state_file is not None and not options.dry_run:
            state = StateSession(settings, ledger, options.resume_input, options.restart)
    except ConnectorError as exc:
        return _result(settings, ledger, exc, options)
    try:
        result = _deliver(settings, writer, rows, ledger, options, state)
    finally:
        if state is not None:
            state.close(reached_end=False)
    return result


def _deliver(settings: Settings, writer: Writer, rows: Rows, ledger: Ledger, options: JobOptions,
             state: StateSession | None) -> JobResult:
    error: ConnectorError | None = None
    gate = state.gate if state is not None else None
    policy = delivery_policy(settings, writer.endpoint)
    with braze_endpoint(settings) as (base_url, key):
        def transports() -> Transport:
            if options.dry_run:
                return _DryRun()
            return BrazeClient(base_url, key, timeout_s=settings.timeout_millis / 1000)

        pacer = Pacer(pacing_policy(settings, writer.bucket))
        delivery = Delivery(policy, transports, pacer, ledger, seed=options.seed, journal=gate)
        if options.on_delivery is not None:
            options.on_delivery(delivery)
        if gate is not None:
            gate.bind(delivery.submit, delivery.abort)
        pump = _Pump(writer, delivery, ledger, settings.skip_on_invalid_records, gate)
        try:
            with _stop_on_signals(pump, delivery):
                pump.run(rows)
                if gate is not None:
                    gate.flush()
        except (JobError, KeyboardInterrupt) as exc:
            error = exc if isinstance(exc, JobError) else JobError("interrupted")
            delivery.abort(error)
            if gate is not None:
                gate.discard(f"not sent: the job was aborted ({error})")
        finally:
            delivery.finish()
    error = error or delivery.error
    if state is not None and error is None:
        state.close(reached_end=True)
    extra = {**options.extra_report, **state.report()} if state is not None else options.extra_report
    return _result(settings, ledger, error, replace(options, extra_report=extra))


def failed_before_start(error: ConnectorError, ledger: Ledger | None = None) -> JobResult:
    """The result of a job stopped before its first row (config, input, header): no counts."""
    ledger = ledger if ledger is not None else Ledger(None)
    ledger.close()
    return JobResult(error.exit_code, build_report(ledger, True, str(error), {}), error)


def _result(settings: Settings, ledger: Ledger, error: ConnectorError | None, options: JobOptions) -> JobResult:
    ledger.close()
    counts = ledger.counts()
    extra = dict(options.extra_report)
    if options.dry_run:
        extra["dry_run"] = True
    report = build_report(ledger, aborted=error is not None, error=str(error) if error else None, extra=extra)
    return JobResult(exit_code(counts, error, settings.skip_on_invalid_records), report, error)


def exit_code(counts: Counts, error: ConnectorError | None, skip_on_invalid_records: bool) -> int:
    """The exit code of a job: its error's, else 1 for failed rows, 3 for Braze's rejections, else 0."""
    if error is not None:
        return error.exit_code
    if counts.rows_failed:
        return 1
    if counts.rows_rejected and not skip_on_invalid_records:
        return 3
    return 0
