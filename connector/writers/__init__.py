"""The mode-specific writers: a row (column -> value) in, a Braze object out, or InvalidRow."""

from __future__ import annotations

from typing import Callable

from connector.errors import ConfigError
from connector.writers.attributes import AttributesWriter
from connector.writers.events import EventsWriter, PurchasesWriter
from connector.writers.options import Writer, WriterOptions
from connector.writers.users import DeleteWriter, IdentifyWriter, NewAliasWriter

__all__ = ["Writer", "WriterOptions", "make_writer"]

TRACK_RECORD_TYPES: dict[str, Callable[[WriterOptions], Writer]] = {
    "user_profile_attributes": AttributesWriter,
    "custom_events": EventsWriter,
    "purchases": PurchasesWriter,
}
MODES: dict[str, Callable[[], Writer]] = {"user_new_alias": NewAliasWriter, "user_identifying": IdentifyWriter, "user_delete": DeleteWriter}


def make_writer(mode: str, track_record_type: str | None, options: WriterOptions) -> Writer:
    """The writer for a mode (and, for user_track, a record type)."""
    if options.null_values not in ("skip", "unset"):
        raise ConfigError("null_values must be skip or unset")
    if mode == "user_track":
        track = TRACK_RECORD_TYPES.get(track_record_type or "")
        if track is None:
            raise ConfigError(
                "track_record_type must be one of custom_events, purchases, user_profile_attributes "
                "when mode is user_track"
            )
        return track(options)
    other = MODES.get(mode)
    if other is None:
        raise ConfigError("mode must be one of user_new_alias, user_identifying, user_track, user_delete")
    if track_record_type is not None:
        raise ConfigError(f"track_record_type applies only to mode user_track, not {mode}")
    return other()
