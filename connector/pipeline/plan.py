"""One prepare for every caller (run, check, preview, the Python API, workers): settings and the
input's header become a Plan — the mode's card and writer, the delivery and pacing policies."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Collection, Sequence

from connector.config import Settings
from connector.delivery import DeliveryPolicy
from connector.delivery.concurrency import ConcurrencyPolicy
from connector.delivery.pacing import PacingPolicy
from connector.delivery.retry import RetryPolicy
from connector.errors import HeaderError
from connector.pipeline.mapping import ColumnMapping
from connector.modes import CARDS, ModeCard, card_for
from connector.writers import Writer, WriterOptions

log = logging.getLogger("braze_export")


@dataclass(frozen=True)
class Plan:
    """What a job will do, decided before its first row."""

    settings: Settings
    card: ModeCard
    writer: Writer
    notes: tuple[str, ...]          # what the header check found worth saying
    delivery: DeliveryPolicy
    pacing: PacingPolicy


def writer_options(settings: Settings) -> WriterOptions:
    prefix = "pre_formatted_fields."
    shown = {key[len(prefix):]: text for key, text in settings.origins.items() if key.startswith(prefix)}
    return WriterOptions(pre_formatted_fields=frozenset(column_mapping(settings).renamed(settings.pre_formatted_fields)),
                         update_existing_only=settings.update_existing_only, null_values=settings.null_values,
                         shown=shown, subscription_group_id=settings.subscription_group_id)


def writer_columns(settings: Settings, columns: Sequence[str] | None) -> Sequence[str] | None:
    """The header the writer sees: the dedupe_key column is ours, never sent; it must be there."""
    key = settings.dedupe_key
    if columns is None or key is None:
        return columns
    if key not in columns:
        raise HeaderError(f"the dedupe_key column {settings.shown('dedupe_key')} is not in the input")
    return [c for c in columns if c != key]


# Column names the modes give a meaning to (beside the cards' identifiers), for near-miss hints.
_FIELDS = ("name", "time", "product_id", "currency", "price", "quantity", "app_id", "properties",
           "_update_existing_only", "_merge_objects", "subscription_group_id", "subscription_state",
           "use_double_opt_in_logic", "current_external_id", "new_external_id", "prioritization",
           "merge_external_id", "merge_alias_name", "merge_alias_label", "merge_email", "merge_phone")
KNOWN_COLUMNS = frozenset({c for card in CARDS for _, names in card.keys for c in names} | set(_FIELDS))


def near_misses(header: Sequence[str]) -> str:
    """'; the header has External_ID, Name: column names are exact (external_id, name)', for the
    header's names that differ from a known one only by case or surrounding spaces; else ''."""
    found = [(c, c.strip().lower()) for c in header if c != c.strip().lower() and c.strip().lower() in KNOWN_COLUMNS]
    if not found:
        return ""
    given = ", ".join(repr(c) if c != c.strip() else c for c, _ in found)
    return f"; the header has {given}: column names are exact ({', '.join(known for _, known in found)})"


def column_mapping(settings: Settings) -> ColumnMapping:
    return ColumnMapping(settings.mapping_columns, settings.mapping_constants)


def delivery_policy(settings: Settings, card: ModeCard) -> DeliveryPolicy:
    return DeliveryPolicy(
        path=card.path,
        concurrency=ConcurrencyPolicy(pinned=settings.concurrency if isinstance(settings.concurrency, int) else None),
        max_objects=min(card.objects_per_request(settings.track_object_limit), settings.batch_size),
        retry=RetryPolicy(
            maximum_retries=settings.maximum_retries,
            initial_s=settings.initial_retry_interval_millis / 1000,
            maximum_s=settings.maximum_retry_interval_millis / 1000,
            total_s=settings.maximum_retry_duration_millis / 1000,
        ),
        resend_unknown=card.replay_safe or settings.event_delivery != "at_most_once",
        encode=card.encode,
        read_answer=card.read_answer,
    )


def pacing_policy(settings: Settings, card: ModeCard) -> PacingPolicy:
    return PacingPolicy(per_second=settings.requests_per_second or card.default_rate,
                        per_hour=settings.requests_per_hour, reserve=settings.rate_limit_reserve)


def prepare(settings: Settings, columns: Sequence[str] | None, *, known_notes: Collection[str] = ()) -> Plan:
    """The plan of a job on an input with this header (None: not known before the first row).
    Raises ConfigError or HeaderError; logs each note of the header check not in `known_notes`."""
    card = card_for(settings.mode, settings.track_record_type)
    writer = card.writer(writer_options(settings))
    header = writer_columns(settings, columns)
    mapping = column_mapping(settings)
    try:
        header = mapping.header(header) if mapping and header is not None else header
        notes = tuple(writer.check_columns(header)) if header is not None else ()
    except HeaderError as exc:
        raise HeaderError(f"{exc}{near_misses(header or ())}") from None
    for note in notes:
        if note not in known_notes:
            log.warning("%s", note)
    return Plan(settings, card, writer, notes, delivery_policy(settings, card), pacing_policy(settings, card))
