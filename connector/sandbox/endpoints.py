"""The user endpoints: request limits, per-object validation, applying (in one transaction), Braze-like answers."""

from __future__ import annotations

from typing import Any, Callable

from . import merges, renames, rules, subscriptions
from .answers import Answer, bad as _bad
from .mutate import Applier
from .store import Store

TRACK_ARRAYS = ("attributes", "events", "purchases")
NO_TRACK_DATA = "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields."
MAX_INPUT = "Max Input Length Exceeded"
TRACK_LIMITS = {"combined_75": (75, True), "per_array_75": (75, False), "combined_50": (50, True)}
MAX_IDS = 50
DELETE_ARRAYS = ("external_ids", "braze_ids", "user_aliases")


def _sort(body: dict[str, Any], arrays: tuple[str, ...], check: Callable[[str, Any], str | None]
          ) -> tuple[list[tuple[str, Any]], list[dict[str, Any]]]:
    """Good objects in order, and the `errors` entries of the bad ones (0-based index within the array)."""
    good: list[tuple[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for array in arrays:
        for index, obj in enumerate(body.get(array) or []):
            reason = check(array, obj)
            if reason:
                errors.append({"type": reason, "input_array": array, "index": index})
            else:
                good.append((array, obj))
    return good, errors


def _arrays_ok(body: dict[str, Any], arrays: tuple[str, ...]) -> str | None:
    for array in arrays:
        if array in body and body[array] is not None and not isinstance(body[array], list):
            return f"'{array}' must be an array"
    return None


def _finish(good: list[tuple[str, Any]], errors: list[dict[str, Any]], success: dict[str, Any],
            all_bad: str, applier: Applier | None, apply: Callable[[Applier, str, Any], None]) -> Answer:
    if not good:
        return Answer(400, {"message": all_bad, "errors": errors}, rejected=len(errors), errors=errors)
    if applier is not None:
        for array, obj in good:
            applier.record(array, obj)
            apply(applier, array, obj)
    body = dict(success)
    if errors:
        body["errors"] = errors
    return Answer(201, body, accepted=len(good), rejected=len(errors),
                  applied=applier.applied if applier else 0, errors=errors)


def _apply_track(applier: Applier, array: str, obj: Any) -> None:
    if array == "attributes":
        applier.attributes(obj)
    else:
        applier.action(array, obj)


def track(body: dict[str, Any], applier: Applier | None, limit: str) -> Answer:
    """POST /users/track."""
    problem = _arrays_ok(body, TRACK_ARRAYS)
    if problem:
        return _bad(problem)
    sizes = {a: len(body.get(a) or []) for a in TRACK_ARRAYS if a in body and body[a] is not None}
    if not any(sizes.values()):
        return _bad(NO_TRACK_DATA)
    most, combined = TRACK_LIMITS[limit]
    if (sum(sizes.values()) if combined else max(sizes.values())) > most:
        return _bad(MAX_INPUT)
    good, errors = _sort(body, TRACK_ARRAYS, lambda array, obj: rules.TRACK_CHECKS[array](obj))
    success: dict[str, Any] = {"message": "success"}
    for array in sizes:
        success[f"{array}_processed"] = sum(1 for a, _ in good if a == array)
    return _finish(good, errors, success, NO_TRACK_DATA, applier, _apply_track)


def _alias_call(body: dict[str, Any], applier: Applier | None, array: str, check: Callable[[Any], str | None],
                apply: Callable[[Applier, str, Any], None]) -> Answer:
    problem = _arrays_ok(body, (array,))
    if problem:
        return _bad(problem)
    nothing = f"Valid data must be provided in the '{array}' field."
    entries = body.get(array) or []
    if not entries:
        return _bad(nothing)
    if len(entries) > MAX_IDS:
        return _bad("The max number of aliases per request was exceeded")
    good, errors = _sort(body, (array,), lambda _, e: check(e))
    return _finish(good, errors, {"aliases_processed": len(good), "message": "success"}, nothing, applier, apply)


def identify(body: dict[str, Any], applier: Applier | None) -> Answer:
    """POST /users/identify (aliases_to_identify)."""
    return _alias_call(body, applier, "aliases_to_identify", rules.check_identify, lambda w, _, e: w.identify(e))


def alias_new(body: dict[str, Any], applier: Applier | None) -> Answer:
    """POST /users/alias/new."""
    return _alias_call(body, applier, "user_aliases", rules.check_new_alias, lambda w, _, e: w.new_alias(e))


def delete(body: dict[str, Any], applier: Applier | None) -> Answer:
    """POST /users/delete: one identifier kind per request."""
    problem = _arrays_ok(body, DELETE_ARRAYS)
    if problem:
        return _bad(problem)
    kinds = [a for a in DELETE_ARRAYS if body.get(a)]
    if not kinds:
        return _bad("Valid data must be provided in the 'external_ids', 'braze_ids' or 'user_aliases' field.")
    if len(kinds) > 1:
        return _bad("Only one kind of identifier may be given per request")
    if len(body[kinds[0]]) > MAX_IDS:
        return _bad("The max number of ids per request was exceeded")
    good, errors = _sort(body, (kinds[0],), rules.check_delete)
    return _finish(good, errors, {"deleted": len(good), "message": "success"},
                   f"Valid data must be provided in the '{kinds[0]}' field.", applier,
                   lambda w, array, e: w.delete(array, e))


PATHS = ("/users/track", "/users/identify", "/users/alias/new", "/users/delete", merges.PATH,
         "/subscription/status/set", "/v2/subscription/status/set", "/users/external_ids/rename",
         "/users/external_ids/remove")


def handle(path: str, body: dict[str, Any], store: Store | None, seq: int, track_limit: str) -> Answer:
    """Validate and (when `store` is given) apply one request, in one transaction."""
    if store is None:
        return _dispatch(path, body, None, track_limit)
    with store.lock:
        store.db.execute("BEGIN")
        try:
            answer = _dispatch(path, body, Applier(store, seq, path), track_limit)
        except BaseException:
            store.db.execute("ROLLBACK")
            raise
        store.db.execute("COMMIT")
    return answer


def _dispatch(path: str, body: dict[str, Any], applier: Applier | None, track_limit: str) -> Answer:
    if path == "/users/track":
        return track(body, applier, track_limit)
    if path == "/users/identify":
        return identify(body, applier)
    if path == "/users/alias/new":
        return alias_new(body, applier)
    if path == "/users/delete":
        return delete(body, applier)
    if path == merges.PATH:
        return merges.merge(body, applier)
    if path == "/users/external_ids/rename":
        return renames.rename(body, applier)
    if path == "/users/external_ids/remove":
        return renames.remove(body, applier)
    return subscriptions.set_status(path, body, applier)


def sink_answer(path: str, body: Any) -> tuple[int, dict[str, Any]]:
    """Sink mode's answer: each endpoint's success, everything in the body taken as done."""
    if path == merges.PATH:
        return 202, {"message": "success"}
    entries = body.get("external_id_renames") if isinstance(body, dict) else None
    if path == "/users/external_ids/rename":
        done = [e.get("current_external_id") for e in (entries if isinstance(entries, list) else [])
                if isinstance(e, dict)]
        return 200, {"message": "success", "external_ids": done, "rename_errors": []}
    if path == "/users/external_ids/remove":
        ids = body.get("external_ids") if isinstance(body, dict) else None
        return 200, {"message": "success", "removed_ids": ids if isinstance(ids, list) else [], "removal_errors": []}
    return 201, {"message": "success"}
