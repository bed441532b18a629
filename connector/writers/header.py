"""Header checks every mode shares: blank, duplicate and `$` names, the alias pair, required columns."""

from __future__ import annotations

from typing import Any, Callable, Generic, Hashable, Iterable, Mapping, Sequence, TypeVar

from connector.errors import HeaderError, InvalidRow
from connector.writers.values import MAX_TEXT

IDENTIFIERS = ("external_id", "braze_id", "alias_name", "alias_label")
TRACK_IDENTIFIERS = IDENTIFIERS + ("email", "phone")
PLAN_CACHE_SIZE = 64

P = TypeVar("P")


def shown(name: str) -> str:
    """A column name safe to print (names that are not valid UTF-8 are shown escaped)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return ascii(name)
    return name if len(name) <= 80 else name[:77] + "..."


def name_problem(name: Any, max_length: int | None) -> str | None:
    """Why a column name cannot be used, or None."""
    if not isinstance(name, str) or not name.strip():
        return "blank column name"
    if name.startswith("$"):
        return "column names starting with $ are not allowed"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "column name is not valid UTF-8 (if the input is in another encoding, set input.encoding, e.g. latin-1)"
    if max_length is not None and len(name) > max_length:
        return f"column name longer than {max_length} characters"
    return None


def check_names(columns: Sequence[str], *, track: bool) -> set[str]:
    """The header's names as a set; HeaderError for blank, `$`, duplicate names or half an alias."""
    seen: set[str] = set()
    for position, name in enumerate(columns, 1):
        problem = name_problem(name, MAX_TEXT if track else None)
        if problem == "blank column name":
            raise HeaderError(f"the header's column {position} has a blank name")
        if problem:
            raise HeaderError(f"column {shown(name)}: {problem}")
        if name in seen:
            raise HeaderError(f"column {shown(name)} appears more than once in the header")
        seen.add(name)
    for name, other in (("alias_name", "alias_label"), ("alias_label", "alias_name")):
        if name in seen and other not in seen:
            raise HeaderError(f"column {name} needs a column {other} beside it (a user alias is the pair)")
    return seen


def require(present: set[str], required: Iterable[str], what: str) -> None:
    """HeaderError naming the first required column the header lacks."""
    for name in required:
        if name not in present:
            raise HeaderError(f"missing required column {name}: {what} needs it")


def ignored_note(columns: Sequence[str], used: Iterable[str], what: str) -> list[str]:
    """A note listing the columns a mode does not use."""
    used_set = set(used)
    ignored = [shown(c) for c in columns if c not in used_set]
    return [f"{what} ignores the columns: {', '.join(ignored)}"] if ignored else []


def spacing_notes(columns: Sequence[str], known: Iterable[str]) -> list[str]:
    """Notes for names that differ from a known name only by case or surrounding spaces."""
    lowered = {k.lower(): k for k in known}
    notes = []
    for c in columns:
        match = lowered.get(c.strip().lower())
        if match is not None and c != match:
            notes.append(f"column {shown(c)!r} is not {match!r} (names are exact): it is sent as its own field")
    return notes


def pre_formatted_notes(columns: Sequence[str], listed: frozenset[str], fixed: Iterable[str],
                        written: Mapping[str, str]) -> list[str]:
    """Notes for pre_formatted_fields naming columns the input lacks or whose meaning is fixed.
    `written`: a name as the config wrote it, when it came from ${VAR} (never shown expanded)."""
    present = set(columns)
    fixed_set = set(fixed)
    notes = []
    for name in sorted(listed):
        text = f"a column from {written[name]}" if name in written else shown(name)
        if name not in present:
            notes.append(f"pre_formatted_fields lists {text}, which the input does not have")
        elif name in fixed_set:
            notes.append(f"pre_formatted_fields lists {text}, which this mode does not parse as JSON")
    return notes


class PlanCache(Generic[P]):
    """Per-job plans keyed by a row's column names; bounded, rebuilt when it fills up."""

    def __init__(self, compile_plan: Callable[[tuple[str, ...]], P]) -> None:
        self._compile = compile_plan
        self._plans: dict[Hashable, P] = {}

    def get(self, keys: tuple[str, ...]) -> P:
        """The plan for a row with these keys, compiled on first sight (InvalidRow if unusable)."""
        plan = self._plans.get(keys)
        if plan is None:
            plan = self.compile(keys)
        return plan

    def compile(self, keys: tuple[str, ...]) -> P:
        """Compile and remember a plan; column names that cannot be used raise InvalidRow."""
        if len(self._plans) >= PLAN_CACHE_SIZE:
            self._plans.clear()
        plan = self._compile(keys)
        self._plans[keys] = plan
        return plan


def row_name_check(keys: Iterable[str], *, track: bool) -> None:
    """InvalidRow for a key of a row (from a JSON input) that cannot be a column name."""
    for name in keys:
        problem = name_problem(name, MAX_TEXT if track else None)
        if problem:
            raise InvalidRow(shown(name) if isinstance(name, str) else None, problem)
