"""The API key: api_key or api_key_file, never both, never shown."""

from __future__ import annotations

from pathlib import Path

from config_helpers import FAKE_KEY, parse, problems_of

from connector.config import Secret

BASE = {"endpoint": "US-01", "mode": "user_delete"}


def test_secret_never_shows_its_value() -> None:
    secret = Secret(FAKE_KEY)
    assert repr(secret) == str(secret) == f"{secret}" == "Secret('***')"
    assert secret.reveal() == FAKE_KEY
    settings = parse({**BASE, "api_key": FAKE_KEY})
    assert FAKE_KEY not in repr(settings) and "Secret('***')" in repr(settings)


def test_api_key_file_is_read_and_stripped(tmp_path: Path) -> None:
    (tmp_path / "key").write_text(f"  {FAKE_KEY}\n", encoding="utf-8")
    settings = parse({**BASE, "api_key_file": "key"}, base_dir=str(tmp_path))
    assert settings.api_key is not None and settings.api_key.reveal() == FAKE_KEY


def test_api_key_file_absolute_path_ignores_base_dir(tmp_path: Path) -> None:
    (tmp_path / "key").write_text(FAKE_KEY, encoding="utf-8")
    settings = parse({**BASE, "api_key_file": str(tmp_path / "key")}, base_dir="/nonexistent")
    assert settings.api_key is not None and settings.api_key.reveal() == FAKE_KEY


def test_api_key_file_problems(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text(" \n", encoding="utf-8")
    (tmp_path / "spaced").write_text("two words\n", encoding="utf-8")
    cases = {
        "missing": "api_key_file: the file missing does not exist",        # the path as written
        "empty": "api_key_file: the file is empty",
        "spaced": "api_key_file: the key in the file must not contain spaces or control characters",
        ".": "api_key_file: . is a directory, not a file",
    }
    for name, problem in cases.items():
        assert problems_of({**BASE, "api_key_file": name}, base_dir=str(tmp_path)) == (problem,)


def test_key_rules() -> None:
    assert problems_of({**BASE, "api_key": "k", "api_key_file": "f"}) == (
        "api_key_file: give api_key or api_key_file, not both",)
    assert problems_of(BASE) == ("api_key: is required (or api_key_file) unless endpoint is sandbox",)
    assert problems_of({**BASE, "api_key": ""}) == ("api_key: must not be empty",)
    assert problems_of({**BASE, "api_key": "", }, environ={}) == ("api_key: must not be empty",)
    (problem,) = problems_of({**BASE, "api_key": FAKE_KEY + "\n"})
    assert problem == "api_key: must not contain spaces or control characters" and FAKE_KEY not in problem


def test_empty_variable_is_an_empty_key() -> None:
    assert problems_of({**BASE, "api_key": "${K}"}, environ={"K": ""}) == ("api_key: must not be empty",)


def test_sandbox_accepts_a_key() -> None:
    settings = parse({"endpoint": "sandbox", "mode": "user_delete", "api_key": "local"})
    assert settings.api_key is not None and settings.api_key.reveal() == "local"


def test_key_file_problem_is_collected_with_the_others(tmp_path: Path) -> None:
    problems = problems_of({**BASE, "api_key_file": "missing", "concurrency": 0}, base_dir=str(tmp_path))
    assert set(problems) == {"concurrency: must be at least 1", "api_key_file: the file missing does not exist"}
