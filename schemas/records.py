"""The record on the events topic: an accepted event as ingest wrote it.

The value is JSON: `{"recorded_at": ..., "source": ..., "event": {...}}`,
where `event` is the validated v1 event in canonical form (12-digit codes,
UTC timestamps) and, for person events, `event.person.id` is the keyed hash
(HMAC-SHA256, hex) of the sender's identifier, never the identifier itself.
The partition is the one of the event's county (`schemas.codes.partition_key`,
hashed as the Java client does).

One Kafka record holds one or more such values, one per line (`pack`,
`unpack`): ingest writes a request's events that go to one partition as one
record (issue #13: the aggregator's cost per Kafka record, not per event, was
most of its time). JSON text never holds a raw line break (it is escaped in
strings), so the lines are the values; a record of one value is the format
before the change, still read alike. An event's place on the topic is
(partition, offset, index of its line).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict

from schemas.events import AnyEvent, Event


class EventRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    recorded_at: AwareDatetime
    #: identity of the credential that posted the event (set by ingest)
    source: str
    event: Event

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json", exclude_none=True))

    @classmethod
    def from_json(cls, raw: bytes) -> EventRecord:
        return cls.model_validate_json(raw)

    def content_hash(self) -> str:
        """Hash of the event's content (not of when or by whom it was recorded):
        two versions of one event_id conflict when their hashes differ."""
        return content_hash(self.event)


#: between the values of one Kafka record
LINE = b"\n"


def pack(values: Sequence[bytes]) -> bytes:
    """One Kafka record's value holding these values (`to_json` output), in order."""
    return LINE.join(values)


def unpack(value: bytes) -> list[bytes]:
    """The values one Kafka record holds, in order (a single JSON value written
    across lines, by something other than ingest, is one value)."""
    if LINE not in value:
        return [value]
    try:
        orjson.loads(value)
    except orjson.JSONDecodeError:
        return value.split(LINE)
    return [value]


def canonical_event(event: AnyEvent) -> dict[str, Any]:
    return event.model_dump(mode="json", exclude_none=True)


def json_time(ts: datetime) -> str:
    """A datetime as pydantic writes it in JSON (UTC as `Z`)."""
    text = ts.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@lru_cache(maxsize=8)
def _second_text(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).isoformat()[: -len("+00:00")]


def json_micros(us: int) -> str:
    """`json_time(from_micros(us))`, without building a datetime per stamp."""
    second, fraction = divmod(us, 1_000_000)
    text = _second_text(second)
    return f"{text}.{fraction:06d}Z" if fraction else text + "Z"


def record_json(recorded_at: datetime | int, source: str, event: dict[str, Any]) -> bytes:
    """`EventRecord(recorded_at=..., source=..., event=...).to_json()` for an event
    already validated and dumped by `canonical_event`, without building (and
    validating again) the record model: ingest's per-event path. `recorded_at`
    may be given in µs since the epoch."""
    when = json_micros(recorded_at) if isinstance(recorded_at, int) else json_time(recorded_at)
    return orjson.dumps({"recorded_at": when, "source": source, "event": event})


def content_hash(event: AnyEvent) -> str:
    return body_content_hash(canonical_event(event))


def body_content_hash(body: dict[str, Any]) -> str:
    """`content_hash` of an event already dumped by `canonical_event` (ingest
    hashes the record's event as it writes it, person pseudonymised)."""
    blob = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(blob).hexdigest()


def to_micros(ts: datetime) -> int:
    """Microseconds since the Unix epoch (the store keeps times as Int64 µs)."""
    delta = ts.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(us: int) -> datetime:
    return datetime.fromtimestamp(us // 1_000_000, UTC).replace(microsecond=us % 1_000_000)
