"""user_track / user_profile_attributes: one attributes object per row."""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple, Sequence

from connector.errors import HeaderError, InvalidRow
from connector.writers.header import (
    TRACK_IDENTIFIERS,
    PlanCache,
    check_names,
    pre_formatted_notes,
    row_name_check,
    spacing_notes,
)
from connector.writers.base import Item, WriterOptions
from connector.writers.fastpath import (
    CellPlan,
    Declared,
    encode_fields,
    external_id_at,
    external_id_encoder,
    field_parts,
)
from connector.writers.identity import track_identity
from connector.writers.structures import STANDARD, STRUCTURED_STANDARD, Converter, attribute_value
from connector.writers.values import (
    MAX_OBJECT_BYTES,
    SCALAR_BOUND,
    check_object_size,
    identifier,
    json_size,
    parse_json,
    to_bool,
)

FLAGS = ("_merge_objects", "_update_existing_only")
KNOWN = TRACK_IDENTIFIERS + FLAGS + tuple(STANDARD) + tuple(STRUCTURED_STANDARD)
# Columns whose rows the fast path leaves to build(): other identities, flags, JSON structure.
NOT_FAST = frozenset({"braze_id", "alias_name", "alias_label", *FLAGS, *STRUCTURED_STANDARD})


class Plan(NamedTuple):
    """What to do with each column of rows that have these keys."""

    fields: tuple[tuple[str, Converter], ...]  # attribute columns and their converters
    contacts: tuple[str, ...]  # email / phone, when the row has them
    merge_objects: bool  # the row has a _merge_objects column
    update_existing_only: bool  # the row has an _update_existing_only column
    may_be_large: bool  # enough columns that scalars alone could approach 4 MB


def from_json(convert: Converter) -> Converter:
    """A pre-formatted column: text is parsed as JSON, then converted."""

    def parse_then_convert(column: str, v: Any) -> Any:
        if type(v) is str:
            v = parse_json(column, v)
        return convert(column, v)

    return parse_then_convert


def not_text(convert: Converter) -> Converter:
    """A standard field that is never text: a text cell must be listed in pre_formatted_fields."""

    def refuse_text(column: str, v: Any) -> Any:
        if isinstance(v, str):
            raise InvalidRow(column, "holds text, not JSON structure: list the column in pre_formatted_fields")
        return convert(column, v)

    return refuse_text


def _as_is(convert: Converter, kind: str) -> bool:
    """Whether a converter sends a value of this declared type unchanged (writers/fastpath.py)."""
    return convert is attribute_value or (convert is identifier and kind == "string")


class AttributesWriter:
    """Rows -> `attributes` objects of /users/track."""

    def __init__(self, options: WriterOptions) -> None:
        self._pre_formatted = options.pre_formatted_fields
        self._shown = options.shown
        self._unset = options.null_values == "unset"
        self._update_existing_only = options.update_existing_only
        self._plans: PlanCache[Plan] = PlanCache(self._compile)

    def check_columns(self, columns: Sequence[str]) -> list[str]:
        """HeaderError when the header cannot identify users; notes on names that look mistyped."""
        present = check_names(columns, track=True)
        if not present.intersection(TRACK_IDENTIFIERS):
            raise HeaderError(
                "no identifier column: user_profile_attributes needs external_id, braze_id, "
                "alias_name+alias_label, email or phone"
            )
        self._plans.compile(tuple(columns))
        fixed = TRACK_IDENTIFIERS + FLAGS
        return spacing_notes(columns, KNOWN) + pre_formatted_notes(columns, self._pre_formatted, fixed, self._shown)

    def _compile(self, keys: tuple[str, ...]) -> Plan:
        row_name_check(keys, track=True)
        fields = []
        for column in keys:
            if column in TRACK_IDENTIFIERS or column in FLAGS:
                continue
            convert = STANDARD.get(column, attribute_value)
            if column in self._pre_formatted:
                convert = from_json(convert)
            elif column in STRUCTURED_STANDARD:
                convert = not_text(convert)
            fields.append((column, convert))
        return Plan(
            fields=tuple(fields),
            contacts=tuple(c for c in ("email", "phone") if c in keys),
            merge_objects="_merge_objects" in keys,
            update_existing_only="_update_existing_only" in keys,
            may_be_large=(len(fields) + 6) * 2 * SCALAR_BOUND > MAX_OBJECT_BYTES,  # name and value
        )

    def compile_cells(self, header: Sequence[str], declared: Declared) -> CellPlan | None:
        """The fast path (writers/fastpath.py) for rows identified by a short ASCII external_id,
        when the header has no other identity, no flag, no structured or pre-formatted column
        and external_id is not declared with a type."""
        at = external_id_at(header, declared, NOT_FAST | self._pre_formatted)
        plan = self._plans.get(tuple(header))
        if at is None or plan.may_be_large:
            return None
        fields = [(c, identifier) for c in plan.contacts] + list(plan.fields)
        parts = field_parts(header, declared, fields, _as_is)
        unset = self._unset
        return CellPlan("attributes", external_id_encoder(
            at, lambda cells: encode_fields(cells, parts, unset), self._update_existing_only))

    def build(self, row: Mapping[str, Any]) -> Item:
        """The attributes object of one row."""
        plan = self._plans.get(tuple(row))
        body, key, by_alias, by_contact = track_identity(row)
        unset = self._unset
        if not by_contact:
            for column in plan.contacts:
                v = row[column]
                text = None if v is None else identifier(column, v)
                if text is not None:
                    body[column] = text
                elif unset:
                    body[column] = None
        structured = plan.may_be_large
        for column, convert in plan.fields:
            v = row[column]
            if v is None:
                if unset:
                    body[column] = None
                continue
            out = body[column] = convert(column, v)
            if not structured:
                t = type(out)
                structured = t is list or t is dict
        self._flags(row, plan, body, by_alias)
        if structured:
            check_object_size(json_size(None, body))
        return Item("attributes", body, key)

    def _flags(self, row: Mapping[str, Any], plan: Plan, body: dict[str, Any], by_alias: bool) -> None:
        """_merge_objects from its column; _update_existing_only from its column or the option."""
        if plan.merge_objects:
            v = row["_merge_objects"]
            if v is not None:
                body["_merge_objects"] = to_bool("_merge_objects", v)
        v = row["_update_existing_only"] if plan.update_existing_only else None
        if v is not None:
            body["_update_existing_only"] = to_bool("_update_existing_only", v)
        elif self._update_existing_only:
            body["_update_existing_only"] = True
        elif by_alias:
            body["_update_existing_only"] = False

