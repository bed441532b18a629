"""The sandbox's request flow, free of HTTP plumbing: faults, auth, rate limit, size, body, endpoint, logs."""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from . import endpoints
from .answers import Answer
from .faults import Fault, Faults
from .merges import PATH as MERGE_PATH, MergeQueue
from .ratelimit import RateLimits, format_seconds
from .store import Store

MAX_BODY = 4 * 1024 * 1024
DRAIN_LIMIT = 64 * 1024 * 1024
FAULT_MESSAGES = {429: "Too Many Requests", 413: "Payload Too Large"}
TRACK_ARRAYS = ("attributes", "events", "purchases")
Reader = Callable[[int], bytes]


class BadJson(ValueError):
    """The body is not JSON as Braze reads it (NaN and Infinity included)."""


def _no_constants(name: str) -> Any:
    raise BadJson(name)


def parse_json(raw: bytes) -> Any:
    """Strict JSON: NaN/Infinity refused, UTF-8 only."""
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadJson("unparsable") from exc


@dataclass
class Reply:
    """What to send back (or `drop`: close the connection without an answer)."""

    status: int = 200
    body: dict[str, Any] | list[Any] = field(default_factory=dict)
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop: bool = False
    close: bool = False


class Stats:
    """Counters of requests by path and status, objects received and applied."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_path: dict[str, Counter[str]] = {}
        self.totals: Counter[str] = Counter()

    def clear(self) -> None:
        with self.lock:
            self.by_path = {}
            self.totals = Counter()

    def count(self, path: str, status: int | None, **totals: int) -> None:
        with self.lock:
            self.by_path.setdefault(path, Counter())["dropped" if status is None else str(status)] += 1
            self.totals["requests"] += 1
            self.totals.update(totals)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            out: dict[str, Any] = {k: self.totals.get(k, 0) for k in
                                   ("requests", "objects_received", "objects_rejected", "rows_applied",
                                    "dropped", "faults")}
            out["by_path"] = {p: dict(c) for p, c in self.by_path.items()}
        return out


@dataclass(frozen=True)
class Options:
    """The fixed parts of a sandbox: key, track limit, mode, and when accepted merges are applied."""

    api_key: str
    track_limit: str = "combined_75"
    sink: bool = False
    merges: str = "background"
    sink_limits: bool = False   # sink mode with the rate limits (headers, 429s) and the faults on


class App:
    """Answers one request to a user endpoint; thread-safe."""

    def __init__(self, options: Options, store: Store | None, limits: RateLimits, faults: Faults) -> None:
        self.options = options
        self.store = store
        self.limits = limits
        self.faults = faults
        self.stats = Stats()
        self.seq_lock = threading.Lock()
        self.seq = store.last_seq() if store else 0
        self.merges = MergeQueue(store, options.merges) if store is not None else None

    def _next_seq(self) -> int:
        with self.seq_lock:
            self.seq += 1
            return self.seq

    def _authorised(self, header: str | None) -> str | None:
        """None when the key is right, else the 401 message (never echoing what was given)."""
        if not header or not header.startswith("Bearer ") or not header[7:].strip():
            return "Invalid API key: no key was given (send 'Authorization: Bearer <key>')"
        if not hmac.compare_digest(header[7:].strip().encode(), self.options.api_key.encode()):
            return "Invalid API key: the key given is not valid for this sandbox"
        return None

    def _log(self, seq: int, path: str, status: int | None, body: Any, reply: Any) -> None:
        if self.store is not None:
            self.store.log_request(seq, path, status, body, reply, time.time())

    def serve(self, path: str, auth: str | None, length: int | None, read: Reader) -> Reply:
        """The whole flow for POST to one of the user endpoints."""
        seq = self._next_seq()
        fault = self.faults.next()
        if self.options.sink:   # sink mode: only the latency of the faults applies, unless sink_limits
            if fault is not None and fault.latency_ms:
                time.sleep(fault.latency_ms / 1000.0)
            if self.options.sink_limits:
                return self._limited_sink(seq, path, auth, length, read, fault)
            return self._sink(path, auth, length, read)
        if fault is not None and fault.latency_ms:
            time.sleep(fault.latency_ms / 1000.0)
        if fault is not None and fault.status is not None:
            return self._fault(seq, path, fault, length, read)
        drop = fault is not None and fault.drop
        reply, body = self._answer(seq, path, auth, length, read, drop)
        if drop:
            self.stats.count(path, None, dropped=1)
            self._log(seq, path, None, body, None)
            return Reply(drop=True)
        self.stats.count(path, reply.status)
        self._log(seq, path, reply.status, body, reply.body)
        return reply

    def _answer(self, seq: int, path: str, auth: str | None, length: int | None, read: Reader,
                drop: bool) -> tuple[Reply, Any]:
        message = self._authorised(auth)
        if message:
            return self.discard(Reply(401, {"message": message}, self.limits.headers(self.limits.peek(path))),
                              length, read), None
        verdict = self.limits.take(path)
        headers = self.limits.headers(verdict)
        if not verdict.allowed:
            return self.discard(Reply(429, {"message": "Too Many Requests"}, headers), length, read), None
        if length is None:
            return Reply(411, {"message": "Content-Length is required"}, headers, close=True), None
        if length > MAX_BODY:
            return self.discard(Reply(413, {"message": "Payload Too Large"}, headers), length, read), None
        raw = read(length)
        try:
            body = parse_json(raw) if raw.strip() else {}
        except BadJson:
            return Reply(400, {"message": "Received unparsable JSON body"}, headers), raw.decode("utf-8", "replace")
        if not isinstance(body, dict):
            return Reply(400, {"message": "The body must be a JSON object"}, headers), body
        store = None if drop and not self.faults.settings.drop_applies else self.store
        if drop and store is None:
            return Reply(drop=True), body
        answer = endpoints.handle(path, body, store, seq, self.options.track_limit)
        if path == MERGE_PATH and answer.status == 202 and store is not None and self.merges is not None:
            self.merges.kick()   # after the request's transaction, with the store's lock released
        self._tally(answer)
        return Reply(answer.status, answer.body, headers), body

    def _tally(self, answer: Answer) -> None:
        with self.stats.lock:
            self.stats.totals.update(objects_received=answer.accepted, objects_rejected=answer.rejected,
                                     rows_applied=answer.applied)

    def discard(self, reply: Reply, length: int | None, read: Reader) -> Reply:
        """Read and discard a body we do not use, so the connection stays usable (or close it)."""
        if length is None or length > DRAIN_LIMIT:
            reply.close = True
            return reply
        left = length
        while left > 0:
            chunk = read(min(left, 1 << 20))
            if not chunk:
                reply.close = True
                break
            left -= len(chunk)
        return reply

    def _fault(self, seq: int, path: str, fault: Fault, length: int | None, read: Reader) -> Reply:
        body: Any = None
        if length is not None and length <= MAX_BODY:
            raw = read(length)
            try:
                body = parse_json(raw) if raw.strip() else {}
            except BadJson:
                body = raw.decode("utf-8", "replace")
        status = fault.status or 500
        message = FAULT_MESSAGES.get(status, "Internal Server Error" if status >= 500 else "Sandbox fault")
        headers = self.limits.headers(self.limits.peek(path))
        if fault.retry_after is not None:
            headers.append(("X-Ratelimit-Retry-After", format_seconds(fault.retry_after)))
        reply = Reply(status, fault.body if fault.body is not None else {"message": message}, headers)
        if body is None:
            reply = self.discard(reply, length, read)
        self.stats.count(path, status, faults=1)
        self._log(seq, path, status, body, reply.body)
        return reply

    def _limited_sink(self, seq: int, path: str, auth: str | None, length: int | None, read: Reader,
                      fault: Fault | None) -> Reply:
        """Sink mode that still keeps Braze's rate limits (headers, 429s) and answers with the faults:
        what a benchmark of pacing needs, at the sink's speed (nothing is validated or stored)."""
        if fault is not None and fault.status is not None:
            return self._fault(seq, path, fault, length, read)
        if not self._authorised(auth):
            verdict = self.limits.take(path)
            if not verdict.allowed:
                self.stats.count(path, 429)
                return self.discard(Reply(429, {"message": "Too Many Requests"}, self.limits.headers(verdict)),
                                    length, read)
            reply = self._sink(path, auth, length, read)
            reply.headers = self.limits.headers(verdict)
        else:
            reply = self._sink(path, auth, length, read)
        if fault is not None and fault.drop:
            self.stats.count(path, None, dropped=1)
            return Reply(drop=True)
        return reply

    def _sink(self, path: str, auth: str | None, length: int | None, read: Reader) -> Reply:
        if self._authorised(auth):
            self.stats.count(path, 401)
            return self.discard(Reply(401, {"message": "Invalid API key"}), length, read)
        if length is None or length > MAX_BODY:
            self.stats.count(path, 413)
            return self.discard(Reply(413, {"message": "Payload Too Large"}), length, read)
        objects = 0
        try:
            body = parse_json(read(length)) if length else {}
        except BadJson:
            body = {}
        if isinstance(body, dict):
            objects = sum(len(v) for v in body.values() if isinstance(v, list))
        status, answer = endpoints.sink_answer(path, body)
        self.stats.count(path, status, objects_received=objects)
        return Reply(status, answer)
