"""The fold: from one archived event to the rows it adds to the store.

Pure and deterministic: the same record at the same topic position always
yields the same rows, so a redelivered record (at-least-once) rewrites
identical rows, which the ReplacingMergeTree tables collapse. Per-subject
state (a person's earliest registration, latest isolation event ...) is not
kept in the worker: the figure queries derive it from the fact rows, as of any
`recorded_at`, which keeps every figure a function of the set of events alone.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from schemas.events import (
    AnyEvent,
    CaseClassified,
    CheckpointTally,
    EventRetracted,
    IsolationEnded,
    IsolationStarted,
    ScreeningRegistered,
    VenueClosed,
    VenueReopened,
    ZeroReport,
)
from schemas.records import EventRecord, to_micros
from services.common.figures import CHECKPOINT_FIELDS


@dataclass(frozen=True)
class TopicPosition:
    """An event's place on the topic: its Kafka record and its line there."""

    partition: int
    offset: int
    line: int = 0


@dataclass(frozen=True)
class ArchiveRow:
    event_id: str
    recorded_us: int
    content_hash: str
    type: str
    jurisdiction: str
    occurred_us: int
    subject: str
    source: str
    record: str
    kafka_partition: int
    kafka_offset: int
    kafka_line: int


@dataclass(frozen=True)
class FactRow:
    kind: str
    jurisdiction: str
    subject: str
    occurred_us: int
    recorded_us: int
    event_id: str
    attr: str
    origin: str
    value: int


@dataclass(frozen=True)
class RetractionRow:
    target_event_id: str
    recorded_us: int
    event_id: str
    reason: str


@dataclass(frozen=True)
class DuplicateRow:
    event_id: str
    recorded_us: int
    content_hash: str
    first_recorded_us: int
    first_content_hash: str
    conflict: int


@dataclass(frozen=True)
class VersionRow:
    """A version's row in the narrow version index (`event_versions`)."""

    id_key: int
    recorded_us: int
    content_key: int


def id_key(event_id: str) -> int:
    """The first 8 bytes of MD5(event_id) as a little-endian UInt64: ClickHouse's
    `reinterpretAsUInt64(MD5(event_id))` (migration 009 backfills with it)."""
    return int.from_bytes(hashlib.md5(event_id.encode()).digest()[:8], "little")


def content_key(content_hash: str) -> int:
    """The first 8 bytes of a hex content hash as a little-endian UInt64:
    `reinterpretAsUInt64(unhex(substring(content_hash, 1, 16)))`."""
    return int.from_bytes(bytes.fromhex(content_hash[:16]), "little")


@dataclass(frozen=True)
class Effects:
    archive: ArchiveRow
    facts: tuple[FactRow, ...]
    retractions: tuple[RetractionRow, ...]

    @property
    def version(self) -> VersionRow:
        a = self.archive
        return VersionRow(id_key(a.event_id), a.recorded_us, content_key(a.content_hash))


def subject_of(event: AnyEvent) -> str:
    """Who or what the event is about: the person's pseudonym; a venue as
    `<jurisdiction>/<venue id>` (a venue is the pair); a checkpoint's id."""
    if isinstance(event, VenueClosed | VenueReopened):
        return f"{event.jurisdiction}/{event.venue.id}"
    if hasattr(event, "person"):
        return str(event.person.id)
    if isinstance(event, CheckpointTally):
        return event.data.checkpoint_id
    return ""


def _attributes(event: AnyEvent) -> list[tuple[str, str, int]]:
    """(attr, origin, value) of each fact row the event yields: one row, four
    for a checkpoint tally (one per count), none for a retraction."""
    match event:
        case ScreeningRegistered():
            return [(event.data.category.value, event.data.origin or "", 0)]
        case IsolationStarted():
            return [(event.data.mode.value, "", event.data.planned_days)]
        case IsolationEnded():
            return [(event.data.reason.value, "", 0)]
        case CaseClassified():
            return [(event.data.status.value, "", 0)]
        case VenueClosed() | VenueReopened():
            return [(event.venue.type.value, "", 0)]
        case CheckpointTally():
            return [(name, "", int(getattr(event.data, name))) for name in CHECKPOINT_FIELDS]
        case ZeroReport():
            return [(event.data.report_date.isoformat(), "", 0)]
        case EventRetracted():
            return []
        case _:
            return [("", "", 0)]


def fold(record: EventRecord, raw: bytes, position: TopicPosition) -> Effects:
    event = record.event
    eid = str(event.event_id)
    recorded = to_micros(record.recorded_at)
    occurred = to_micros(event.occurred_at)
    subject = subject_of(event)
    archive = ArchiveRow(
        event_id=eid,
        recorded_us=recorded,
        content_hash=record.content_hash(),
        type=event.type,
        jurisdiction=event.jurisdiction,
        occurred_us=occurred,
        subject=subject,
        source=record.source,
        record=raw.decode("utf-8"),
        kafka_partition=position.partition,
        kafka_offset=position.offset,
        kafka_line=position.line,
    )
    facts = tuple(
        FactRow(event.type, event.jurisdiction, subject, occurred, recorded, eid, attr, origin, value)
        for attr, origin, value in _attributes(event)
    )
    retractions: tuple[RetractionRow, ...] = ()
    if isinstance(event, EventRetracted):
        retractions = (RetractionRow(str(event.data.target_event_id), recorded, eid, event.data.reason),)
    return Effects(archive, facts, retractions)


def superseded(versions: Iterable[tuple[str, int, str]]) -> list[DuplicateRow]:
    """Given every stored version (event_id, recorded_us, content_hash) of some
    events, the versions that are not the first: the first is the earliest
    recorded (ties: the smaller hash); the others never count in a figure."""
    by_id: dict[str, set[tuple[int, str]]] = defaultdict(set)
    for event_id, recorded_us, chash in versions:
        by_id[event_id].add((recorded_us, chash))
    out: list[DuplicateRow] = []
    for event_id, found in sorted(by_id.items()):
        first, *later = sorted(found)
        out.extend(
            DuplicateRow(event_id, rec, chash, first[0], first[1], int(chash != first[1]))
            for rec, chash in later
        )
    return out
