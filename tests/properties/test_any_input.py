"""For any generated config and CSV / JSON Lines input (broken ones included), the real CLI against
a real sandbox ends the documented way: no traceback, an exit code of the documented set, the report
written, rows_read = delivered + skipped + rejected + failed with `delivered` what the sandbox
stored, and every row not delivered in the rejected-rows file once.

Most examples run `connector.cli.main` in this process (fast); a few run `python -m connector` in
a subprocess under a 1 GiB RLIMIT_AS, so the interpreter's own end (exit status, stderr) is seen too.
HYPOTHESIS_PROFILE=thorough for a longer hunt (property_support.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings

from support.cli_process import Cli
from property_support import PROCESS_EXAMPLES, PROFILE, Case, Ran, cases, check, outputs, run_in_process


def _prepared(case: Case, sandbox, folder: Path) -> Path:
    sandbox.reset(data=True)
    sandbox.set_faults(**case.faults)
    case.write(folder, sandbox.url)
    return folder


@settings(PROFILE)
@given(cases())
def test_any_input_ends_the_documented_way_in_process(sandbox, case):
    with tempfile.TemporaryDirectory(prefix="braze-prop-") as folder:
        check(run_in_process(_prepared(case, sandbox, Path(folder))), sandbox)


@settings(PROFILE, max_examples=min(PROFILE.max_examples, PROCESS_EXAMPLES))
@given(cases())
def test_any_input_ends_the_documented_way_as_a_process(sandbox, case):
    with tempfile.TemporaryDirectory(prefix="braze-prop-") as name:
        folder = _prepared(case, sandbox, Path(name))
        (folder / "config.yml").write_text((folder / "config.json").read_text())    # JSON is YAML
        outcome = Cli(folder).wait(timeout_s=120)
        assert outcome.leftovers == [], outcome.leftovers
        check(Ran(outcome.code, outcome.stderr, outcome.report, outputs(folder)[1], []), sandbox)
