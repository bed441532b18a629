"""Who a row is about: the user key, one text form shared by writers, delivery lanes, workers and delta.

A key is `kind:value`: `external_id:u1`, `braze_id:b7`, `email:a@x.io`, `phone:+15550001`, and for
a user alias `alias:<label>\\x00<name>`. Writers make the key of each object they build; delivery
routes rows to lanes by it (one user, one lane, input order kept); workers share an input by it;
delta looks a user up by it. `KeyColumns` says, for a mode, which columns identify a user and in
which order Braze looks at them (a mode card holds its own), so that a row's key can also be found
before the row is built (`row_key`, `cells_key`), in the same form.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

UserKey = str
# (kind, its columns) in precedence order; a kind of two columns is the alias pair (name, label).
KeyColumns = tuple[tuple[str, tuple[str, ...]], ...]

ALIAS = "alias"
TRACK_KEYS: KeyColumns = (
    ("external_id", ("external_id",)),
    ("braze_id", ("braze_id",)),
    (ALIAS, ("alias_name", "alias_label")),
    ("email", ("email",)),
    ("phone", ("phone",)),
)


def make(kind: str, value: str) -> UserKey:
    """The key of a user identified by one value (`external_id`, `braze_id`, `email`, `phone`)."""
    return kind + ":" + value


def alias(name: str, label: str) -> UserKey:
    """The key of a user alias."""
    return "alias:" + label + "\x00" + name


def kind_of(key: UserKey) -> str:
    """The kind of identifier a key names: external_id, braze_id, alias, email or phone."""
    return key.split(":", 1)[0]


def _text(value: Any) -> str:
    return value if type(value) is str else str(value)


def row_key(row: Mapping[str, Any], columns: KeyColumns) -> UserKey | None:
    """The key of a row's user, by the first identifier set (an empty or null value is unset)."""
    for kind, names in columns:
        values = [row.get(n) for n in names]
        if all(v is not None and v != "" for v in values):
            if len(names) == 2:
                return alias(_text(values[0]), _text(values[1]))
            return make(kind, _text(values[0]))
    return None


def _last_index(header: Sequence[str], name: str) -> int | None:
    """The cell a row dict takes a column's value from: the last of duplicate names."""
    for i in range(len(header) - 1, -1, -1):
        if header[i] == name:
            return i
    return None


def key_plan(header: Sequence[str], columns: KeyColumns) -> list[tuple[str, tuple[int, ...]]]:
    """(kind, cell positions) of each identifier the header has every column of, in order."""
    plan: list[tuple[str, tuple[int, ...]]] = []
    for kind, names in columns:
        found = [_last_index(header, n) for n in names]
        if all(i is not None for i in found):
            plan.append((kind, tuple(i for i in found if i is not None)))
    return plan


def cells_key(header: Sequence[str], columns: KeyColumns) -> Callable[[Sequence[str]], UserKey | None]:
    """A function from one CSV row's raw cells (as long as the header) to its key, as `row_key`."""
    plan = key_plan(header, columns)

    def key(cells: Sequence[str]) -> UserKey | None:
        for kind, at in plan:
            if len(at) == 2:
                name, label = cells[at[0]], cells[at[1]]
                if name and label:
                    return alias(name, label)
            elif cells[at[0]]:
                return make(kind, cells[at[0]])
        return None

    return key
