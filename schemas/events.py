"""The v1 event envelope and the ten event types of the contract (section 3).

`Event` is a discriminated union on `type`. Rules that need the clock or the
deployment (future timestamps, the zero-report window) run when a
`ValidationContext` is passed as pydantic's validation context; the registry
check (does this code exist) is the ingest service's, since it needs state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
)

from schemas import codes

SCHEMA_VERSION: Literal[1] = 1
#: how far after the server's clock an `occurred_at` may lie (clock skew allowance)
FUTURE_TOLERANCE = timedelta(minutes=5)
#: the earliest `occurred_at` accepted (also keeps every time far from datetime's limits)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


class Category(StrEnum):
    returnee = "returnee"
    overseas = "overseas"
    close_contact = "close_contact"
    fever_clinic = "fever_clinic"
    other = "other"


class Channel(StrEnum):
    police = "police"
    community = "community"
    checkpoint = "checkpoint"
    hospital = "hospital"
    self_report = "self_report"
    other = "other"


class Symptom(StrEnum):
    fever = "fever"
    cough = "cough"
    chest_tightness = "chest_tightness"
    other = "other"


class IsolationMode(StrEnum):
    home = "home"
    centralized = "centralized"
    medical = "medical"


class EndReason(StrEnum):
    completed = "completed"
    transferred = "transferred"
    other = "other"


class CaseStatus(StrEnum):
    suspected = "suspected"
    confirmed = "confirmed"
    excluded = "excluded"
    recovered = "recovered"
    deceased = "deceased"


class VenueType(StrEnum):
    market = "market"
    live_poultry = "live_poultry"
    restaurant = "restaurant"
    entertainment = "entertainment"
    religious = "religious"
    school = "school"
    scenic = "scenic"
    internet_cafe = "internet_cafe"
    other = "other"


@dataclass(frozen=True)
class ValidationContext:
    """What the clock-dependent rules need: the server's clock and the deployment."""

    now: datetime
    timezone: ZoneInfo
    zero_report_window_days: int = 7


def _context(info: ValidationInfo) -> ValidationContext | None:
    ctx = info.context
    if isinstance(ctx, ValidationContext):
        return ctx
    if isinstance(ctx, dict):
        inner = ctx.get("validation")
        if isinstance(inner, ValidationContext):
            return inner
    return None


def _code(value: str) -> str:
    try:
        return codes.normalize(value)
    except codes.CodeError as exc:
        raise ValueError(str(exc)) from None


_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?"
    r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_NAIVE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?")


def _rfc3339(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 timestamp string with an offset")
    if _NAIVE.fullmatch(value):
        raise ValueError("timestamp has no offset (naive); add Z or +08:00")
    if not _RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 timestamp, e.g. 2020-01-28T09:30:00+08:00")
    return value


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 timestamp with an explicit offset -> aware datetime; ValueError otherwise."""
    checked = _rfc3339(text)
    return datetime.fromisoformat(checked.replace("z", "Z").replace("t", "T"))


def _iso_date(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("must be a date YYYY-MM-DD")
    return value


def _exact_int(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be the integer 1")
    return value


def _origin(value: str) -> str:
    if value.startswith("overseas:"):
        if not re.fullmatch(r"overseas:[A-Z]{2}", value, flags=re.ASCII):
            raise ValueError('must be a division code or "overseas:XX" (ISO 3166 alpha-2)')
        return value
    return _code(value)


DivisionCode = Annotated[
    StrictStr,
    Field(
        description="statistical division code of 2, 4, 6, 9 or 12 digits (right-padded to 12)",
        json_schema_extra={"pattern": "^([0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$"},
    ),
    AfterValidator(_code),
]
Timestamp = Annotated[
    AwareDatetime,
    Field(description="RFC 3339 timestamp with an explicit offset, e.g. 2020-01-28T09:30:00+08:00"),
    BeforeValidator(_rfc3339),
]
NonEmpty = Annotated[StrictStr, Field(min_length=1, max_length=256)]
Count = Annotated[StrictInt, Field(ge=0, le=10**12)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(_Strict):
    """The subject of person events. On the wire from senders `id` is the raw
    identifier; ingest replaces it with its keyed hash before the event leaves."""

    id: Annotated[StrictStr, Field(min_length=1, max_length=128)]


class Venue(_Strict):
    id: Annotated[StrictStr, Field(min_length=1, max_length=128)]
    type: VenueType


class ScreeningData(_Strict):
    category: Category
    origin: Annotated[StrictStr, AfterValidator(_origin)] | None = None
    channel: Channel | None = None


class SymptomData(_Strict):
    symptoms: Annotated[list[Symptom], Field(min_length=1, max_length=len(Symptom))]


class IsolationStartData(_Strict):
    mode: IsolationMode
    planned_days: Annotated[StrictInt, Field(ge=1, le=60)] = 14


class IsolationEndData(_Strict):
    reason: EndReason


class CaseData(_Strict):
    status: CaseStatus


class EmptyData(_Strict):
    pass


class CheckpointData(_Strict):
    checkpoint_id: NonEmpty
    people_checked: Count
    vehicles_checked: Count
    fevers_found: Count
    turned_back: Count


class ZeroReportData(_Strict):
    report_date: Annotated[date, BeforeValidator(_iso_date)]

    @field_validator("report_date")
    @classmethod
    def _within_window(cls, value: date, info: ValidationInfo) -> date:
        ctx = _context(info)
        if ctx is None:
            return value
        today = ctx.now.astimezone(ctx.timezone).date()
        if value > today:
            raise ValueError(f"{value} is in the future (today is {today})")
        oldest = today - timedelta(days=ctx.zero_report_window_days)
        if value < oldest:
            raise ValueError(
                f"{value} is older than the {ctx.zero_report_window_days}-day window "
                f"(oldest accepted: {oldest})"
            )
        return value


class RetractionData(_Strict):
    target_event_id: UUID
    reason: NonEmpty


class _Envelope(_Strict):
    event_id: UUID
    jurisdiction: DivisionCode
    occurred_at: Timestamp
    schema_version: Annotated[Literal[1], BeforeValidator(_exact_int)] = SCHEMA_VERSION

    @field_validator("jurisdiction")
    @classmethod
    def _not_the_country(cls, value: str, info: ValidationInfo) -> str:
        """Contract section 3: an event names a province or a lower level (the
        country serves queries only). Checked at ingest (with a context), not
        when a stored record is read back."""
        if value == codes.COUNTRY and _context(info) is not None:
            raise ValueError("the country (00) serves queries only; name a province or a lower level")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _not_in_future(cls, value: datetime, info: ValidationInfo) -> datetime:
        if value < EARLIEST:
            raise ValueError("before 2000-01-01T00:00:00Z, the earliest time accepted")
        ctx = _context(info)
        if ctx is not None and value > ctx.now + FUTURE_TOLERANCE:
            raise ValueError(
                f"more than 5 minutes after the server's clock ({ctx.now.isoformat(timespec='seconds')})"
            )
        return value


class ScreeningRegistered(_Envelope):
    """排查登记"""

    type: Literal["screening.registered"]
    person: Person
    data: ScreeningData


class SymptomReported(_Envelope):
    """随访发现症状"""

    type: Literal["symptom.reported"]
    person: Person
    data: SymptomData


class IsolationStarted(_Envelope):
    """隔离/医学观察"""

    type: Literal["isolation.started"]
    person: Person
    data: IsolationStartData


class IsolationEnded(_Envelope):
    """解除隔离/随访"""

    type: Literal["isolation.ended"]
    person: Person
    data: IsolationEndData


class CaseClassified(_Envelope):
    type: Literal["case.classified"]
    person: Person
    data: CaseData


class VenueClosed(_Envelope):
    """关停"""

    type: Literal["venue.closed"]
    venue: Venue
    data: EmptyData = EmptyData()


class VenueReopened(_Envelope):
    """恢复营业"""

    type: Literal["venue.reopened"]
    venue: Venue
    data: EmptyData = EmptyData()


class CheckpointTally(_Envelope):
    """卡口"""

    type: Literal["checkpoint.tally"]
    data: CheckpointData


class ZeroReport(_Envelope):
    """零报告"""

    type: Literal["report.zero"]
    data: ZeroReportData


class EventRetracted(_Envelope):
    """更正"""

    type: Literal["event.retracted"]
    data: RetractionData


PersonEvent = ScreeningRegistered | SymptomReported | IsolationStarted | IsolationEnded | CaseClassified
VenueEvent = VenueClosed | VenueReopened
AnyEvent = PersonEvent | VenueEvent | CheckpointTally | ZeroReport | EventRetracted
Event = Annotated[AnyEvent, Field(discriminator="type")]

EVENT_TYPES: tuple[str, ...] = (
    "screening.registered",
    "symptom.reported",
    "isolation.started",
    "isolation.ended",
    "case.classified",
    "venue.closed",
    "venue.reopened",
    "checkpoint.tally",
    "report.zero",
    "event.retracted",
)
PERSON_TYPES = frozenset(EVENT_TYPES[:5])
VENUE_TYPES = frozenset(EVENT_TYPES[5:7])
