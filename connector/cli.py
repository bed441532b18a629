"""The braze-export command line: spec, check, preview, run, sandbox. Thin: it wires the rooms."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any, Sequence

from connector.memory import lean
from connector.workers.guard import hold_signals, ignore_signals, release_signals, restore_signals
from connector.version import __version__
from connector.errors import EXHAUSTED, ConnectorError, UsageError, exhausted

log = logging.getLogger("braze_export")

EXIT_HELP = """exit codes of run:
  0  every row delivered (or skipped, as skip_on_invalid_records allows)
  1  the job failed or was aborted (invalid row with skipping off, 401/403, retries exhausted,
     input unreadable)
  2  usage or config error: nothing was sent
  3  finished, but Braze rejected some rows (see the rejected-rows file)"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="braze-export", description="Write the rows of a query result into Braze.",
        epilog=EXIT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"braze-export {__version__}")
    parser.add_argument("--log-format", choices=("text", "json"),
                        default=os.environ.get("BRAZE_EXPORT_LOG_FORMAT", "text"),
                        help="log lines as text (default) or JSON (env BRAZE_EXPORT_LOG_FORMAT)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    spec = sub.add_parser("spec", help="print the config JSON Schema")
    spec.add_argument("--ui", action="store_true",
                      help="print the form's UI hints instead (groups, order, widgets; docs/config.md)")
    spec.set_defaults(func=cmd_spec)

    def config_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--log-format", choices=("text", "json"), default=argparse.SUPPRESS,
                       help="as before the command: log lines as text or JSON")
        p.add_argument("--config", "-c", default=os.environ.get("BRAZE_EXPORT_CONFIG"),
                       help="config file (YAML or JSON; env BRAZE_EXPORT_CONFIG)")
        p.add_argument("--settings", action="append", default=None,
                       help="a JSON object merged over the config, e.g. a Digdag result_settings "
                            "(env BRAZE_EXPORT_SETTINGS); may be given more than once, merged in order")
        p.add_argument("--input", "-i", help="input file, or - for standard input (overrides input.path)")

    check = sub.add_parser("check", help="validate the config; with a reachable endpoint, check the key")
    config_args(check)
    check.add_argument("--strict", action="store_true",
                       help="fail (exit 1) when the endpoint cannot be reached and the key is not checked")
    check.set_defaults(func=cmd_check)

    preview = sub.add_parser("preview", help="print the request bodies a run would send; no network")
    config_args(preview)
    preview.add_argument("--limit", type=int, default=10, help="rows to read (default 10)")
    preview.set_defaults(func=cmd_preview)

    run = sub.add_parser("run", help="export the rows", epilog=EXIT_HELP,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    config_args(run)
    run.add_argument("--report", help="write the JSON report here (whatever the outcome)")
    run.add_argument("--reject-file", help="rejected-rows file (overrides reject_file)")
    run.add_argument("--dry-run", action="store_true", help="do everything but send (the state_file is not used)")
    run.add_argument("--restart", action="store_true",
                     help="forget the state_file's progress on this job and send every row again "
                          "(delta and dedupe_key still apply)")
    run.add_argument("--limit", type=int, default=None,
                     help="read only the first N rows: a sample run (the state_file does not count it "
                          "as a complete run)")
    run.add_argument("--allow-mass-removal", action="store_true",
                     help="on_removed: remove the users who left the audience even beyond max_removed_ratio, "
                          "or when the input has no user")
    run.set_defaults(func=cmd_run)

    from connector.sandbox.command import register
    register(sub)
    return parser


def _settings(args: argparse.Namespace, extra: dict[str, Any] | None = None, offline: bool = False):
    from connector.config import load_config

    layers = args.settings or ([os.environ["BRAZE_EXPORT_SETTINGS"]] if os.environ.get("BRAZE_EXPORT_SETTINGS") else [])
    if not args.config and not layers:
        raise UsageError("give --config FILE (or --settings JSON)")
    overrides: dict[str, Any] = dict(extra or {})
    if args.input:
        overrides["input"] = {"path": args.input}
    try:
        return load_config(args.config, settings_json=layers or None, overrides=overrides, offline=offline)
    except EXHAUSTED as exc:     # a config nested thousands of levels deep
        raise exhausted(exc, "reading the config") from None


def cmd_spec(args: argparse.Namespace) -> int:
    from connector.config.schema import load_schema, load_ui_hints

    print(json.dumps(load_ui_hints() if args.ui else load_schema(), indent=2))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from connector.commands.check import check_settings

    return check_settings(_settings(args), strict=args.strict)


def cmd_preview(args: argparse.Namespace) -> int:
    from connector.commands.preview import preview

    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    return preview(_settings(args, offline=True), args.limit, sys.stdout)    # sends nothing: no key needed


def cmd_run(args: argparse.Namespace) -> int:
    from connector.commands.run import run_command

    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    extra = {"reject_file": args.reject_file} if args.reject_file else None
    return run_command(lambda: _settings(args, extra), report_path=args.report, dry_run=args.dry_run,
                       json_logs=args.log_format == "json", restart=args.restart, limit=args.limit,
                       allow_mass_removal=args.allow_mass_removal)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """The command; `argv` None: the process's own (sys.argv), which ends when this returns, so a
    late signal is ignored rather than let kill it while Python finalises (with its default effect)."""
    previous = hold_signals()     # (again, for the console script): until the command sets its own handling
    try:
        return _main(argv)
    finally:
        if argv is None:
            ignore_signals()
        else:
            restore_signals(previous)


def _main(argv: Sequence[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    from connector.logs import setup_logging

    setup_logging(args.log_format)
    lean()
    try:
        if args.func is not cmd_run:    # run guards its job itself (connector/workers/guard.py)
            release_signals(_terminate)
        return args.func(args)
    except ConnectorError as exc:
        log.error("%s", exc)
        return exc.exit_code
    except KeyboardInterrupt:
        log.error("interrupted")
        return 1
    except BrokenPipeError:
        return 1
    except EXHAUSTED as exc:    # run reports its own; this is for the other commands
        log.error("%s", exhausted(exc, f"running braze-export {args.command}"))
        return 1


if __name__ == "__main__":
    sys.exit(main())
