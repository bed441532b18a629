"""The README's config table and commands stay true to the schema and the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

from connector.cli import _parser
from connector.config import load_schema

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
ROW = re.compile(r"^\| `([a-z_]+)` \|\s*([^|]*?)\s*\|", re.MULTILINE)


def _config_table() -> dict[str, str]:
    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return {key: default.strip() for key, default in ROW.findall(section)}


def test_every_schema_key_is_in_the_readme_table_and_nothing_else():
    assert set(_config_table()) == set(load_schema()["properties"])


def test_readme_defaults_match_the_schema():
    properties = load_schema()["properties"]
    for key, default in _config_table().items():
        if "default" in properties[key]:
            assert default == f"`{json.dumps(properties[key]['default'])}`".replace('"', ""), key
        else:
            assert not default.startswith("`"), f"{key}: the README gives a default the schema lacks"


def test_readme_commands_exist():
    commands = set(re.findall(r"^\| `braze-export ([a-z]+)", README, re.MULTILINE))
    subparsers = next(a for a in _parser()._actions if a.dest == "command")
    assert commands == set(subparsers.choices)


def test_exit_codes_table_matches_the_cli_help():
    from connector.cli import EXIT_HELP

    codes = re.findall(r"^\| ([0-3]) \|", README, re.MULTILINE)
    assert codes == ["0", "1", "2", "3"]
    assert [line.split()[0] for line in EXIT_HELP.splitlines()[1:] if line.startswith("  ") and line.split()[0].isdigit()] == codes
