"""What a person sees of the config form in a real browser: per mode, the fields shown and the ones required.

The expectations are written here from the product's rules (docs/config.md, "The form"), not read from the
hints: a first screen of at most ten fields, the tuning one click away, the key a password field, the old
spelling hidden, the instance codes offered, a custom URL still taken, errors on an empty submit, and what
the form saves is a config the connector accepts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connector.config import load_schema, parse_config
from connector.config.endpoint import INSTANCES

MODES = load_schema()["properties"]["mode"]["enum"]
RECORD_TYPES = load_schema()["properties"]["track_record_type"]["enum"]
STATES = [(mode, record) for mode in MODES for record in (RECORD_TYPES if mode == "user_track" else [None])]
EVENTS = ("custom_events", "purchases")

FIRST_SCREEN = {"endpoint", "api_key", "mode", "input.format", "input.path", "input.columns",
                "skip_on_invalid_records"}
MODE_FIRST_SCREEN = {"user_track": {"track_record_type", "pre_formatted_fields"},
                     "user_subscription": {"subscription_group_id"}}
# Advanced fields that only some modes show: field -> the (mode, record type) states that show it.
ONLY_WITH = {
    "update_existing_only": {("user_track", r) for r in RECORD_TYPES},
    "track_object_limit": {("user_track", r) for r in RECORD_TYPES},
    "null_values": {("user_track", "user_profile_attributes")},
    "event_delivery": {("user_track", r) for r in EVENTS},
    "dedupe_key": {("user_track", r) for r in EVENTS},
    "delta": {("user_track", "user_profile_attributes"), ("user_subscription", None)},
    "sandbox_db": set(),                # only with endpoint sandbox
    "allow_custom_endpoint": set(),     # only with a REST URL
}
NEVER = {"pre_formated_fields"}         # the deprecated spelling: accepted, never offered
INPUT_ADVANCED = {"input.delimiter", "input.encoding"}      # csv (no format chosen): More input settings
INPUT_OTHERS = {"input.url", "input.url_file", "input.query", "input.query_timeout_seconds", "input.fetch_size"}

FIELDS_JS = """() => {
  const shown = (el) => el.checkVisibility();
  return [...document.querySelectorAll('[data-field]')].filter(shown)
    .filter((el) => ![...el.querySelectorAll('[data-field]')].some(shown))
    .map((el) => {
      const label = el.querySelector('label, legend');
      return { name: el.dataset.field, required: !!(label && label.querySelector('.required')) };
    });
}"""


def fields(page: Any) -> dict[str, bool]:
    """The leaf fields a person can see now: name -> marked required."""
    return {f["name"]: f["required"] for f in page.evaluate(FIELDS_JS)}


def open_all(page: Any) -> None:
    """Click every collapsed group open, nested ones included."""
    for _ in range(10):
        closed = page.locator("details:not([open]) > summary:visible")
        if closed.count() == 0:
            return
        closed.first.click()
    raise AssertionError("groups still closed after 10 clicks")


def choose(page: Any, mode: str, record: str | None) -> None:
    page.select_option("#root_mode", mode)
    if record:
        page.select_option("#root_track_record_type", record)


def name_of(mode: str, record: str | None) -> str:
    return f"{mode}-{record}" if record else mode


def save(page: Any) -> dict[str, Any] | None:
    """Click Save; the config the form would write, or None when it shows errors instead (in window.formErrors)."""
    page.evaluate("() => { window.submittedConfig = undefined; window.formErrors = undefined; }")
    page.get_by_role("button", name="Save").click()
    page.wait_for_function("() => window.submittedConfig !== undefined")
    config: dict[str, Any] | None = page.evaluate("() => window.submittedConfig")
    return config


def advanced_expected(state: tuple[str, str | None]) -> set[str]:
    """Every top-level key not on the first screen, less the ones this state does not show."""
    keys = set(load_schema()["properties"]) - {"input"} - NEVER
    keys -= FIRST_SCREEN.union(*MODE_FIRST_SCREEN.values())
    keys -= {key for key, states in ONLY_WITH.items() if state not in states}
    return keys | INPUT_ADVANCED


@pytest.mark.parametrize("state", STATES, ids=[name_of(*s) for s in STATES])
def test_each_mode_shows_its_own_fields_and_marks_the_required_ones(open_form: Any, shots: Path,
                                                                    state: tuple[str, str | None]) -> None:
    page = open_form()
    mode, record = state
    choose(page, mode, record)
    first = fields(page)
    page.screenshot(path=str(shots / f"{name_of(mode, record)}.png"), full_page=True)
    assert set(first) == FIRST_SCREEN | MODE_FIRST_SCREEN.get(mode, set())
    assert len(first) <= 10
    open_all(page)
    everything = fields(page)
    assert set(everything) - set(first) == advanced_expected(state)
    assert not (set(everything) & (NEVER | INPUT_OTHERS))
    required = {name for name, marked in everything.items() if marked}
    assert required == {"endpoint", "mode"} | ({"track_record_type"} if mode == "user_track" else set())


def test_the_first_screen_keeps_the_tuning_one_click_away(open_form: Any) -> None:
    page = open_form()
    choose(page, "user_track", "user_profile_attributes")
    assert len(fields(page)) <= 10
    advanced = page.locator("details[data-group=advanced]")
    assert advanced.get_attribute("open") is None
    assert not page.locator("#root_concurrency__anyof_select").is_visible()
    advanced.locator("> summary").click()
    assert page.locator("#root_concurrency__anyof_select").is_visible()
    assert {"concurrency", "batch_size", "maximum_retries", "timeout_millis", "state_file"} <= set(fields(page))


def test_secrets_are_password_fields(open_form: Any) -> None:
    page = open_form()
    assert page.locator("#root_api_key").get_attribute("type") == "password"
    page.select_option("#root_input_format", "sql")
    assert page.locator("#root_input_url").get_attribute("type") == "password"
    shown = set(fields(page))
    assert {"input.url", "input.url_file", "input.query"} <= shown
    assert not shown & {"input.path", "input.columns"}


def test_each_input_format_shows_its_own_fields(open_form: Any) -> None:
    page = open_form()
    expected = {"csv": {"input.path", "input.columns"}, "tsv": {"input.path", "input.columns"},
                "jsonl": {"input.path"}, "json": {"input.path"}, "sqlite": {"input.path", "input.query"},
                "parquet": {"input.path"}, "sql": {"input.url", "input.url_file", "input.query"}}
    for fmt, own in expected.items():
        page.select_option("#root_input_format", fmt)
        shown = {name for name in fields(page) if name.startswith("input.")}
        assert shown == {"input.format"} | own, fmt


def test_the_endpoint_offers_the_instance_codes(open_form: Any) -> None:
    page = open_form()
    choices = page.locator("#root_endpoint__anyof_select option").all_inner_texts()
    assert choices == ["Braze instance, or the sandbox", "REST endpoint URL"]
    codes = page.locator("#root_endpoint option").evaluate_all("os => os.map((o) => o.value).filter(Boolean)")
    assert codes == [*INSTANCES, "sandbox"]
    labels = page.locator("#root_endpoint option").all_inner_texts()
    assert "EU-02 - rest.fra-02.braze.eu" in labels
    page.select_option("#root_endpoint", "EU-02")
    page.fill("#root_api_key", "${BRAZE_API_KEY}")
    choose(page, "user_delete", None)
    config = save(page)
    assert config is not None, page.evaluate("() => window.formErrors")
    assert config == {"endpoint": "EU-02", "api_key": "${BRAZE_API_KEY}", "mode": "user_delete"}
    assert parse_config(config, environ={"BRAZE_API_KEY": "k"}).endpoint == INSTANCES["EU-02"]


def test_the_endpoint_still_takes_a_custom_url(open_form: Any) -> None:
    page = open_form()
    page.select_option("#root_endpoint__anyof_select", label="REST endpoint URL")
    assert "allow_custom_endpoint" not in fields(page)
    page.fill("#root_endpoint", "https://braze-proxy.internal.test")
    page.check("#root_allow_custom_endpoint")       # shown once the endpoint is a URL
    page.fill("#root_api_key", "${BRAZE_API_KEY}")
    choose(page, "user_rename_external_id", None)
    config = save(page)
    assert config == {"endpoint": "https://braze-proxy.internal.test", "allow_custom_endpoint": True,
                      "api_key": "${BRAZE_API_KEY}", "mode": "user_rename_external_id"}
    settings = parse_config(config, environ={"BRAZE_API_KEY": "k"})
    assert settings.endpoint == "https://braze-proxy.internal.test" and settings.allow_custom_endpoint


def test_the_sandbox_choice_brings_its_database(open_form: Any) -> None:
    page = open_form()
    page.select_option("#root_endpoint", "sandbox")
    choose(page, "user_new_alias", None)
    open_all(page)
    assert "sandbox_db" in fields(page)
    config = save(page)
    assert config == {"endpoint": "sandbox", "mode": "user_new_alias"}
    assert parse_config(config).endpoint == "sandbox"


def test_the_lists_say_what_to_add_and_the_form_saves_a_config_the_connector_accepts(open_form: Any,
                                                                                    shots: Path) -> None:
    page = open_form()
    page.select_option("#root_endpoint", "US-03")
    page.fill("#root_api_key", "${BRAZE_API_KEY}")
    choose(page, "user_track", "user_profile_attributes")
    page.fill("#root_input_path", "users.csv")
    add_column = page.get_by_role("button", name="Add a column type")
    assert add_column.is_visible()
    add_column.click()
    key = page.get_by_label("Column", exact=True)
    assert key.get_attribute("placeholder") == "loyalty_points" and key.input_value() == ""
    key.fill("loyalty_points")
    key.blur()
    page.get_by_label("Type", exact=True).select_option("long")
    add_json = page.get_by_role("button", name="Add a column holding JSON")
    assert add_json.is_visible()
    add_json.click()
    item = page.locator("[data-field=pre_formatted_fields] input[type=text]").first
    assert item.get_attribute("placeholder") == "tags"
    item.fill("tags")
    item.blur()
    page.screenshot(path=str(shots / "filled-user_track.png"), full_page=True)     # docs/form.png
    config = save(page)
    assert config == {"endpoint": "US-03", "api_key": "${BRAZE_API_KEY}", "mode": "user_track",
                      "track_record_type": "user_profile_attributes", "pre_formatted_fields": ["tags"],
                      "input": {"path": "users.csv", "columns": {"loyalty_points": "long"}}}
    settings = parse_config(config, environ={"BRAZE_API_KEY": "k"})
    assert dict(settings.input.columns) == {"loyalty_points": "long"} and settings.pre_formatted_fields == ("tags",)


def test_a_field_of_another_mode_is_dropped_when_the_mode_changes(open_form: Any) -> None:
    page = open_form()
    page.select_option("#root_endpoint", "US-01")
    page.fill("#root_api_key", "${BRAZE_API_KEY}")
    choose(page, "user_track", "custom_events")
    open_all(page)
    page.fill("#root_dedupe_key", "event_id")
    page.select_option("#root_concurrency__anyof_select", label="A fixed number")
    page.fill("#root_concurrency", "16")
    page.select_option("#root_mode", "user_delete")
    config = save(page)
    assert config == {"endpoint": "US-01", "api_key": "${BRAZE_API_KEY}", "mode": "user_delete", "concurrency": 16}
    parse_config(config, environ={"BRAZE_API_KEY": "k"})


def test_an_empty_form_shows_errors_instead_of_saving(open_form: Any) -> None:
    page = open_form()
    assert save(page) is None
    errors = page.locator(".errors")
    assert errors.is_visible()
    text = errors.inner_text()
    assert "Braze endpoint" in text and "Mode" in text
    assert page.locator("#root_mode__error").is_visible()


def test_a_collapsed_group_with_an_error_opens(open_form: Any) -> None:
    page = open_form()
    page.select_option("#root_endpoint", "sandbox")
    choose(page, "user_delete", None)
    page.locator("details[data-group=advanced] > summary").click()
    page.fill("#root_batch_size", "500")
    page.locator("details[data-group=advanced] > summary").click()         # closed again
    assert not page.locator("#root_batch_size").is_visible()
    assert save(page) is None
    assert page.locator("details[data-group=advanced]").get_attribute("open") is not None
    assert page.locator("#root_batch_size__error").is_visible()


def test_the_deprecated_spelling_is_never_offered(open_form: Any) -> None:
    page = open_form()
    choose(page, "user_track", "custom_events")
    open_all(page)
    assert "pre_formated_fields" not in fields(page)
    assert page.locator("[data-field=pre_formated_fields]").count() == 0


def test_a_key_added_without_hints_lands_in_the_advanced_group(open_form: Any, later_key: str) -> None:
    page = open_form("later.json")
    assert later_key not in fields(page)
    page.locator("details[data-group=advanced] > summary").click()
    assert later_key in fields(page)
    assert page.locator(f"details[data-group=advanced] [data-field={later_key}]").is_visible()
