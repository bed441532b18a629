"""A card per mode: everything the product knows about one mode / record type, in one frozen value.

A card names its writer, the Braze path and request arrays, the objects per request, the rate
bucket and its default pace, whether a request of unknown fate may be resent, what delta and
dedupe apply to, and which columns identify a user (connector/keys.py). Everything that used to
restate one of these reads the card; adding a mode is its writer module, its card here, its
entry in the schema, and the sandbox's own model of its endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Mapping

from connector.delivery.batching import Encoder, array_body
from connector.delivery.bodies import AnswerReader, as_classified, rename_errors, subscription_groups
from connector.errors import ConfigError
from connector.keys import ALIAS, TRACK_KEYS, KeyColumns
from connector.writers import merges, renames, subscriptions
from connector.writers.attributes import AttributesWriter
from connector.writers.base import Writer, WriterOptions
from connector.writers.events import EventsWriter, PurchasesWriter
from connector.writers.merges import MergeWriter
from connector.writers.renames import RenameWriter
from connector.writers.subscriptions import SubscriptionWriter
from connector.writers.users import DeleteWriter, IdentifyWriter, NewAliasWriter

# Braze's default rate limits per bucket, in requests per second (reference/braze-api.md §6):
# /users/track 3,000 per 3 s; identify, alias/new, delete and merge share 20,000 per minute;
# the subscription endpoints share 5,000 per minute; external id renames have 1,000 per minute.
BUCKET_RATES: Mapping[str, float] = MappingProxyType({
    "track": 1000.0, "users": 20000.0 / 60, "subscription": 5000.0 / 60, "rename": 1000.0 / 60})
# /users/track objects per request, by track_object_limit.
TRACK_OBJECT_LIMITS: Mapping[str, int] = MappingProxyType({"combined_75": 75, "per_array_75": 75, "combined_50": 50})


@dataclass(frozen=True)
class ModeCard:
    mode: str
    record_type: str | None             # track_record_type, for mode user_track
    writer: Callable[[WriterOptions], Writer]
    path: str                           # the Braze endpoint
    arrays: tuple[str, ...]             # the request arrays its objects go in
    max_objects: int                    # per request (track_object_limit may narrow /users/track)
    bucket: str                         # Braze's rate-limit bucket (BUCKET_RATES)
    replay_safe: bool                   # a request whose fate is unknown may be resent
    keys: KeyColumns                    # the columns that identify a user, in Braze's order
    delta: bool = False                 # `delta: true` applies
    dedupe: bool = False                # `dedupe_key` applies
    encode: Encoder = array_body        # a request's body of its objects (connector/delivery/bodies.py)
    read_answer: AnswerReader = as_classified   # the endpoint's own per-entry errors, if it has some
    describe: Callable[[Any], str] | None = None    # cannot be undone: one line per object for --dry-run
    on_removed: tuple[str, ...] = ()    # what on_removed may do to a user who left the audience (beyond ignore)

    @property
    def name(self) -> str:
        """'user_track / custom_events', or the mode alone."""
        return f"{self.mode} / {self.record_type}" if self.record_type else self.mode

    @property
    def default_rate(self) -> float:
        """Requests per second when requests_per_second is not set: the bucket's Braze limit."""
        return BUCKET_RATES[self.bucket]

    def objects_per_request(self, track_object_limit: str) -> int:
        """Braze's per-request object limit for this card under the contract's setting."""
        if self.path == "/users/track":
            return min(self.max_objects, TRACK_OBJECT_LIMITS[track_object_limit])
        return self.max_objects


_ID_KEYS: KeyColumns = (("external_id", ("external_id",)), (ALIAS, ("alias_name", "alias_label")))
_DELETE_KEYS: KeyColumns = TRACK_KEYS[:3]

CARDS: tuple[ModeCard, ...] = (     # in the order the schema offers them
    ModeCard("user_new_alias", None, NewAliasWriter, "/users/alias/new", ("user_aliases",), 50,
             "users", replay_safe=True, keys=_ID_KEYS),
    ModeCard("user_identifying", None, IdentifyWriter, "/users/identify", ("aliases_to_identify",), 50,
             "users", replay_safe=True, keys=_ID_KEYS),
    ModeCard("user_track", "custom_events", EventsWriter, "/users/track", ("events",), 75,
             "track", replay_safe=False, keys=TRACK_KEYS, dedupe=True),
    ModeCard("user_track", "purchases", PurchasesWriter, "/users/track", ("purchases",), 75,
             "track", replay_safe=False, keys=TRACK_KEYS, dedupe=True),
    ModeCard("user_track", "user_profile_attributes", AttributesWriter, "/users/track", ("attributes",), 75,
             "track", replay_safe=True, keys=TRACK_KEYS, delta=True, on_removed=("unset", "delete")),
    ModeCard("user_delete", None, DeleteWriter, "/users/delete", ("external_ids", "braze_ids", "user_aliases"), 50,
             "users", replay_safe=True, keys=_DELETE_KEYS),
    ModeCard("user_subscription", None, SubscriptionWriter, "/v2/subscription/status/set",
             tuple(subscriptions.ARRAYS.values()), 50, "subscription", replay_safe=True, keys=subscriptions.KEYS,
             delta=True, encode=subscription_groups, on_removed=("unsubscribe", "delete")),
    ModeCard("user_merge", None, MergeWriter, "/users/merge", ("merge_updates",), 50, "users", replay_safe=True,
             keys=merges.KEYS, describe=merges.describe),
    ModeCard("user_rename_external_id", None, RenameWriter, "/users/external_ids/rename", ("external_id_renames",),
             50, "rename", replay_safe=True, keys=renames.KEYS, read_answer=rename_errors,
             describe=renames.describe),
)
_BY_NAME: Mapping[tuple[str, str | None], ModeCard] = MappingProxyType({(c.mode, c.record_type): c for c in CARDS})

MODES: tuple[str, ...] = tuple(dict.fromkeys(c.mode for c in CARDS))
RECORD_TYPES: tuple[str, ...] = tuple(c.record_type for c in CARDS if c.record_type)


def card_for(mode: str, record_type: str | None) -> ModeCard:
    """The card of a mode (and, for user_track, a record type); ConfigError for an unknown one."""
    card = _BY_NAME.get((mode, record_type))
    if card is not None:
        return card
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}")
    if any(c.mode == mode and c.record_type for c in CARDS):
        raise ConfigError(f"track_record_type must be one of {', '.join(RECORD_TYPES)} when mode is {mode}")
    raise ConfigError(f"track_record_type applies only to mode user_track, not {mode}")


def make_writer(mode: str, record_type: str | None, options: WriterOptions) -> Writer:
    """The writer of a mode, as its card makes it."""
    return card_for(mode, record_type).writer(options)


def cards_where(flag: str) -> tuple[ModeCard, ...]:
    """The cards on which a feature applies: 'delta' or 'dedupe'."""
    return tuple(c for c in CARDS if getattr(c, flag))
