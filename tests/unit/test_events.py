"""Contract section 3 (events), the rules that need no state, checked through
`schemas.validation.validate_event` with a fixed clock."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from schemas import events as ev
from schemas.events import EVENT_TYPES, ValidationContext
from schemas.validation import Issue, validate_event

#: 2020-01-28T20:00:00Z is 2020-01-29T04:00 in Shanghai: the UTC and local dates differ.
NOW = datetime(2020, 1, 28, 20, 0, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
CTX = ValidationContext(now=NOW, timezone=SHANGHAI, zero_report_window_days=7)
TODAY = "2020-01-29"  # in Asia/Shanghai at NOW

EID = "0b0f3c9e-5d1b-4c52-9a55-2f4e1f1d7a01"
TARGET = "5f2d8a3e-9c41-4e7b-8f10-6a2b3c4d5e6f"
IDX = 7
VILLAGE = "340826103001"
OCCURRED = "2020-01-28T09:30:00+08:00"

MINIMAL: dict[str, dict[str, Any]] = {
    "screening.registered": {"person": {"id": "P1"}, "data": {"category": "returnee"}},
    "symptom.reported": {"person": {"id": "P1"}, "data": {"symptoms": ["fever"]}},
    "isolation.started": {"person": {"id": "P1"}, "data": {"mode": "home"}},
    "isolation.ended": {"person": {"id": "P1"}, "data": {"reason": "completed"}},
    "case.classified": {"person": {"id": "P1"}, "data": {"status": "suspected"}},
    "venue.closed": {"venue": {"id": "V1", "type": "market"}, "data": {}},
    "venue.reopened": {"venue": {"id": "V1", "type": "market"}, "data": {}},
    "checkpoint.tally": {
        "data": {
            "checkpoint_id": "G3-K12",
            "people_checked": 120,
            "vehicles_checked": 45,
            "fevers_found": 1,
            "turned_back": 3,
        }
    },
    "report.zero": {"data": {"report_date": TODAY}},
    "event.retracted": {"data": {"target_event_id": TARGET, "reason": "entered twice"}},
}

CLASSES: dict[str, type[ev._Envelope]] = {
    "screening.registered": ev.ScreeningRegistered,
    "symptom.reported": ev.SymptomReported,
    "isolation.started": ev.IsolationStarted,
    "isolation.ended": ev.IsolationEnded,
    "case.classified": ev.CaseClassified,
    "venue.closed": ev.VenueClosed,
    "venue.reopened": ev.VenueReopened,
    "checkpoint.tally": ev.CheckpointTally,
    "report.zero": ev.ZeroReport,
    "event.retracted": ev.EventRetracted,
}

PERSON_TYPES = sorted(ev.PERSON_TYPES)
VENUE_TYPES = sorted(ev.VENUE_TYPES)
SUBJECTLESS_TYPES = ["checkpoint.tally", "report.zero", "event.retracted"]


def make(type_: str, **changes: Any) -> dict[str, Any]:
    """A valid minimal event of `type_`, with dotted paths set (`data.mode=...`)."""
    event: dict[str, Any] = {
        "event_id": EID,
        "type": type_,
        "jurisdiction": VILLAGE,
        "occurred_at": OCCURRED,
        **copy.deepcopy(MINIMAL[type_]),
    }
    for path, value in changes.items():
        _set(event, path, value)
    return event


def _set(event: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = event
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def without(event: dict[str, Any], path: str) -> dict[str, Any]:
    out = copy.deepcopy(event)
    *parents, leaf = path.split(".")
    node = out
    for part in parents:
        node = node[part]
    del node[leaf]
    return out


def accept(raw: Any, index: int = IDX) -> ev.AnyEvent:
    event, issues = validate_event(raw, index, CTX)
    assert issues == []
    assert event is not None
    return event


def reject(raw: Any, *fields: str, event_id: str | None = EID, index: int = IDX) -> list[Issue]:
    """Asserts the event is rejected with exactly one issue per named field,
    each carrying the event's index and event_id and a message."""
    event, issues = validate_event(raw, index, CTX)
    assert event is None
    got = sorted((i.index, i.event_id, i.field) for i in issues)
    assert got == sorted((index, event_id, f) for f in fields)
    assert all(i.message.strip() for i in issues)
    return issues


# -- accepted forms ---------------------------------------------------------------------------


def test_fixtures_cover_all_ten_types() -> None:
    assert len(EVENT_TYPES) == 10
    assert set(MINIMAL) == set(EVENT_TYPES) == set(CLASSES)


@pytest.mark.parametrize("type_", EVENT_TYPES)
def test_minimal_event_accepted(type_: str) -> None:
    event = accept(make(type_))
    assert type(event) is CLASSES[type_]
    assert event.type == type_
    assert event.event_id == UUID(EID)
    assert event.jurisdiction == VILLAGE
    assert event.occurred_at == datetime(2020, 1, 28, 1, 30, tzinfo=UTC)
    assert event.schema_version == 1


@pytest.mark.parametrize(
    ("type_", "changes", "expected"),
    [
        (
            "screening.registered",
            {"data.origin": "3401", "data.channel": "police"},
            {"category": "returnee", "origin": "340100000000", "channel": "police"},
        ),
        (
            "screening.registered",
            {"data.category": "overseas", "data.origin": "overseas:IT"},
            {"category": "overseas", "origin": "overseas:IT", "channel": None},
        ),
        (
            "symptom.reported",
            {"data.symptoms": ["fever", "cough", "chest_tightness", "other"]},
            {"symptoms": ["fever", "cough", "chest_tightness", "other"]},
        ),
        ("isolation.started", {"data.planned_days": 21}, {"mode": "home", "planned_days": 21}),
        (
            "isolation.started",
            {"data.mode": "centralized", "data.planned_days": 1},
            {"mode": "centralized", "planned_days": 1},
        ),
        (
            "isolation.started",
            {"data.mode": "medical", "data.planned_days": 60},
            {"mode": "medical", "planned_days": 60},
        ),
        ("isolation.ended", {"data.reason": "transferred"}, {"reason": "transferred"}),
        ("case.classified", {"data.status": "deceased"}, {"status": "deceased"}),
        ("venue.closed", {"venue.type": "internet_cafe"}, {}),
        ("venue.reopened", {"venue.type": "live_poultry"}, {}),
        (
            "checkpoint.tally",
            {
                "data.people_checked": 0,
                "data.vehicles_checked": 0,
                "data.fevers_found": 0,
                "data.turned_back": 0,
            },
            {
                "checkpoint_id": "G3-K12",
                "people_checked": 0,
                "vehicles_checked": 0,
                "fevers_found": 0,
                "turned_back": 0,
            },
        ),
    ],
)
def test_event_with_optional_fields_accepted(
    type_: str, changes: dict[str, Any], expected: dict[str, Any]
) -> None:
    event = accept(make(type_, schema_version=1, **changes))
    assert event.schema_version == 1
    assert event.data.model_dump(mode="json") == expected


@pytest.mark.parametrize("type_", EVENT_TYPES)
def test_schema_version_1_accepted_on_every_type(type_: str) -> None:
    assert accept(make(type_, schema_version=1)).schema_version == 1


@pytest.mark.parametrize("type_", VENUE_TYPES)
def test_venue_event_without_data_accepted(type_: str) -> None:
    event = accept(without(make(type_), "data"))
    assert event.data.model_dump() == {}


@pytest.mark.parametrize("venue_type", [t.value for t in ev.VenueType])
def test_every_venue_type_accepted(venue_type: str) -> None:
    event = accept(make("venue.closed", **{"venue.type": venue_type}))
    assert isinstance(event, ev.VenueClosed)
    assert event.venue.type == venue_type


@pytest.mark.parametrize(
    ("type_", "path", "values"),
    [
        ("screening.registered", "data.category", [c.value for c in ev.Category]),
        ("screening.registered", "data.channel", [c.value for c in ev.Channel]),
        ("isolation.started", "data.mode", [m.value for m in ev.IsolationMode]),
        ("isolation.ended", "data.reason", [r.value for r in ev.EndReason]),
        ("case.classified", "data.status", [s.value for s in ev.CaseStatus]),
    ],
)
def test_every_enum_value_of_the_contract_accepted(type_: str, path: str, values: list[str]) -> None:
    contract = {
        "data.category": {"returnee", "overseas", "close_contact", "fever_clinic", "other"},
        "data.channel": {"police", "community", "checkpoint", "hospital", "self_report", "other"},
        "data.mode": {"home", "centralized", "medical"},
        "data.reason": {"completed", "transferred", "other"},
        "data.status": {"suspected", "confirmed", "excluded", "recovered", "deceased"},
    }
    assert set(values) == contract[path]
    for value in values:
        event = accept(make(type_, **{path: value}))
        assert getattr(event.data, path.removeprefix("data.")) == value


# -- type -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_type",
    ["case.updated", "", "Screening.Registered", "screening", "isolation_started", 5, None],
)
def test_unknown_type_rejected(bad_type: Any) -> None:
    reject(make("isolation.started", type=bad_type), "type")


def test_missing_type_rejected() -> None:
    reject(without(make("isolation.started"), "type"), "type")


# -- unknown field values ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "path", "value", "field"),
    [
        ("screening.registered", "data.category", "tourist", "data.category"),
        ("screening.registered", "data.category", "Returnee", "data.category"),
        ("screening.registered", "data.channel", "radio", "data.channel"),
        ("symptom.reported", "data.symptoms", ["fever", "headache"], "data.symptoms.1"),
        ("symptom.reported", "data.symptoms", ["sneeze"], "data.symptoms.0"),
        ("isolation.started", "data.mode", "hotel", "data.mode"),
        ("isolation.started", "data.mode", "Home", "data.mode"),
        ("isolation.ended", "data.reason", "escaped", "data.reason"),
        ("case.classified", "data.status", "probable", "data.status"),
        ("venue.closed", "venue.type", "bar", "venue.type"),
        ("venue.reopened", "venue.type", "", "venue.type"),
    ],
)
def test_unknown_field_value_rejected(type_: str, path: str, value: Any, field: str) -> None:
    reject(make(type_, **{path: value}), field)


# -- missing required fields --------------------------------------------------------------------


@pytest.mark.parametrize("type_", EVENT_TYPES)
@pytest.mark.parametrize("field", ["jurisdiction", "occurred_at"])
def test_missing_envelope_field_rejected(type_: str, field: str) -> None:
    reject(without(make(type_), field), field)


@pytest.mark.parametrize("type_", EVENT_TYPES)
def test_missing_event_id_rejected(type_: str) -> None:
    reject(without(make(type_), "event_id"), "event_id", event_id=None)


@pytest.mark.parametrize(
    ("type_", "path"),
    [
        ("screening.registered", "data"),
        ("screening.registered", "data.category"),
        ("screening.registered", "person.id"),
        ("symptom.reported", "data"),
        ("symptom.reported", "data.symptoms"),
        ("isolation.started", "data"),
        ("isolation.started", "data.mode"),
        ("isolation.ended", "data"),
        ("isolation.ended", "data.reason"),
        ("case.classified", "data"),
        ("case.classified", "data.status"),
        ("venue.closed", "venue.id"),
        ("venue.closed", "venue.type"),
        ("venue.reopened", "venue.type"),
        ("checkpoint.tally", "data"),
        ("checkpoint.tally", "data.checkpoint_id"),
        ("checkpoint.tally", "data.people_checked"),
        ("checkpoint.tally", "data.vehicles_checked"),
        ("checkpoint.tally", "data.fevers_found"),
        ("checkpoint.tally", "data.turned_back"),
        ("report.zero", "data"),
        ("report.zero", "data.report_date"),
        ("event.retracted", "data"),
        ("event.retracted", "data.target_event_id"),
        ("event.retracted", "data.reason"),
    ],
)
def test_missing_required_data_field_rejected(type_: str, path: str) -> None:
    reject(without(make(type_), path), path)


# -- subject -----------------------------------------------------------------------------------


@pytest.mark.parametrize("type_", PERSON_TYPES)
def test_person_event_without_person_rejected(type_: str) -> None:
    reject(without(make(type_), "person"), "person")


@pytest.mark.parametrize("type_", VENUE_TYPES)
def test_venue_event_without_venue_rejected(type_: str) -> None:
    reject(without(make(type_), "venue"), "venue")


@pytest.mark.parametrize("type_", PERSON_TYPES)
def test_venue_on_person_event_rejected(type_: str) -> None:
    reject(make(type_, venue={"id": "V1", "type": "market"}), "venue")


@pytest.mark.parametrize("type_", PERSON_TYPES)
def test_venue_instead_of_person_rejected(type_: str) -> None:
    raw = without(make(type_, venue={"id": "V1", "type": "market"}), "person")
    reject(raw, "person", "venue")


@pytest.mark.parametrize("type_", VENUE_TYPES)
def test_person_on_venue_event_rejected(type_: str) -> None:
    reject(make(type_, person={"id": "P1"}), "person")


@pytest.mark.parametrize("type_", VENUE_TYPES)
def test_person_instead_of_venue_rejected(type_: str) -> None:
    reject(without(make(type_, person={"id": "P1"}), "venue"), "person", "venue")


@pytest.mark.parametrize("type_", SUBJECTLESS_TYPES)
@pytest.mark.parametrize(
    ("subject", "value"), [("person", {"id": "P1"}), ("venue", {"id": "V1", "type": "market"})]
)
def test_subject_on_subjectless_event_rejected(type_: str, subject: str, value: Any) -> None:
    reject(make(type_, **{subject: value}), subject)


@pytest.mark.parametrize(
    ("person", "field"),
    [({"id": ""}, "person.id"), ({"id": 42}, "person.id"), ("P1", "person"), (None, "person")],
)
def test_bad_person_rejected(person: Any, field: str) -> None:
    reject(make("case.classified", person=person), field)


# -- extra fields -------------------------------------------------------------------------------


@pytest.mark.parametrize("type_", EVENT_TYPES)
@pytest.mark.parametrize("extra", ["recorded_at", "source", "comment"])
def test_unknown_envelope_field_rejected(type_: str, extra: str) -> None:
    values = {"recorded_at": "2020-01-01T00:00:00Z", "source": "county-cdc", "comment": "x"}
    reject(make(type_, **{extra: values[extra]}), extra)


@pytest.mark.parametrize("type_", EVENT_TYPES)
def test_unknown_data_field_rejected(type_: str) -> None:
    reject(make(type_, **{"data.note": "x"}), "data.note")


@pytest.mark.parametrize(
    ("type_", "path"),
    [
        ("screening.registered", "person.name"),
        ("venue.closed", "venue.address"),
        ("venue.reopened", "venue.name"),
    ],
)
def test_unknown_subject_field_rejected(type_: str, path: str) -> None:
    reject(make(type_, **{path: "x"}), path)


# -- division codes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "",
        "3",
        "340",
        "34082",
        "3408261",
        "34082610",
        "3408261030",
        "34082610300",
        "3408261030011",
        "34082a",
        "34O826",
        "34 0826",
        " 340826",
        "+34082",
        "-340826",
        "001234",
        "0012",
        "001100000000",
        "000826103001",
        340826,
        340826103001,
        None,
        "340826\n",  # `$` also matches before a final newline (bug at a828451)
        "３４０８２６",  # full-width digits match a Unicode `\d` (bug at a828451)
    ],
)
def test_bad_jurisdiction_rejected(code: Any) -> None:
    reject(make("isolation.started", jurisdiction=code), "jurisdiction")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("340826103", "340826103000"),
        ("34", "340000000000"),
        ("3408", "340800000000"),
        ("340826", "340826000000"),
        ("340826103001", "340826103001"),
    ],
)
def test_jurisdiction_normalised(code: str, expected: str) -> None:
    assert accept(make("report.zero", jurisdiction=code)).jurisdiction == expected


@pytest.mark.parametrize("code", ["00", "000000000000"])
def test_an_event_names_a_province_or_a_lower_level(code: str) -> None:
    """The country serves queries only (contract section 3): refused at ingest,
    but a stored record (read without a context) still parses."""
    [issue] = reject(make("screening.registered", jurisdiction=code), "jurisdiction")
    assert "province or a lower level" in issue.message
    event, issues = validate_event(make("screening.registered", jurisdiction=code), IDX, None)
    assert issues == [] and event is not None and event.jurisdiction == "000000000000"


# -- origin -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("overseas:US", "overseas:US"),
        ("overseas:IT", "overseas:IT"),
        ("4201", "420100000000"),
        ("420106", "420106000000"),
        ("420106001001", "420106001001"),
    ],
)
def test_origin_accepted(origin: str, expected: str) -> None:
    event = accept(make("screening.registered", **{"data.origin": origin}))
    assert isinstance(event, ev.ScreeningRegistered)
    assert event.data.origin == expected


@pytest.mark.parametrize(
    "origin",
    [
        "overseas:usa",
        "overseas:U1",
        "overseas:ＵＳ",
        "overseas:US\n",
        "overseas:us",
        "overseas:USA",
        "overseas:",
        "overseas:U",
        "Overseas:US",
        "US",
        "abroad",
        "42010",
        "0042",
        "",
        4201,
    ],
)
def test_bad_origin_rejected(origin: Any) -> None:
    reject(make("screening.registered", **{"data.origin": origin}), "data.origin")


# -- timestamps ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-01-28T01:30:00Z", datetime(2020, 1, 28, 1, 30, tzinfo=UTC)),
        ("2020-01-28T09:30:00+08:00", datetime(2020, 1, 28, 1, 30, tzinfo=UTC)),
        ("2020-01-27T20:30:00-05:00", datetime(2020, 1, 28, 1, 30, tzinfo=UTC)),
        ("2020-01-28T09:30:00.250+08:00", datetime(2020, 1, 28, 1, 30, 0, 250000, tzinfo=UTC)),
    ],
)
def test_timestamp_with_offset_accepted(text: str, expected: datetime) -> None:
    event = accept(make("case.classified", occurred_at=text))
    assert event.occurred_at.utcoffset() is not None
    assert event.occurred_at == expected


@pytest.mark.parametrize(
    "text",
    [
        "2020-01-28T09:30:00",  # naive
        "2020-01-28 09:30:00",  # naive
        "2020-01-28T09:30:00.123",  # naive
        "2020-01-28",  # date only
        "2020-01-28T09:30+08:00",  # no seconds
        "2020-01-28T09:30Z",  # no seconds
        "2020-01-28T09:30:00+0800",  # offset without colon
        "2020-01-28T09:30:00+08",
        "20200128T093000Z",
        "28/01/2020 09:30:00 +08:00",
        "Tue, 28 Jan 2020 09:30:00 +0800",
        "2020-01-28T25:30:00+08:00",
        "2020-02-30T09:30:00+08:00",
        "2020-01-28T09:30:00+08:00\n",
        "２０２０-01-28T09:30:00+08:00",
        "",
        1580175000,  # unix seconds
        1580175000.0,
        None,
    ],
)
def test_bad_timestamp_rejected(text: Any) -> None:
    reject(make("case.classified", occurred_at=text), "occurred_at")


@pytest.mark.parametrize(
    "text",
    [
        "2020-01-28T20:05:00Z",
        "2020-01-29T04:05:00+08:00",
        "2020-01-28T20:04:59Z",
        "2020-01-28T20:00:00Z",
    ],
)
def test_occurred_at_up_to_5_minutes_ahead_accepted(text: str) -> None:
    accept(make("isolation.started", occurred_at=text))


@pytest.mark.parametrize(
    "text",
    [
        "2020-01-28T20:05:01Z",
        "2020-01-29T04:05:01+08:00",
        "2020-01-28T20:05:00.001Z",
        "2020-01-29T20:00:00Z",
        "2021-01-28T09:30:00+08:00",
    ],
)
def test_occurred_at_more_than_5_minutes_ahead_rejected(text: str) -> None:
    reject(make("isolation.started", occurred_at=text), "occurred_at")


@pytest.mark.parametrize("type_", EVENT_TYPES)
def test_future_rule_applies_to_every_type(type_: str) -> None:
    reject(make(type_, occurred_at="2020-01-28T20:05:01Z"), "occurred_at")


# -- isolation.started planned_days -------------------------------------------------------------


def test_planned_days_defaults_to_14() -> None:
    event = accept(make("isolation.started"))
    assert isinstance(event, ev.IsolationStarted)
    assert event.data.planned_days == 14


@pytest.mark.parametrize("days", [1, 2, 14, 59, 60])
def test_planned_days_in_bounds_accepted(days: int) -> None:
    event = accept(make("isolation.started", **{"data.planned_days": days}))
    assert isinstance(event, ev.IsolationStarted)
    assert event.data.planned_days == days


@pytest.mark.parametrize("days", [0, -1, 61, 365, True, False, "14", 14.0, 14.5, None, [14]])
def test_bad_planned_days_rejected(days: Any) -> None:
    reject(make("isolation.started", **{"data.planned_days": days}), "data.planned_days")


# -- symptom.reported ---------------------------------------------------------------------------


@pytest.mark.parametrize("symptoms", [[], "fever", None, {"fever": True}])
def test_bad_symptom_list_rejected(symptoms: Any) -> None:
    reject(make("symptom.reported", **{"data.symptoms": symptoms}), "data.symptoms")


# -- checkpoint.tally ---------------------------------------------------------------------------

COUNTS = ["people_checked", "vehicles_checked", "fevers_found", "turned_back"]


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("value", [-1, -100, True, False, 1.5, 3.0, "5", None])
def test_bad_checkpoint_count_rejected(count: str, value: Any) -> None:
    reject(make("checkpoint.tally", **{f"data.{count}": value}), f"data.{count}")


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("value", [0, 1, 1_000_000])
def test_checkpoint_count_accepted(count: str, value: int) -> None:
    event = accept(make("checkpoint.tally", **{f"data.{count}": value}))
    assert isinstance(event, ev.CheckpointTally)
    assert getattr(event.data, count) == value


@pytest.mark.parametrize("checkpoint_id", ["", 12])
def test_bad_checkpoint_id_rejected(checkpoint_id: Any) -> None:
    reject(make("checkpoint.tally", **{"data.checkpoint_id": checkpoint_id}), "data.checkpoint_id")


# -- report.zero --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "report_date",
    [
        TODAY,  # today in Shanghai, already tomorrow in UTC
        "2020-01-28",  # today in UTC
        "2020-01-23",
        "2020-01-22",  # exactly 7 days before today
    ],
)
def test_zero_report_date_in_window_accepted(report_date: str) -> None:
    event = accept(make("report.zero", **{"data.report_date": report_date}))
    assert isinstance(event, ev.ZeroReport)
    assert event.data.report_date == date.fromisoformat(report_date)


@pytest.mark.parametrize(
    "report_date",
    [
        "2020-01-30",  # tomorrow
        "2020-02-29",
        "2020-01-21",  # 8 days before today (7 in UTC)
        "2019-01-29",
    ],
)
def test_zero_report_date_outside_window_rejected(report_date: str) -> None:
    reject(make("report.zero", **{"data.report_date": report_date}), "data.report_date")


@pytest.mark.parametrize(("tz", "accepted"), [("Asia/Shanghai", True), ("UTC", False)])
def test_zero_report_today_follows_reporting_timezone(tz: str, accepted: bool) -> None:
    """2020-01-29 is today in Shanghai at NOW but tomorrow in UTC."""
    ctx = ValidationContext(now=NOW, timezone=ZoneInfo(tz), zero_report_window_days=7)
    event, issues = validate_event(make("report.zero"), IDX, ctx)
    assert (event is not None) is accepted
    expected = [] if accepted else [(IDX, EID, "data.report_date")]
    assert [(i.index, i.event_id, i.field) for i in issues] == expected


@pytest.mark.parametrize(("window", "accepted"), [(7, True), (6, False), (30, True)])
def test_zero_report_window_is_the_deployments(window: int, accepted: bool) -> None:
    ctx = ValidationContext(now=NOW, timezone=SHANGHAI, zero_report_window_days=window)
    raw = make("report.zero", **{"data.report_date": "2020-01-22"})
    event, issues = validate_event(raw, IDX, ctx)
    assert (event is not None) is accepted
    expected = [] if accepted else [(IDX, EID, "data.report_date")]
    assert [(i.index, i.event_id, i.field) for i in issues] == expected


@pytest.mark.parametrize(
    "report_date",
    [
        "2020/01/29",
        "20200129",
        "2020-1-29",
        "29-01-2020",
        "2020-01-29T00:00:00+08:00",
        "2020-01-29 ",
        "2020-02-30",
        "2020-13-01",
        "2020-01-29\n",
        "２０２０-01-29",
        "",
        20200129,
        None,
    ],
)
def test_bad_zero_report_date_rejected(report_date: Any) -> None:
    reject(make("report.zero", **{"data.report_date": report_date}), "data.report_date")


# -- event.retracted ----------------------------------------------------------------------------


def test_retraction_target_parsed_as_uuid() -> None:
    event = accept(make("event.retracted"))
    assert isinstance(event, ev.EventRetracted)
    assert event.data.target_event_id == UUID(TARGET)
    assert event.data.reason == "entered twice"


@pytest.mark.parametrize(
    "target", ["not-a-uuid", "", "5f2d8a3e-9c41-4e7b-8f10-6a2b3c4d5e6", "5f2d8a3e", 42, None]
)
def test_bad_retraction_target_rejected(target: Any) -> None:
    reject(make("event.retracted", **{"data.target_event_id": target}), "data.target_event_id")


@pytest.mark.parametrize("reason", ["", None, 7])
def test_bad_retraction_reason_rejected(reason: Any) -> None:
    reject(make("event.retracted", **{"data.reason": reason}), "data.reason")


# -- envelope: schema_version, event_id ---------------------------------------------------------


@pytest.mark.parametrize(
    "version",
    [
        2,
        0,
        -1,
        "1",
        None,
        True,  # JSON true is not the integer 1 (accepted at a828451)
        1.0,
    ],
)
def test_bad_schema_version_rejected(version: Any) -> None:
    reject(make("isolation.started", schema_version=version), "schema_version")


@pytest.mark.parametrize(
    "event_id",
    [
        "not-a-uuid",
        "",
        "0b0f3c9e-5d1b-4c52-9a55-2f4e1f1d7a0",
        "0b0f3c9e-5d1b-4c52-9a55-zzzzzzzzzzzz",
    ],
)
def test_event_id_not_a_uuid_rejected(event_id: str) -> None:
    reject(make("isolation.started", event_id=event_id), "event_id", event_id=event_id)


@pytest.mark.parametrize("event_id", [12345, None, ["x"]])
def test_event_id_not_a_string_rejected(event_id: Any) -> None:
    reject(make("isolation.started", event_id=event_id), "event_id", event_id=None)


# -- the issue names the event ------------------------------------------------------------------


@pytest.mark.parametrize("index", [0, 1, 499])
def test_issue_carries_index_and_event_id(index: int) -> None:
    raw = make("isolation.started", **{"data.mode": "hotel"})
    reject(raw, "data.mode", index=index)


def test_issue_names_each_bad_field() -> None:
    raw = make(
        "checkpoint.tally",
        jurisdiction="12345",
        occurred_at="2020-01-28T09:30:00",
        **{"data.people_checked": -1, "data.turned_back": "3"},
    )
    reject(raw, "jurisdiction", "occurred_at", "data.people_checked", "data.turned_back")


@pytest.mark.parametrize("raw", [[make("isolation.started")], "isolation.started", 42, None, []])
def test_non_object_rejected(raw: Any) -> None:
    reject(raw, "(event)", event_id=None)
