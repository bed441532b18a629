"""Loading: YAML or JSON by content, no YAML aliases, env expansion, --settings and override layers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from config_helpers import FAKE_KEY

from connector.config import load_config
from connector.errors import ConfigError

YAML_CONFIG = """\
endpoint: EU-02
api_key: ${BRAZE_API_KEY}
mode: user_track
track_record_type: user_profile_attributes
input:
  path: data/users.csv
  columns: {score: long}
"""


def write(tmp_path: Path, text: str, name: str = "config.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(*args: object, **kwargs: object) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(*args, **kwargs)  # type: ignore[arg-type]
    assert info.value.__cause__ is None and info.value.__suppress_context__
    return info.value


def test_yaml_config_with_env_expansion(tmp_path: Path) -> None:
    settings = load_config(write(tmp_path, YAML_CONFIG), environ={"BRAZE_API_KEY": FAKE_KEY})
    assert settings.endpoint == "https://rest.fra-02.braze.eu"
    assert settings.api_key is not None and settings.api_key.reveal() == FAKE_KEY
    assert settings.input.path == "data/users.csv" and dict(settings.input.columns) == {"score": "long"}


def test_json_config_is_read_by_content(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps({"endpoint": "sandbox", "mode": "user_delete"}), name="config.conf")
    settings = load_config(path, environ={})
    assert (settings.endpoint, settings.api_key, settings.mode) == ("sandbox", None, "user_delete")


def test_missing_variable_is_named_without_values(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, YAML_CONFIG + "reject_file: ${REJECTS}\n"), environ={})
    assert error.problems == (
        "api_key: environment variable BRAZE_API_KEY is not set",
        "reject_file: environment variable REJECTS is not set",
    )


def test_dollar_escape_and_partial_expansion(tmp_path: Path) -> None:
    text = YAML_CONFIG + "reject_file: ${DIR}/rej-$$HOME-$x.jsonl\n"
    settings = load_config(write(tmp_path, text), environ={"BRAZE_API_KEY": "k", "DIR": "/out"})
    assert settings.reject_file == "/out/rej-$HOME-$x.jsonl"


def test_expanded_values_stay_strings(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, YAML_CONFIG + "concurrency: ${N}\n"), environ={"BRAZE_API_KEY": "k", "N": "4"})
    assert error.problems == ("concurrency: must be auto or an integer from 1 to 256",)   # "4" is not 4


@pytest.mark.parametrize("text", [
    "endpoint: &e US-01\nmode: user_delete\napi_key: *e\n",
    "base: &b {mode: user_delete}\n<<: *b\nendpoint: US-01\n",
    "endpoint: US-01\nmode: user_delete\napi_key: k\ninput: &x {path: a.csv}\n",
])
def test_yaml_anchors_and_aliases_are_refused(tmp_path: Path, text: str) -> None:
    error = load_error(write(tmp_path, text), environ={})
    assert "YAML anchor or alias" in str(error)


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]" for i in range(9)]
    error = load_error(write(tmp_path, "\n".join(lines) + "\n"), environ={})
    assert "line 1" in str(error)


@pytest.mark.parametrize("text, kind", [
    ("- endpoint: US-01\n", "list"), ("just text\n", "string"), ("42\n", "int"), ("[1, 2]", "list"),
])
def test_a_config_that_is_not_a_mapping_is_refused(tmp_path: Path, text: str, kind: str) -> None:
    error = load_error(write(tmp_path, text), environ={})
    assert str(error).endswith(f"must hold a mapping of keys to values, not a {kind}")


def test_empty_file_missing_file_and_directory(tmp_path: Path) -> None:
    assert "is empty" in str(load_error(write(tmp_path, "# nothing\n"), environ={}))
    assert str(load_error(tmp_path / "nope.yml", environ={})) == f"config file not found: {tmp_path / 'nope.yml'}"
    assert "is a directory" in str(load_error(tmp_path, environ={}))
    assert str(load_error(None, environ={})) == "no config given: pass --config FILE or --settings JSON"


def test_syntax_errors_do_not_quote_the_file(tmp_path: Path) -> None:
    yaml_error = load_error(write(tmp_path, f"api_key: {FAKE_KEY}\nmode: [unclosed\n"), environ={})
    json_error = load_error(write(tmp_path, '{"api_key": "' + FAKE_KEY + '", }', name="c.json"), environ={})
    for error in (yaml_error, json_error):
        assert FAKE_KEY not in str(error) and "line" in str(error)


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    assert "'mode' twice" in str(load_error(write(tmp_path, "mode: a\nmode: b\n"), environ={}))
    assert "'mode' twice" in str(load_error(write(tmp_path, '{"mode": 1, "mode": 2}'), environ={}))


def test_python_tags_are_refused(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, "endpoint: !!python/object/apply:os.system ['true']\n"), environ={})
    assert "not valid YAML" in str(error)


def test_settings_json_merges_over_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, YAML_CONFIG + "pre_formated_fields: [old]\n")
    settings_json = json.dumps({
        "mode": "user_track", "track_record_type": "custom_events", "pre_formatted_fields": "a, b",
        "skip_on_invalid_records": True, "input": {"path": "events.csv"},
    })
    settings = load_config(path, settings_json=settings_json, environ={"BRAZE_API_KEY": "k"})
    assert settings.track_record_type == "custom_events" and settings.skip_on_invalid_records is True
    assert settings.pre_formatted_fields == ("a", "b")  # a later spelling replaces both earlier ones
    assert settings.input.path == "events.csv" and dict(settings.input.columns) == {"score": "long"}


def test_settings_json_alone_and_its_expansion() -> None:
    settings = load_config(None, settings_json='{"endpoint": "US-05", "api_key": "${K}", "mode": "user_delete"}',
                           environ={"K": FAKE_KEY})
    assert settings.endpoint == "https://rest.iad-05.braze.com" and settings.api_key is not None
    assert settings.api_key.reveal() == FAKE_KEY


@pytest.mark.parametrize("text, message", [
    ("{not json", "--settings is not valid JSON (line 1, column 2: Expecting property name enclosed in double quotes)"),
    ('["mode"]', "--settings must be a JSON object, not a list"),
])
def test_invalid_settings_json(text: str, message: str) -> None:
    assert str(load_error(None, settings_json=text, environ={})) == message


def test_overrides_come_last_and_are_not_expanded(tmp_path: Path) -> None:
    overrides = {"input": {"path": "-"}, "reject_file": "out/$${x}.jsonl"}
    settings = load_config(write(tmp_path, YAML_CONFIG), settings_json='{"reject_file": "ignored"}',
                           overrides=overrides, environ={"BRAZE_API_KEY": "k"})
    assert settings.input.path == "-" and dict(settings.input.columns) == {"score": "long"}
    assert settings.reject_file == "out/$${x}.jsonl"


def test_override_path_drives_format_inference(tmp_path: Path) -> None:
    settings = load_config(write(tmp_path, YAML_CONFIG.replace("  columns: {score: long}\n", "")),
                           overrides={"input": {"path": "rows.jsonl"}}, environ={"BRAZE_API_KEY": "k"})
    assert settings.input.format == "jsonl"
