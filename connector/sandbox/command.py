"""The `braze-export sandbox` subcommand: run the sandbox in the foreground, or `show` what it stored."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import threading
from typing import Any

from ..errors import ConfigError
from .endpoints import TRACK_LIMITS
from .merges import MODES as MERGE_MODES
from .ratelimit import DEFAULT_RPS
from . import DEFAULT_API_KEY

DEFAULT_DB = "braze-sandbox.sqlite"
KEY_ENV = "BRAZE_SANDBOX_API_KEY"
RATE_FLAGS = (("--track-rps", "/users/track requests per second (burst: 3 s worth)"),
              ("--users-rps", "requests per second shared by identify, alias/new, delete and merge"),
              ("--subscription-rps", "requests per second shared by /subscription/status/set and its v2"),
              ("--rename-rps", "/users/external_ids/rename requests per second"),
              ("--remove-rps", "/users/external_ids/remove requests per second"))


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a number of requests per second, above 0") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("a number of requests per second, above 0")
    return value


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError("a whole number, 0 or more")
    return int(text)


def register(subparsers: Any) -> None:
    """Add `sandbox` (and `sandbox show`) to an argparse subparsers object; `args.func(args)` -> exit code."""
    parser = subparsers.add_parser(
        "sandbox", help="run a local Braze-compatible server (or `sandbox show` what it stored)",
        description="A local Braze-compatible HTTP server on loopback. Runs until Ctrl-C or SIGTERM. "
                    f"Give it its API key through ${KEY_ENV} or --api-key-file (--api-key K shows the key "
                    "to anyone who can list processes).")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: a free port, printed)")
    parser.add_argument("--db", default=DEFAULT_DB, help=f"SQLite file of the store (default {DEFAULT_DB}; "
                                                         "':memory:' keeps nothing)")
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument("--api-key", default=None,
                      help=f"the key clients must send; visible in `ps`: prefer ${KEY_ENV} or --api-key-file "
                           f"(default ${KEY_ENV}, else '{DEFAULT_API_KEY}')")
    keys.add_argument("--api-key-file", default=None, help="read the key from this file (its first line)")
    keys.add_argument("--generate-key", action="store_true", help="make up a random key and print it")
    parser.add_argument("--track-limit", choices=list(TRACK_LIMITS), default="combined_75",
                        help="objects allowed per /users/track request (default combined_75)")
    for flag, text in RATE_FLAGS:
        bucket = flag[2:].split("-")[0]
        parser.add_argument(flag, type=_rate, default=DEFAULT_RPS[bucket],
                            help=f"{text} (default {DEFAULT_RPS[bucket]:.4g})")
    parser.add_argument("--merges", choices=MERGE_MODES, default="background",
                        help="apply accepted merges in the background right after the answer (default), or "
                             "only on POST /_sandbox/merges/apply (manual)")
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
                                 description="Print what a user would see in Braze for a sandbox's store, "
                                             "profile by profile as it is read.")
    shower.add_argument("--db", dest="show_db", default=DEFAULT_DB, help=f"the store (default {DEFAULT_DB})")
    shower.add_argument("--user", default=None, help="only the profile with this external_id")
    shower.add_argument("--events", action="store_true", help="list each profile's events and purchases")
    shower.add_argument("--json", action="store_true", help="print JSON instead of text")
    shower.add_argument("--limit", type=_count, default=None,
                        help="at most this many profiles (and merges, renames)")
    shower.add_argument("--offset", type=_count, default=0, help="skip this many profiles first")
    shower.set_defaults(func=run_show)


def run_show(args: argparse.Namespace) -> int:
    try:
        from .show import show

        return show(args.show_db, args.user, args.events, args.json, sys.stdout, args.limit, args.offset)
    except BrokenPipeError:   # `sandbox show | head`: the reader had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _read_key_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            key = f.readline().strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not readable as UTF-8 text"
        raise ConfigError(f"--api-key-file {path}: {reason}") from None
    if not key:
        raise ConfigError(f"--api-key-file {path}: the file holds no key")
    return key


def key_source(args: argparse.Namespace) -> tuple[str, str]:
    """The key, and how the start line names it: the key itself only if the user did not choose it."""
    if args.api_key:
        return args.api_key, "the key given with --api-key"
    if args.api_key_file:
        return _read_key_file(args.api_key_file), f"the key in {args.api_key_file}"
    if args.generate_key:
        key = secrets.token_urlsafe(18)
        return key, f"{key} (generated for this run)"
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV], f"the key in ${KEY_ENV}"
    return DEFAULT_API_KEY, f"{DEFAULT_API_KEY} (the default sandbox key)"


def run(args: argparse.Namespace) -> int:
    """Serve in the foreground until Ctrl-C or SIGTERM; 0 on a clean stop."""
    key, source = key_source(args)
    from .sandbox import Sandbox

    sandbox = Sandbox(
        api_key=key, db_path=None if args.sink or args.db == ":memory:" else args.db, host=args.host,
        port=args.port, track_limit=args.track_limit, track_rps=args.track_rps, users_rps=args.users_rps,
        subscription_rps=args.subscription_rps, rename_rps=args.rename_rps, remove_rps=args.remove_rps,
        merges=args.merges, reset_style=args.reset_style, sink=args.sink, seed=args.seed,
        fail_rate=args.fail_rate, fail_status=args.fail_status, latency_ms=args.latency_ms,
        drop_rate=args.drop_rate)
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
