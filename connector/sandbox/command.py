"""The `braze-export sandbox` subcommand: run the sandbox in the foreground, or `show` what it stored."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any

from ..errors import ConfigError
from .endpoints import TRACK_LIMITS
from .sandbox import DEFAULT_API_KEY, Sandbox
from .show import show

DEFAULT_DB = "braze-sandbox.sqlite"
KEY_ENV = "BRAZE_SANDBOX_API_KEY"


def register(subparsers: Any) -> None:
    """Add `sandbox` (and `sandbox show`) to an argparse subparsers object; `args.func(args)` -> exit code."""
    parser = subparsers.add_parser(
        "sandbox", help="run a local Braze-compatible server (or `sandbox show` what it stored)",
        description="A local Braze-compatible HTTP server on loopback. Runs until Ctrl-C or SIGTERM.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: a free port, printed)")
    parser.add_argument("--db", default=DEFAULT_DB, help=f"SQLite file of the store (default {DEFAULT_DB}; "
                                                         "':memory:' keeps nothing)")
    parser.add_argument("--api-key", default=None,
                        help=f"the key clients must send (default ${KEY_ENV}, else '{DEFAULT_API_KEY}')")
    parser.add_argument("--track-limit", choices=list(TRACK_LIMITS), default="combined_75",
                        help="objects allowed per /users/track request (default combined_75)")
    parser.add_argument("--track-rps", type=float, default=1000.0, help="/users/track requests per second")
    parser.add_argument("--users-rps", type=float, default=333.0,
                        help="requests per second shared by identify, alias/new and delete")
    parser.add_argument("--fail-rate", type=float, default=0.0, help="share of requests answered --fail-status")
    parser.add_argument("--fail-status", type=int, default=500, help="status of failed requests (default 500)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added latency per request")
    parser.add_argument("--drop-rate", type=float, default=0.0,
                        help="share of requests applied, then closed without an answer")
    parser.add_argument("--reset-style", choices=["epoch", "seconds"], default="epoch",
                        help="X-RateLimit-Reset as epoch seconds (default) or seconds left")
    parser.add_argument("--sink", action="store_true", help="accept everything at once, store nothing (benchmarks)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault dice (default 0)")
    parser.set_defaults(func=run)
    commands = parser.add_subparsers(dest="sandbox_command", metavar="{show}")
    shower = commands.add_parser("show", help="print the profiles, events and purchases a sandbox stored",
                                 description="Print what a user would see in Braze for a sandbox's store.")
    shower.add_argument("--db", dest="show_db", default=DEFAULT_DB, help=f"the store (default {DEFAULT_DB})")
    shower.add_argument("--user", default=None, help="only the profile with this external_id")
    shower.add_argument("--events", action="store_true", help="list each profile's events and purchases")
    shower.add_argument("--json", action="store_true", help="print JSON instead of text")
    shower.set_defaults(func=run_show)


def run_show(args: argparse.Namespace) -> int:
    return show(args.show_db, args.user, args.events, args.json, sys.stdout)


def _key_source(args: argparse.Namespace) -> tuple[str, str]:
    if args.api_key:
        return args.api_key, "from --api-key"
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV], f"from {KEY_ENV}"
    return DEFAULT_API_KEY, "the default sandbox key (see docs/sandbox.md)"


def run(args: argparse.Namespace) -> int:
    """Serve in the foreground until Ctrl-C or SIGTERM; 0 on a clean stop."""
    key, source = _key_source(args)
    sandbox = Sandbox(
        api_key=key, db_path=None if args.sink or args.db == ":memory:" else args.db, host=args.host,
        port=args.port, track_limit=args.track_limit, track_rps=args.track_rps, users_rps=args.users_rps,
        reset_style=args.reset_style, sink=args.sink, seed=args.seed, fail_rate=args.fail_rate,
        fail_status=args.fail_status, latency_ms=args.latency_ms, drop_rate=args.drop_rate)
    try:
        sandbox.start()
    except OSError as exc:
        raise ConfigError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or 'address unusable'}") \
            from None
    stopped = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    store = "sink mode, nothing stored" if args.sink else f"store {args.db}"
    print(f"Braze sandbox listening on {sandbox.url} ({store}; API key: {source}); Ctrl-C stops it",
          flush=True)
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        sandbox.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m connector.sandbox ...` (the same arguments as `braze-export sandbox ...`)."""
    parser = argparse.ArgumentParser(prog="python -m connector.sandbox")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sandbox", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
