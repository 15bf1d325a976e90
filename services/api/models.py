"""The API's answers (contract section 6) as pydantic models: what the OpenAPI
document describes, and what the routes build and send. The fields keep the
order of the JSON; no model allows a field it does not declare, so the
document lists every field an answer carries. Times are the strings the
reports have always sent (RFC 3339, in the reporting zone), not re-rendered."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Day = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", json_schema_extra={"format": "date"})]
Code = Annotated[str, Field(pattern=r"^[0-9]{12}$", description="12-digit division code")]
Count = Annotated[int, Field(ge=0)]
Level = Literal["country", "province", "city", "county", "town", "village"]
Status = Literal["reported", "zero_reported", "late", "missing"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors ---------------------------------------------------------------------------------------------


class ErrorBody(Strict):
    code: str = Field(description="e.g. bad_parameter, unauthenticated, forbidden, unknown_jurisdiction")
    message: str
    details: list[dict[str, Any]] = Field(description="e.g. the parameter at fault")
    request_id: str | None = Field(None, description="the answer's X-Request-ID: quote it when reporting")


class ErrorResponse(Strict):
    """Every error: `{"error": {"code", "message", "details", "request_id"}}`."""

    error: ErrorBody


# -- the report header ----------------------------------------------------------------------------------


class Jurisdiction(Strict):
    code: Code
    name: str
    level: Level


class Window(Strict):
    start: DateTime
    end: DateTime


class ReportHeader(Strict):
    """What every report says first: which jurisdiction, date, cutoff and time."""

    jurisdiction: Jurisdiction
    date: Day
    cutoff: str = Field(pattern=r"^([01][0-9]|2[0-4]):00$")
    as_of: DateTime
    window: Window


# -- the figures (section 4): the nested dict of services/common/figures.py ---------------------------------


class NewCumulative(Strict):
    new: Count
    cumulative: Count


class ByCategory(Strict):
    returnee: NewCumulative
    overseas: NewCumulative
    close_contact: NewCumulative
    fever_clinic: NewCumulative
    other: NewCumulative


class Screened(Strict):
    new: Count
    cumulative: Count
    by_category: ByCategory
    by_origin: dict[str, NewCumulative] = Field(description="one entry per focus area (a code prefix)")


class New(Strict):
    new: Count


class ByMode(Strict):
    home: Count
    centralized: Count
    medical: Count
    total: Count


class Total(Strict):
    total: Count


class Isolation(Strict):
    started: ByMode
    ended: Total
    current: ByMode
    overdue: Count


class Current(Strict):
    current: Count


class Cases(Strict):
    suspected: Current
    confirmed: NewCumulative
    recovered: NewCumulative
    deceased: NewCumulative
    excluded: New


class Closed(Strict):
    new: Count
    current: Count


class ByVenueType(Strict):
    market: Count
    live_poultry: Count
    restaurant: Count
    entertainment: Count
    religious: Count
    school: Count
    scenic: Count
    internet_cafe: Count
    other: Count


class Venues(Strict):
    closed: Closed
    reopened: New
    closed_by_type: ByVenueType


class Checkpoints(Strict):
    people_checked: Count
    vehicles_checked: Count
    fevers_found: Count
    turned_back: Count


class Figures(Strict):
    """Every figure of section 4, nested by its dotted name, 0 where nothing happened."""

    screened: Screened
    symptomatic: New
    isolation: Isolation
    cases: Cases
    venues: Venues
    checkpoints: Checkpoints


# -- 日报告 ----------------------------------------------------------------------------------------------


class Reporting(Strict):
    """The jurisdiction's own section 5 status for the date."""

    status: Status
    submitted_at: DateTime | None
    deadline: DateTime
    zero_report_contradicted: bool = Field(
        description="its subtree holds a zero report contradicted by an event in that zero report's subtree"
    )


class DailyRow(Strict):
    """One child jurisdiction of a daily report with `children=true`."""

    jurisdiction: Jurisdiction
    figures: Figures
    reporting: Reporting


class DailyReport(ReportHeader):
    figures: Figures
    reporting: Reporting


class DailyReportWithChildren(DailyReport):
    children: list[DailyRow]


class DailyAnswer(RootModel[DailyReport | DailyReportWithChildren]):
    """A daily report; with `children=true`, one row per child jurisdiction."""


# -- 零报告 ----------------------------------------------------------------------------------------------


class ZeroCounts(Strict):
    reported: Count
    zero_reported: Count
    late: Count
    missing: Count


class ZeroUnit(Strict):
    code: Code
    name: str
    status: Status
    submitted_at: DateTime | None


class ZeroReport(ReportHeader):
    deadline: DateTime
    unit_level: Level
    expected: Count
    counts: ZeroCounts
    zero_report_contradicted: Count = Field(description="units holding a contradicted zero report")
    completeness: float = Field(ge=0, le=1)
    timeliness: float = Field(ge=0, le=1)
    status: list[Status] = Field(description="the statuses listed in `units`")
    total: Count = Field(description="units with those statuses")
    limit: int
    offset: int
    units: list[ZeroUnit]


# -- the auditor replay -------------------------------------------------------------------------------------


class ReplayReporting(Strict):
    replayed: Status
    served: Status


class Difference(Strict):
    figure: str = Field(
        description="a dotted figure name, or reporting.status / reporting.zero_report_contradicted"
    )
    served: int | str | bool | None
    replayed: int | str | bool | None


class KafkaPosition(Strict):
    partition: int
    offset: int
    line: int = Field(description="the event's line in that record (schemas/records.py)")


class ArchivedEvent(Strict):
    event_id: str
    recorded_at: DateTime
    type: str
    source: str
    kafka: KafkaPosition
    event: dict[str, Any] = Field(description="the event as accepted (person identifiers pseudonymised)")
    duplicate_of_earlier_version: bool | None = Field(None, description="present on superseded versions")
    conflicting: bool | None = Field(None, description="present on superseded versions: content differs")
    retracts: str | None = Field(None, description="present on retractions: the target's event_id")


class ReplayHead(ReportHeader):
    """The replay's summary (the first line of `format=ndjson`)."""

    total_events: Count
    figures: Figures = Field(description="recomputed from the archived events alone")
    served_figures: Figures
    reporting: ReplayReporting
    differences: list[Difference]
    duplicate_conflicts: Count
    retractions: Count


class ReplayReport(ReplayHead):
    limit: int
    offset: int
    events: list[ArchivedEvent]


# -- registry, health, dead letters ------------------------------------------------------------------------


class JurisdictionDetail(Strict):
    code: Code
    name: str
    level: Level
    parent: Code | None
    children: list[Jurisdiction]


class SearchResult(Strict):
    code: Code
    name: str
    level: Level
    ancestors: list[Jurisdiction] = Field(
        description="from the province down to the parent (安徽省 / 淮北市 / 濉溪县 / …); none for a province"
    )


class SearchAnswer(Strict):
    q: str
    results: list[SearchResult] = Field(
        description="at most `limit`, within the caller's scope: exact matches (name or code) first, then "
        "names starting with q, then names containing it (or codes starting with q); by level, then code"
    )
    more: bool = Field(description="more divisions match than are listed")


class DeadLetter(Strict):
    partition: int
    offset: int
    line: int = Field(
        description="the event's line in that Kafka record (a record holds the events of one "
        "request bound for one partition)"
    )
    error: str
    record: str
    detected_at: DateTime


class DeadLetters(Strict):
    source_topic: str
    topic: str
    total: Count
    limit: int
    offset: int
    dead_letters: list[DeadLetter]


class Health(Strict):
    status: Literal["ok"]


class Readiness(Strict):
    status: Literal["ready"]
    store: Literal["ok"]
    broker: Literal["ok"]


# -- the series -----------------------------------------------------------------------------------------


class SeriesDate(Strict):
    date: Day
    figures: dict[str, Any] = Field(
        description="the figures asked for (`figures=`, default all), nested by dotted name as in the "
        "daily report; beside each `.new` figure, `new_rolling7` and `new_rolling14`: the sums of its "
        "values over the 7 and 14 dates ending on this one (dates before `from` included)"
    )


class SeriesReport(Strict):
    """Section 4 figures for each date from `from` to `to`, as of one time."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    jurisdiction: Jurisdiction
    from_: Day = Field(alias="from")
    to: Day
    cutoff: str = Field(pattern=r"^([01][0-9]|2[0-4]):00$")
    as_of: DateTime
    dates: list[SeriesDate]
