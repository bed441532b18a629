"""`Sandbox`: start a local Braze-compatible server in-process, set faults, and look at what it stored."""

from __future__ import annotations

import json
import threading
from typing import Any

from ..errors import ConfigError
from . import reads
from .core import App, Options
from .endpoints import TRACK_LIMITS
from .faults import FaultSettings, Faults
from .merges import MODES as MERGE_MODES
from .ratelimit import DEFAULT_RPS, RESET_STYLES, RateLimits
from .server import Server
from .store import Store, dumps

from . import DEFAULT_API_KEY


class Sandbox:
    """A Braze-compatible HTTP server on loopback, with its own model of Braze and a SQLite store.

    `with Sandbox(api_key="k") as sb: ... sb.url ...` starts it on a free port and stops it after.
    """

    def __init__(self, api_key: str = DEFAULT_API_KEY, db_path: str | None = None, host: str = "127.0.0.1",
                 port: int = 0, track_limit: str = "combined_75", track_rps: float = DEFAULT_RPS["track"],
                 users_rps: float = DEFAULT_RPS["users"], reset_style: str = "epoch", sink: bool = False,
                 seed: int = 0, fail_rate: float = 0.0, fail_status: int = 500, latency_ms: float = 0,
                 drop_rate: float = 0.0, drop_applies: bool = True, track_burst: float | None = None,
                 users_burst: float | None = None, subscription_rps: float = DEFAULT_RPS["subscription"],
                 rename_rps: float = DEFAULT_RPS["rename"], remove_rps: float = DEFAULT_RPS["remove"],
                 subscription_burst: float | None = None, rename_burst: float | None = None,
                 remove_burst: float | None = None, merges: str = "background", sink_limits: bool = False) -> None:
        if not api_key:
            raise ConfigError("the sandbox needs a non-empty API key")
        if track_limit not in TRACK_LIMITS:
            raise ConfigError(f"track_limit must be one of {', '.join(TRACK_LIMITS)}")
        if reset_style not in RESET_STYLES:
            raise ConfigError(f"reset_style must be one of {', '.join(RESET_STYLES)}")
        if merges not in MERGE_MODES:
            raise ConfigError(f"merges must be one of {', '.join(MERGE_MODES)}")
        rates = {"track": track_rps, "users": users_rps, "subscription": subscription_rps, "rename": rename_rps,
                 "remove": remove_rps}
        bursts = {"track": track_burst, "users": users_burst, "subscription": subscription_burst,
                  "rename": rename_burst, "remove": remove_burst}
        for name, rate in rates.items():
            if not rate > 0:
                raise ConfigError(f"{name}_rps must be above 0")
        for name, burst in bursts.items():
            if burst is not None and not burst >= 1:
                raise ConfigError(f"{name}_burst must be at least 1")
        faults = Faults(FaultSettings(seed=seed))
        faults.set(fail_rate=fail_rate, fail_status=fail_status, latency_ms=latency_ms,
                   drop_rate=drop_rate, drop_applies=drop_applies)
        limits = RateLimits(reset_style=reset_style, rates=rates, bursts=bursts)
        self.store = None if sink else Store(db_path)
        self.app = App(Options(api_key, track_limit, sink, merges, sink_limits), self.store, limits, faults)
        self.host = host
        self._port = port
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"Sandbox(url={self.url!r}, sink={self.app.options.sink})"  # never the key

    # --- life -------------------------------------------------------------------------------
    def start(self) -> "Sandbox":
        """Bind and serve in a daemon thread; returns self."""
        if self._server is None:
            self._server = Server(self.host, self._port, self.app)
            self._port = self._server.server_address[1]
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name="braze-sandbox", daemon=True)
            self._thread.start()
            if self.app.merges is not None:
                self.app.merges.start()
        return self

    def stop(self) -> None:
        """Stop serving and end open connections; what was stored stays readable."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.close_connections()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self.app.merges is not None:
            self.app.merges.stop()

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    # --- faults -----------------------------------------------------------------------------
    def set_faults(self, **changes: Any) -> None:
        """fail_rate, fail_status, latency_ms, drop_rate, drop_applies, seed, script=[...]."""
        self.app.faults.set(**changes)

    def faults(self) -> dict[str, Any]:
        return self.app.faults.snapshot()

    def reset(self, data: bool = False) -> None:
        """Clear faults and refill the rate buckets; with data=True also the store, logs and stats."""
        self.app.faults.clear()
        self.app.limits.refill()
        if data:
            if self.store is not None:
                self.store.clear()
            self.app.stats.clear()

    # --- what it received and stored -------------------------------------------------------------
    def received(self, path: str | None = None) -> list[dict[str, Any]]:
        """Accepted objects in arrival order: {"seq", "path", "array", "object"}."""
        return self.store.received(path) if self.store else []

    def times_received(self, obj: Any, path: str | None = None) -> int:
        """How many times this exact object was accepted (e.g. 1 = delivered exactly once)."""
        wanted = json.loads(dumps(obj))
        return sum(1 for r in self.received(path) if r["object"] == wanted)

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """Every request seen: {"seq", "path", "status" (None = dropped), "body", "response",
        "time" (epoch seconds when it was answered)}."""
        return self.store.requests(path) if self.store else []

    def user(self, external_id: str | None = None, alias: Any = None, braze_id: str | None = None,
             email: str | None = None, phone: str | None = None) -> dict[str, Any] | None:
        """One profile; alias is {"alias_name", "alias_label"} or a (label, name) tuple; a deprecated
        external_id finds its profile too."""
        if self.store is None:
            return None
        pid = self.store.find_profile(external_id=external_id, alias=alias, braze_id=braze_id, email=email,
                                      phone=phone)
        return None if pid is None else reads.profile(self.store, pid)

    def users(self) -> list[dict[str, Any]]:
        return list(reads.iter_profiles(self.store)) if self.store else []

    def subscription(self, group_id: str, external_id: str | None = None, alias: Any = None,
                     braze_id: str | None = None, email: str | None = None, phone: str | None = None) -> str | None:
        """"subscribed" / "unsubscribed" for the profile `user(...)` finds, or None (no profile or no state)."""
        user = self.user(external_id, alias, braze_id, email, phone)
        return None if user is None else user["subscriptions"].get(group_id)

    def subscriptions(self, group_id: str | None = None) -> list[dict[str, Any]]:
        """Every state: {"group_id", "state", "seq" (the request that last changed it),
        "use_double_opt_in_logic", "braze_id", "external_id", "email", "phone"}."""
        return reads.subscriptions(self.store, group_id) if self.store else []

    def merges(self) -> list[dict[str, Any]]:
        """Merge updates received, in order: {"seq", "index", "identifier_to_merge", "identifier_to_keep",
        "status" ("pending" | "merged" | "skipped" | "failed"), "outcome", "merged_braze_id", "kept_braze_id"}."""
        return reads.merges(self.store) if self.store else []

    def wait_for_merges(self, timeout: float = 10.0) -> None:
        """Return once every accepted merge is applied; TimeoutError after `timeout` seconds."""
        if self.app.merges is not None:
            self.app.merges.wait(timeout)

    def apply_merges(self) -> int:
        """Apply the pending merges now, in this thread (what `merges="manual"` waits for); how many."""
        return self.app.merges.apply() if self.app.merges is not None else 0

    def renames(self) -> list[dict[str, Any]]:
        """Renames and removals applied, in order: {"seq", "kind" ("rename" | "remove"), "old", "new", "braze_id"}."""
        return reads.renames(self.store) if self.store else []

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        return self.store.events(name) if self.store else []

    def purchases(self) -> list[dict[str, Any]]:
        return self.store.purchases() if self.store else []

    def idle(self) -> bool:
        """No client connection is open: every request sent so far has been handled to its end."""
        server = self._server
        if server is None:
            return True
        with server.open_lock:
            return not server.open

    def stats(self) -> dict[str, Any]:
        """Requests by path and status, objects received/rejected, rows applied, drops, faults."""
        return self.app.stats.snapshot()
