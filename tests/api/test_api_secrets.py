"""connector.export(): config errors are raised, a bad key is a failed Report, and the key never shows."""

import pytest

from connector import export
from connector.errors import AuthError, ConfigError


def _no_key(api_key, *texts):
    for text in texts:
        assert api_key not in text


def test_a_bad_key_is_a_failed_report_that_never_shows_the_key(sandbox, config):
    wrong = "wrong-key-3b9d1e7c55a0"
    report = export([{"external_id": "u1"}], {**config, "api_key": wrong})
    assert (report.status, report.exit_code, report.rows_failed) == ("failed", 1, 1)
    assert "401" in report.error or "key" in report.error
    _no_key(wrong, repr(report), str(report.as_dict()), open(report.reject_file).read())
    assert sandbox.received() == []


def test_a_bad_key_raised_carries_no_key(sandbox, config):
    wrong = "wrong-key-3b9d1e7c55a0"
    with pytest.raises(AuthError) as caught:
        export([{"external_id": "u1"}], {**config, "api_key": wrong}, raise_on_failure=True)
    _no_key(wrong, str(caught.value), repr(caught.value), repr(caught.value.args), repr(caught.value.report))


@pytest.mark.parametrize("change", [
    {"mode": "user_everything"},
    {"api_key": "has a space-8c41e07b2f"},
    {"track_record_type": None},
    {"batch_size": "75"},
])
def test_a_config_error_is_raised_without_the_key_and_nothing_is_sent(sandbox, config, change, api_key):
    bad = {**config, **change}
    with pytest.raises(ConfigError) as caught:
        export([{"external_id": "u1"}], bad)
    exc = caught.value
    assert exc.problems and exc.__cause__ is None and exc.__context__ is None
    _no_key(api_key, str(exc), repr(exc))
    _no_key("has a space-8c41e07b2f", str(exc), repr(exc))
    assert sandbox.requests() == []


def test_a_config_that_is_neither_a_mapping_nor_a_path_is_refused(config):
    with pytest.raises(ConfigError):
        export([], [("mode", "user_track")])
