"""user_track / custom_events and purchases: one event or purchase object per row."""

from __future__ import annotations

import math
from typing import Any, Mapping, NamedTuple, Sequence

from connector.errors import HeaderError, InvalidRow
from connector.writers.header import (
    TRACK_IDENTIFIERS,
    PlanCache,
    check_names,
    pre_formatted_notes,
    require,
    row_name_check,
    spacing_notes,
)
from connector.writers.base import Item, WriterOptions
from connector.writers.fastpath import (
    CellPlan,
    Declared,
    Unsure,
    encode_fields,
    external_id_at,
    external_id_encoder,
    field_parts,
)
from connector.writers.identity import contact, track_identity
from connector.writers.properties import (
    EVENT_PROPERTIES_BYTES,
    PROPERTY_BOUND,
    PURCHASE_PROPERTIES_BYTES,
    RESERVED_KEYS,
    check_payload,
    pre_formatted_property,
    properties_object,
    property_column,
)
from connector.writers.structures import Converter
from connector.writers.times import to_time
from connector.writers.values import check_float, identifier, text_value, to_bool

COMMON = ("app_id", "properties", "_update_existing_only")
REQUIRED = "required, but empty"
# Columns whose rows the fast path leaves to build(): other identities, app_id, the properties
# object and the flag column.
NOT_FAST = frozenset({"braze_id", "alias_name", "alias_label", *COMMON})


class Plan(NamedTuple):
    """The property columns of rows that have these keys, and their converters."""

    props: tuple[tuple[str, Converter], ...]
    names: frozenset[str]  # the property columns' names


def required(row: Mapping[str, Any], column: str) -> Any:
    """The row's value of a required column; InvalidRow when it is empty."""
    v = row.get(column)
    if v is None or v == "":
        raise InvalidRow(column, REQUIRED)
    return v


class TrackObjectWriter:
    """What events and purchases share: identity, properties, app_id, _update_existing_only."""

    array = ""
    what = ""  # "custom_events" | "purchases"
    noun = ""  # "custom event" | "purchase"
    optional_columns: tuple[str, ...] = COMMON
    limit = 0
    # The object's own fields, in its order: (column, converter, required). build() and the
    # fast path both read this one list.
    fields: tuple[tuple[str, Converter, bool], ...] = ()

    @property
    def required_columns(self) -> tuple[str, ...]:
        """The columns every row must have a value in."""
        return tuple(column for column, _, needed in self.fields if needed)

    def __init__(self, options: WriterOptions) -> None:
        self._pre_formatted = options.pre_formatted_fields
        self._shown = options.shown
        self._update_existing_only = options.update_existing_only
        self._fixed = frozenset(TRACK_IDENTIFIERS + self.required_columns + self.optional_columns)
        self._plans: PlanCache[Plan] = PlanCache(self._compile)

    def check_columns(self, columns: Sequence[str]) -> list[str]:
        """HeaderError for a missing required or identifier column, or a reserved property name."""
        present = check_names(columns, track=True)
        if not present.intersection(TRACK_IDENTIFIERS):
            raise HeaderError(
                f"no identifier column: {self.what} needs external_id, braze_id, "
                "alias_name+alias_label, email or phone"
            )
        require(present, self.required_columns, self.what)
        try:
            self._plans.compile(tuple(columns))
        except InvalidRow as e:
            raise HeaderError(str(e)) from None
        return spacing_notes(columns, self._fixed) + pre_formatted_notes(
            columns, self._pre_formatted, self._fixed - {"properties"}, self._shown
        )

    def _compile(self, keys: tuple[str, ...]) -> Plan:
        row_name_check(keys, track=True)
        props = []
        for column in keys:
            if column in self._fixed:
                continue
            if column in RESERVED_KEYS:
                raise InvalidRow(column, "Braze reserves this property name (the event's name goes in column name)")
            props.append((column, pre_formatted_property if column in self._pre_formatted else property_column))
        return Plan(tuple(props), frozenset(c for c, _ in props))

    def compile_cells(self, header: Sequence[str], declared: Declared) -> CellPlan | None:
        """The fast path (writers/fastpath.py) for rows identified by a short ASCII external_id,
        when the header has no other identity, no app_id, properties or flag column, no
        pre-formatted column, few enough property columns that their size needs no measuring,
        and external_id is not declared with a type."""
        at = external_id_at(header, declared, NOT_FAST | self._pre_formatted)
        plan = self._plans.get(tuple(header))
        if at is None or len(plan.props) * PROPERTY_BOUND > self.limit:
            return None
        names = frozenset(header)
        index = {name: i for i, name in enumerate(header)}
        contacts = field_parts(header, declared, [(c, identifier) for c in ("email", "phone") if c in names], _as_is)
        fixed = field_parts(header, declared, [(c, convert) for c, convert, _ in self.fields if c in names], _as_is)
        needed_at = [index[c] for c, _, needed in self.fields if needed]
        props = field_parts(header, declared, plan.props, _as_is)

        def rest(cells: Sequence[str]) -> str:
            for i in needed_at:
                if not cells[i]:
                    raise Unsure    # the general path names the empty required column
            text = encode_fields(cells, contacts, False) + encode_fields(cells, fixed, False)
            properties = encode_fields(cells, props, False)
            return text + ',"properties":{' + properties[1:] + "}" if properties else text

        return CellPlan(self.array, external_id_encoder(at, rest, self._update_existing_only))

    def build(self, row: Mapping[str, Any]) -> Item:
        """The event or purchase object of one row."""
        plan = self._plans.get(tuple(row))
        body, key, by_alias, by_contact = track_identity(row)
        if not by_contact:
            contact(row, body)
        for column, convert, needed in self.fields:
            v = required(row, column) if needed else row.get(column)
            if v is not None and v != "":
                body[column] = convert(column, v)
        v = row.get("app_id")
        if v is not None:
            body["app_id"] = text_value("app_id", v)
        v = row.get("properties")
        if v is not None:
            props, structured = properties_object(v)
        else:
            props, structured = {}, False
        for column, convert in plan.props:
            v = row[column]
            if v is not None:
                out = props[column] = convert(column, v)
                if not structured:
                    t = type(out)
                    structured = t is list or t is dict
        if props:
            check_payload(props, plan.names, self.limit, self.noun, structured)
            body["properties"] = props
        v = row.get("_update_existing_only")
        if v is not None:
            body["_update_existing_only"] = to_bool("_update_existing_only", v)
        elif self._update_existing_only:
            body["_update_existing_only"] = True
        return Item(self.array, body, key)



def _as_is(convert: Converter, kind: str) -> bool:
    """Whether a converter sends a value of this declared type unchanged (writers/fastpath.py)."""
    return convert is property_column or (kind == "string" and (convert is text_value or convert is identifier))


class EventsWriter(TrackObjectWriter):
    """Rows -> `events` objects of /users/track."""

    array = "events"
    what = "custom_events"
    noun = "custom event"
    limit = EVENT_PROPERTIES_BYTES
    fields = (("name", text_value, True), ("time", to_time, True))


class PurchasesWriter(TrackObjectWriter):
    """Rows -> `purchases` objects of /users/track."""

    array = "purchases"
    what = "purchases"
    noun = "purchase"
    optional_columns = COMMON + ("quantity",)
    limit = PURCHASE_PROPERTIES_BYTES
    fields = (
        ("product_id", text_value, True),
        ("currency", lambda column, v: currency(v), True),
        ("price", lambda column, v: price(v), True),
        ("quantity", lambda column, v: quantity(v), False),
        ("time", to_time, True),
    )


def currency(v: Any) -> str:
    """An ISO 4217 code: three ASCII letters, sent upper-case."""
    if isinstance(v, str) and len(v) == 3 and v.isascii() and v.isalpha():
        return v.upper()
    raise InvalidRow("currency", "must be a three-letter ISO 4217 code such as USD")


def price(v: Any) -> float | int:
    """A finite number; text is converted to a float."""
    t = type(v)
    if t is float:
        return check_float("price", v)
    if t is int:
        return v
    if isinstance(v, str) and "_" not in v:
        try:
            number = float(v)
        except ValueError:
            pass
        else:
            if math.isfinite(number):
                return number
            raise InvalidRow("price", "NaN or Infinity is not allowed")
    if isinstance(v, float):
        return check_float("price", float(v))
    raise InvalidRow("price", "must be a number")


def quantity(v: Any) -> int:
    """A whole number from 1 to 100 (text of digits, an integer, or a whole float)."""
    n: int | None = None
    if type(v) is int:
        n = v
    elif type(v) is float and v.is_integer():
        n = int(v)
    elif isinstance(v, str):
        s = v.strip()
        if s.isascii() and s.isdigit():
            n = int(s)
    if n is None or not 1 <= n <= 100:
        raise InvalidRow("quantity", "must be a whole number from 1 to 100")
    return n

