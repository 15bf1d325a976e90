"""The reference implementation of the daily figures (contract sections 2 to 5),
checked against hand-computed examples.

Report date 2020-01-28, cutoff 24:00, Asia/Shanghai: W = [01-28 00:00, 01-29 00:00) +08:00,
deadline (2 hours' grace) 01-29 02:00 +08:00.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from schemas.records import EventRecord
from services.common.figures import empty_figures
from services.common.reference import (
    Reporting,
    contradicted,
    daily_figures,
    reporting_status,
    visible_events,
)
from services.common.windows import deadline, report_window

SH = ZoneInfo("Asia/Shanghai")
DAY = date(2020, 1, 28)
W = report_window(DAY, 24, SH)
DEADLINE = deadline(W, 2)
ALWAYS = datetime(2030, 1, 1, tzinfo=UTC)

COUNTY = "340826000000"
TOWN = "340826103000"
VA = "340826103001"  # village A of TOWN
VB = "340826103002"  # village B of TOWN
TOWN2 = "340826104000"
VC = "340826104001"  # a village of TOWN2

_auto_ids = itertools.count(10_000)


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    """A time in January 2020, Shanghai."""
    return datetime(2020, 1, day, hour, minute, second, micro, tzinfo=SH)


def uid(n: int) -> str:
    return str(UUID(int=n))


def rec(
    kind: str,
    occurred: datetime,
    *,
    recorded: datetime | None = None,
    jur: str = VA,
    eid: int | None = None,
    person: str | None = None,
    venue: tuple[str, str] | None = None,
    data: dict[str, Any] | None = None,
) -> EventRecord:
    """One record; recorded one minute after it occurred unless told otherwise."""
    event: dict[str, Any] = {
        "event_id": uid(eid if eid is not None else next(_auto_ids)),
        "type": kind,
        "jurisdiction": jur,
        "occurred_at": occurred,
        "data": data or {},
    }
    if person is not None:
        event["person"] = {"id": person}
    if venue is not None:
        event["venue"] = {"id": venue[0], "type": venue[1]}
    recorded_at = recorded if recorded is not None else occurred + timedelta(minutes=1)
    return EventRecord.model_validate({"recorded_at": recorded_at, "source": "test", "event": event})


def reg(
    person: str, occurred: datetime, category: str = "returnee", origin: str | None = None, **opts: Any
) -> EventRecord:
    data: dict[str, Any] = {"category": category}
    if origin is not None:
        data["origin"] = origin
    return rec("screening.registered", occurred, person=person, data=data, **opts)


def symptom(person: str, occurred: datetime, **opts: Any) -> EventRecord:
    return rec("symptom.reported", occurred, person=person, data={"symptoms": ["fever"]}, **opts)


def iso_start(
    person: str, occurred: datetime, mode: str = "home", planned_days: int | None = None, **opts: Any
) -> EventRecord:
    data: dict[str, Any] = {"mode": mode}
    if planned_days is not None:
        data["planned_days"] = planned_days
    return rec("isolation.started", occurred, person=person, data=data, **opts)


def iso_end(person: str, occurred: datetime, **opts: Any) -> EventRecord:
    return rec("isolation.ended", occurred, person=person, data={"reason": "completed"}, **opts)


def case(person: str, occurred: datetime, status: str, **opts: Any) -> EventRecord:
    return rec("case.classified", occurred, person=person, data={"status": status}, **opts)


def closed(venue_id: str, venue_type: str, occurred: datetime, **opts: Any) -> EventRecord:
    return rec("venue.closed", occurred, venue=(venue_id, venue_type), **opts)


def reopened(venue_id: str, venue_type: str, occurred: datetime, **opts: Any) -> EventRecord:
    return rec("venue.reopened", occurred, venue=(venue_id, venue_type), **opts)


def tally(
    occurred: datetime, people: int, vehicles: int, fevers: int, turned: int, **opts: Any
) -> EventRecord:
    data = {
        "checkpoint_id": "G3-K12",
        "people_checked": people,
        "vehicles_checked": vehicles,
        "fevers_found": fevers,
        "turned_back": turned,
    }
    return rec("checkpoint.tally", occurred, data=data, **opts)


def zero(report_date: str, occurred: datetime, **opts: Any) -> EventRecord:
    return rec("report.zero", occurred, data={"report_date": report_date}, **opts)


def retract(target: int, occurred: datetime, **opts: Any) -> EventRecord:
    return rec("event.retracted", occurred, data={"target_event_id": uid(target), "reason": "wrong"}, **opts)


def figures(records: list[EventRecord], code: str = VA, as_of: datetime = ALWAYS) -> dict[str, Any]:
    return daily_figures(records, code, W, as_of)


def status(records: list[EventRecord], unit: str = VA, as_of: datetime = ALWAYS) -> Reporting:
    return reporting_status(records, unit, DAY, W, DEADLINE, as_of)


# -- visible_events: duplicates -----------------------------------------------------------------------


def test_duplicate_with_conflicting_content_first_recorded_version_stands() -> None:
    first = reg("P1", at(28, 10), "returnee", eid=1, recorded=at(28, 11))
    second = reg("P1", at(28, 10), "close_contact", eid=1, recorded=at(28, 12))
    assert visible_events([second, first], ALWAYS) == [first]
    assert visible_events([second, first], at(28, 11, 30)) == [first]
    assert visible_events([second, first], at(28, 10, 59)) == []
    by_category = figures([second, first])["screened"]["by_category"]
    assert by_category["returnee"] == {"new": 1, "cumulative": 1}
    assert by_category["close_contact"] == {"new": 0, "cumulative": 0}


def test_duplicate_recorded_at_the_same_time_smaller_content_hash_stands() -> None:
    a = reg("P1", at(28, 10), "returnee", eid=1, recorded=at(28, 11))
    b = reg("P1", at(28, 10), "overseas", eid=1, recorded=at(28, 11))
    assert a.content_hash() != b.content_hash()
    winner = a if a.content_hash() < b.content_hash() else b
    assert visible_events([a, b], ALWAYS) == [winner]
    assert visible_events([b, a], ALWAYS) == [winner]


def test_identical_and_conflicting_duplicates_of_a_tally_are_summed_once() -> None:
    first = tally(at(28, 8), 120, 45, 1, 3, eid=1, recorded=at(28, 9))
    again = tally(at(28, 8), 120, 45, 1, 3, eid=1, recorded=at(28, 10))
    conflicting = tally(at(28, 8), 999, 999, 999, 999, eid=1, recorded=at(28, 11))
    assert figures([conflicting, again, first])["checkpoints"] == {
        "people_checked": 120,
        "vehicles_checked": 45,
        "fevers_found": 1,
        "turned_back": 3,
    }


def test_a_later_version_cannot_turn_an_event_into_a_retraction() -> None:
    p1 = reg("P1", at(28, 10), eid=1, recorded=at(28, 10, 1))
    p2 = reg("P2", at(28, 10), eid=2, recorded=at(28, 10, 2))
    late_version = retract(2, at(28, 11), eid=1, recorded=at(28, 11))
    assert visible_events([late_version, p2, p1], ALWAYS) == [p1, p2]
    assert figures([late_version, p2, p1])["screened"]["new"] == 2


def test_visible_events_ignore_input_order_and_come_in_recorded_order() -> None:
    records = [
        reg("P1", at(28, 10), eid=1, recorded=at(28, 13)),
        reg("P2", at(28, 10), eid=2, recorded=at(28, 11)),
        reg("P3", at(28, 10), eid=3, recorded=at(28, 12)),
        retract(3, at(28, 14), eid=4, recorded=at(28, 14)),
    ]
    expected = [records[1], records[0]]
    for perm in itertools.permutations(records):
        assert visible_events(list(perm), ALWAYS) == expected


# -- visible_events: retractions ----------------------------------------------------------------------


def test_retraction_after_target_applies_from_its_recorded_at() -> None:
    target = reg("P1", at(28, 10), eid=1, recorded=at(28, 10, 1))
    retraction = retract(1, at(28, 15), eid=2, recorded=at(28, 15, 1))
    records = [retraction, target]
    assert visible_events(records, at(28, 10, 0, 59)) == []
    assert visible_events(records, at(28, 15, 0, 59, 999_999)) == [target]
    assert visible_events(records, at(28, 15, 1)) == []
    assert visible_events(records, ALWAYS) == []
    assert figures(records, as_of=at(28, 15))["screened"]["new"] == 1
    assert figures(records, as_of=at(28, 15, 1))["screened"]["new"] == 0


def test_retraction_before_target_takes_effect_when_target_arrives() -> None:
    other = reg("P2", at(28, 8), eid=3, recorded=at(28, 8, 1))
    retraction = retract(1, at(28, 9), eid=2, recorded=at(28, 9))
    target = reg("P1", at(28, 9, 30), eid=1, recorded=at(28, 10))
    records = [target, retraction, other]
    assert visible_events(records, at(28, 9, 30)) == [other]
    assert visible_events(records, ALWAYS) == [other]
    assert figures(records)["screened"]["new"] == 1


def test_retraction_of_a_retraction_is_void() -> None:
    target = reg("P1", at(28, 10), eid=1, recorded=at(28, 10))
    r1 = retract(1, at(28, 11), eid=2, recorded=at(28, 11))
    r2 = retract(2, at(28, 12), eid=3, recorded=at(28, 12))
    records = [r2, r1, target]
    assert visible_events(records, at(28, 10, 30)) == [target]
    assert visible_events(records, at(28, 11, 30)) == []
    assert visible_events(records, ALWAYS) == []
    assert figures(records)["screened"]["cumulative"] == 0


def test_retraction_of_a_retraction_recorded_before_its_target_is_still_void() -> None:
    r2 = retract(2, at(28, 9), eid=3, recorded=at(28, 9))  # targets r1, which arrives later
    target = reg("P1", at(28, 9, 30), eid=1, recorded=at(28, 10))
    r1 = retract(1, at(28, 11), eid=2, recorded=at(28, 11))
    records = [target, r1, r2]
    assert visible_events(records, at(28, 9, 30)) == []
    assert visible_events(records, at(28, 10, 30)) == [target]
    assert visible_events(records, ALWAYS) == []


def test_retraction_whose_target_never_arrives_has_no_effect() -> None:
    p1 = reg("P1", at(28, 10), eid=1)
    retraction = retract(99, at(28, 11), eid=2)
    assert visible_events([retraction, p1], ALWAYS) == [p1]
    assert figures([retraction, p1])["screened"]["new"] == 1


def test_retraction_judges_its_target_by_the_target_canonical_version() -> None:
    # eid 1 is first a registration; a later conflicting version claims to be a retraction of eid 50.
    p1 = reg("P1", at(28, 10), eid=1, recorded=at(28, 10))
    p1_conflict = retract(50, at(28, 10), eid=1, recorded=at(28, 11))
    p2 = reg("P2", at(28, 10), eid=50, recorded=at(28, 10, 30))
    retraction = retract(1, at(28, 12), eid=2, recorded=at(28, 12))  # valid: eid 1 is a registration
    records = [retraction, p1_conflict, p2, p1]
    assert visible_events(records, at(28, 11, 30)) == [p1, p2]
    assert visible_events(records, ALWAYS) == [p2]


# -- daily figures: window, skeleton, scope -----------------------------------------------------------


def test_no_events_every_key_is_zero() -> None:
    assert daily_figures([], TOWN, W, ALWAYS) == empty_figures()
    assert daily_figures([], TOWN, W, ALWAYS, focus_areas=("34",)) == empty_figures(("34",))


def test_window_bounds_are_instants_start_inclusive_end_exclusive() -> None:
    records = [
        reg("P1", datetime(2020, 1, 27, 16, 0, tzinfo=UTC)),  # = 01-28 00:00 +08:00, the start
        reg("P2", datetime(2020, 1, 27, 15, 59, 59, 999_999, tzinfo=UTC)),  # just before the start
        reg("P3", datetime(2020, 1, 28, 16, 0, tzinfo=UTC)),  # = the end
    ]
    screened = figures(records)["screened"]
    assert (screened["new"], screened["cumulative"]) == (1, 2)


def test_cutoff_18_window() -> None:
    w18 = report_window(DAY, 18, SH)  # [01-27 18:00, 01-28 18:00)
    records = [reg("P1", at(27, 19)), reg("P2", at(27, 17)), reg("P3", at(28, 18))]
    screened = daily_figures(records, VA, w18, ALWAYS)["screened"]
    assert (screened["new"], screened["cumulative"]) == (1, 2)


def test_descendant_rollup_counts_a_person_in_two_villages_once() -> None:
    records = [
        reg("P1", at(28, 10), jur=VA),
        reg("P1", at(28, 11), jur=VB),
        reg("P2", at(28, 12), jur=VC),
    ]
    assert figures(records, VA)["screened"]["new"] == 1
    assert figures(records, VB)["screened"]["new"] == 1
    assert figures(records, TOWN)["screened"]["new"] == 1
    assert figures(records, TOWN)["screened"]["cumulative"] == 1
    assert figures(records, TOWN2)["screened"]["new"] == 1
    assert figures(records, COUNTY)["screened"]["new"] == 2
    assert figures(records, "340826103")["screened"]["new"] == 1  # short code accepted


def test_earliest_registration_is_taken_within_the_jurisdiction() -> None:
    records = [reg("P1", at(27, 10), jur=VB), reg("P1", at(28, 10), jur=VA)]
    for code, expected in ((VA, (1, 1)), (VB, (0, 1)), (TOWN, (0, 1))):
        screened = figures(records, code)["screened"]
        assert (screened["new"], screened["cumulative"]) == expected, code


# -- screened -----------------------------------------------------------------------------------------


def test_late_event_changes_earliest() -> None:
    records = [
        reg("P1", at(28, 10), recorded=at(28, 10, 1)),
        reg("P1", at(27, 20), recorded=at(29, 9)),  # arrives late, occurred before W
        reg("P2", at(29, 1), recorded=at(29, 1)),  # after W: not even cumulative
    ]
    before = figures(records, as_of=at(29, 8))["screened"]
    after = figures(records)["screened"]
    assert (before["new"], before["cumulative"]) == (1, 1)
    assert (after["new"], after["cumulative"]) == (0, 1)


def test_screened_by_category() -> None:
    records = [
        reg("P1", at(27, 10), "returnee"),
        reg("P1", at(28, 10), "close_contact"),
        reg("P2", at(28, 11), "overseas"),
        reg("P2", at(28, 12), "overseas"),
        reg("P3", at(29, 1), "other"),
    ]
    screened = figures(records)["screened"]
    assert (screened["new"], screened["cumulative"]) == (1, 2)
    assert screened["by_category"] == {
        "returnee": {"new": 0, "cumulative": 1},
        "overseas": {"new": 1, "cumulative": 1},
        "close_contact": {"new": 1, "cumulative": 1},
        "fever_clinic": {"new": 0, "cumulative": 0},
        "other": {"new": 0, "cumulative": 0},
    }


def test_screened_by_origin() -> None:
    wuhan, xiaogan_like, beijing = "420100000000", "421000000000", "110000000000"
    records = [
        reg("P1", at(28, 10), origin=wuhan),
        reg("P2", at(28, 10), origin=xiaogan_like),
        reg("P3", at(28, 10), "overseas", origin="overseas:US"),
        reg("P4", at(28, 10)),
        reg("P5", at(27, 10), origin=wuhan),
        reg("P5", at(28, 10), origin=wuhan),
        reg("P6", at(28, 10), origin=beijing),
        reg("P7", at(28, 10), origin="42"),  # padded to 420000000000: Hubei, not Wuhan
        reg("P8", at(27, 10), origin=beijing),
        reg("P8", at(28, 10), origin=wuhan),  # first registration *from Wuhan* is in W
    ]
    screened = figures(records)["screened"]
    assert (screened["new"], screened["cumulative"]) == (6, 8)
    assert screened["by_origin"] == {
        "42": {"new": 4, "cumulative": 5},
        "4201": {"new": 2, "cumulative": 3},
    }


def test_screened_by_origin_custom_focus_areas() -> None:
    records = [reg("P1", at(28, 10), origin="340826103001"), reg("P2", at(28, 10), origin="420100000000")]
    by_origin = daily_figures(records, VA, W, ALWAYS, focus_areas=("34", "4201"))["screened"]["by_origin"]
    assert by_origin == {"34": {"new": 1, "cumulative": 1}, "4201": {"new": 1, "cumulative": 1}}


# -- symptomatic, isolation ---------------------------------------------------------------------------


def test_symptomatic_new_counts_distinct_persons_in_w() -> None:
    records = [
        symptom("P1", at(28, 9)),
        symptom("P1", at(28, 15)),
        symptom("P2", at(27, 23)),
        symptom("P3", at(29, 0)),
        symptom("P4", at(28, 0)),
    ]
    assert figures(records)["symptomatic"] == {"new": 2}


def test_isolation_started_ended_current() -> None:
    records = [
        iso_start("P1", at(28, 9), "home"),
        iso_start("P1", at(28, 15), "centralized"),
        iso_start("P2", at(27, 9), "medical"),
        iso_start("P3", at(28, 10), "home"),
        iso_end("P3", at(28, 20)),
        iso_start("P4", at(20, 10), "home"),
        iso_end("P4", at(28, 3)),
        iso_start("P5", at(28, 10), "home"),
        iso_end("P5", at(29, 8)),  # after W: P5 is still isolated at end of W
        iso_start("P6", at(27, 10), "home"),
        iso_end("P6", at(29, 0)),  # exactly at the end of W: not yet
    ]
    isolation = figures(records)["isolation"]
    assert isolation["started"] == {"home": 3, "centralized": 1, "medical": 0, "total": 3}
    assert isolation["ended"] == {"total": 2}
    assert isolation["current"] == {"home": 2, "centralized": 1, "medical": 1, "total": 4}
    assert isolation["overdue"] == 0


def test_latest_ties_broken_by_recorded_at_then_event_id() -> None:
    same = at(28, 10)
    records = [
        # P1: the end was recorded later -> latest is the end
        iso_start("P1", same, eid=1, recorded=at(28, 11)),
        iso_end("P1", same, eid=2, recorded=at(28, 12)),
        # P2: the start was recorded later (smaller event_id notwithstanding) -> current
        iso_start("P2", same, eid=3, recorded=at(28, 13)),
        iso_end("P2", same, eid=4, recorded=at(28, 12)),
        # P3: same recorded_at, the start has the larger event_id -> current
        iso_start("P3", same, eid=6, recorded=at(28, 11)),
        iso_end("P3", same, eid=5, recorded=at(28, 11)),
        # P4: same recorded_at, the end has the larger event_id -> not current
        iso_start("P4", same, eid=7, recorded=at(28, 11)),
        iso_end("P4", same, eid=8, recorded=at(28, 11)),
    ]
    assert figures(records)["isolation"]["current"] == {"home": 2, "centralized": 0, "medical": 0, "total": 2}


def test_isolation_overdue_boundary() -> None:
    # end of W is 01-29 00:00; start + planned_days must be strictly before it
    records = [
        iso_start("P1", at(14, 0)),  # default 14 days -> 01-28 00:00: overdue
        iso_start("P2", at(15, 0)),  # -> 01-29 00:00 = end of W: not overdue
        iso_start("P3", at(14, 23, 59, 59, 999_999)),  # -> 01-28 23:59:59.999999: overdue
        iso_start("P4", at(27, 12), planned_days=1),  # -> 01-28 12:00: overdue
        iso_start("P5", at(10, 0)),
        iso_end("P5", at(25, 0)),  # released: neither current nor overdue
        iso_start("P6", at(1, 0), planned_days=30),  # -> 01-31: not overdue
    ]
    isolation = figures(records)["isolation"]
    assert isolation["current"]["total"] == 5
    assert isolation["overdue"] == 3


# -- cases --------------------------------------------------------------------------------------------


def test_cases() -> None:
    records = [
        case("P1", at(27, 10), "suspected"),
        case("P1", at(28, 10), "confirmed"),
        case("P2", at(28, 10), "suspected"),
        case("P3", at(27, 10), "confirmed"),
        case("P3", at(28, 10), "confirmed"),
        case("P3", at(28, 12), "recovered"),
        case("P4", at(28, 10), "suspected"),
        case("P4", at(28, 11), "excluded"),
        case("P5", at(27, 10), "excluded"),
        case("P6", at(26, 1), "confirmed"),
        case("P6", at(28, 20), "deceased"),
        case("P7", at(28, 10), "suspected"),
        case("P7", at(29, 1), "confirmed"),  # after W
    ]
    assert figures(records)["cases"] == {
        "suspected": {"current": 2},
        "confirmed": {"new": 1, "cumulative": 3},
        "recovered": {"new": 1, "cumulative": 1},
        "deceased": {"new": 1, "cumulative": 1},
        "excluded": {"new": 1},
    }


def test_cases_suspected_current_tie_broken_by_recorded_at() -> None:
    records = [
        case("P1", at(28, 10), "confirmed", eid=2, recorded=at(28, 11)),
        case("P1", at(28, 10), "suspected", eid=1, recorded=at(28, 12)),
    ]
    cases = figures(records)["cases"]
    assert cases["suspected"] == {"current": 1}
    assert cases["confirmed"] == {"new": 1, "cumulative": 1}


# -- venues -------------------------------------------------------------------------------------------


def test_venues_identity_is_jurisdiction_and_id_type_from_latest_event() -> None:
    records = [
        closed("V1", "market", at(27, 10), jur=VA),
        reopened("V1", "market", at(27, 12), jur=VA),
        closed("V1", "restaurant", at(28, 10), jur=VA),  # latest: closed, type restaurant
        closed("V1", "market", at(28, 9), jur=VB),  # same id, another village: another venue
        closed("V2", "school", at(28, 8), jur=VA),
        reopened("V2", "school", at(28, 18), jur=VA),
        closed("V3", "entertainment", at(20, 10), jur=VA),
        closed("V4", "market", at(28, 10), jur=VA),
        reopened("V4", "market", at(29, 1), jur=VA),  # after W
        closed("V5", "other", at(28, 1), jur=VA),
        closed("V5", "other", at(28, 2), jur=VA),
    ]
    town = figures(records, TOWN)["venues"]
    assert town["closed"] == {"new": 5, "current": 5}
    assert town["reopened"] == {"new": 1}
    assert town["closed_by_type"] == {
        "market": 2,
        "live_poultry": 0,
        "restaurant": 1,
        "entertainment": 1,
        "religious": 0,
        "school": 0,
        "scenic": 0,
        "internet_cafe": 0,
        "other": 1,
    }
    village_a = figures(records, VA)["venues"]
    assert village_a["closed"] == {"new": 4, "current": 4}
    assert village_a["closed_by_type"]["market"] == 1
    village_b = figures(records, VB)["venues"]
    assert village_b["closed"] == {"new": 1, "current": 1}
    assert village_b["reopened"] == {"new": 0}


def test_venue_latest_tie_broken_by_event_id() -> None:
    records = [
        closed("V1", "market", at(28, 10), eid=21, recorded=at(28, 11)),
        reopened("V1", "market", at(28, 10), eid=20, recorded=at(28, 11)),
    ]
    venues = figures(records)["venues"]
    assert venues["closed"] == {"new": 1, "current": 1}
    assert venues["reopened"] == {"new": 1}
    assert venues["closed_by_type"]["market"] == 1


# -- checkpoints --------------------------------------------------------------------------------------


def test_checkpoints_sum_tallies_in_w() -> None:
    records = [
        tally(at(28, 8), 100, 20, 1, 2, jur=VA),
        tally(at(28, 20), 50, 5, 0, 1, jur=VB),
        tally(at(27, 23), 1000, 1000, 1000, 1000, jur=VA),
        tally(at(29, 0), 1000, 1000, 1000, 1000, jur=VA),
        tally(at(28, 9), 7, 7, 7, 7, jur=VA, eid=1),
        retract(1, at(28, 10), jur=VA),
    ]
    assert figures(records, TOWN)["checkpoints"] == {
        "people_checked": 150,
        "vehicles_checked": 25,
        "fevers_found": 1,
        "turned_back": 3,
    }
    assert figures(records, VA)["checkpoints"] == {
        "people_checked": 100,
        "vehicles_checked": 20,
        "fevers_found": 1,
        "turned_back": 2,
    }
    assert figures(records, VA, as_of=at(28, 10))["checkpoints"]["people_checked"] == 107


# -- reporting status (section 5) ---------------------------------------------------------------------


def test_missing_when_nothing_was_submitted() -> None:
    assert status([]) == Reporting(status="missing", submitted_at=None, zero_report_contradicted=False)


def test_zero_reported() -> None:
    records = [zero("2020-01-28", at(28, 22), recorded=at(28, 22, 1))]
    assert status(records) == Reporting("zero_reported", at(28, 22, 1), False)


def test_zero_report_counts_whatever_its_occurred_at() -> None:
    records = [zero("2020-01-28", at(29, 1), recorded=at(29, 1, 30))]
    assert status(records) == Reporting("zero_reported", at(29, 1, 30), False)


def test_reported() -> None:
    records = [symptom("P1", at(28, 10), recorded=at(28, 10, 1))]
    assert status(records) == Reporting("reported", at(28, 10, 1), False)


def test_zero_report_contradicted_by_an_event_in_w() -> None:
    records = [
        zero("2020-01-28", at(28, 22), recorded=at(28, 22)),
        reg("P1", at(28, 10), recorded=at(29, 3)),  # arrives after the deadline
    ]
    assert status(records) == Reporting("reported", at(28, 22), True)
    assert status(records, as_of=at(29, 1)) == Reporting("zero_reported", at(28, 22), False)


def test_deadline_boundary() -> None:
    assert at(29, 2) == DEADLINE
    on_time = [zero("2020-01-28", at(29, 1), recorded=DEADLINE)]
    assert status(on_time) == Reporting("zero_reported", DEADLINE, False)
    one_us_late = DEADLINE + timedelta(microseconds=1)
    late = [zero("2020-01-28", at(29, 1), recorded=one_us_late)]
    assert status(late) == Reporting("late", one_us_late, False)
    late_event = [symptom("P1", at(28, 23), recorded=one_us_late)]
    assert status(late_event) == Reporting("late", one_us_late, False)
    on_time_event = [symptom("P1", at(28, 23), recorded=DEADLINE)]
    assert status(on_time_event) == Reporting("reported", DEADLINE, False)


def test_submission_time_is_the_earliest_recorded_at() -> None:
    records = [
        symptom("P1", at(28, 10), recorded=at(29, 3)),
        symptom("P2", at(28, 20), recorded=at(28, 23)),
    ]
    assert status(records) == Reporting("reported", at(28, 23), False)


def test_late_zero_report_contradicted() -> None:
    records = [
        zero("2020-01-28", at(29, 5), recorded=at(29, 5)),
        symptom("P1", at(28, 10), recorded=at(29, 6)),
    ]
    assert status(records) == Reporting("late", at(29, 5), True)


def test_zero_report_for_another_date_does_not_count() -> None:
    assert status([zero("2020-01-27", at(28, 10))]).status == "missing"
    assert status([zero("2020-01-29", at(28, 23))]).status == "missing"


def test_event_outside_w_does_not_count() -> None:
    assert status([symptom("P1", at(27, 23, 59))]).status == "missing"
    assert status([symptom("P1", at(29, 0))]).status == "missing"


def test_unit_whose_only_event_was_retracted_is_missing() -> None:
    records = [
        reg("P1", at(28, 10), eid=1, recorded=at(28, 10)),
        retract(1, at(28, 12), eid=2, recorded=at(28, 12)),
    ]
    assert status(records, as_of=at(28, 11)) == Reporting("reported", at(28, 10), False)
    assert status(records) == Reporting("missing", None, False)


def test_a_retraction_alone_is_not_a_submission() -> None:
    assert status([retract(99, at(28, 12))]) == Reporting("missing", None, False)


def test_submission_as_of() -> None:
    records = [symptom("P1", at(28, 10), recorded=at(28, 10, 1))]
    assert status(records, as_of=at(28, 10, 0, 59, 999_999)).status == "missing"
    assert status(records, as_of=at(28, 10, 1)).status == "reported"


def test_units_roll_up_descendants() -> None:
    records = [symptom("P1", at(28, 10), jur=VB, recorded=at(28, 10, 1))]
    assert status(records, unit=TOWN) == Reporting("reported", at(28, 10, 1), False)
    assert status(records, unit=VB).status == "reported"
    assert status(records, unit=VA).status == "missing"
    assert status(records, unit=TOWN2).status == "missing"


# -- zero_report_contradicted: a zero report's own subtree (section 5) ---------------------------------


def test_a_sibling_villages_events_contradict_no_zero_report() -> None:
    """VA zero-reports, VB has an event: no zero report was wrong, so neither
    VA, VB nor their town is flagged."""
    records = [
        zero("2020-01-28", at(28, 20), jur=VA, recorded=at(28, 20)),
        symptom("P1", at(28, 10), jur=VB, recorded=at(28, 10)),
    ]
    assert status(records, unit=VA) == Reporting("zero_reported", at(28, 20), False)
    assert status(records, unit=VB) == Reporting("reported", at(28, 10), False)
    assert status(records, unit=TOWN) == Reporting("reported", at(28, 10), False)
    assert status(records, unit=COUNTY).zero_report_contradicted is False


def test_a_unit_holding_a_contradicted_zero_report_is_flagged_up_the_tree() -> None:
    records = [
        zero("2020-01-28", at(28, 20), jur=VA, recorded=at(28, 20)),
        symptom("P1", at(28, 10), jur=VA, recorded=at(28, 21)),
    ]
    for unit in (VA, TOWN, COUNTY):
        assert status(records, unit=unit).zero_report_contradicted is True, unit
    assert status(records, unit=VB).zero_report_contradicted is False
    assert status(records, unit=TOWN2).zero_report_contradicted is False


def test_a_towns_zero_report_is_contradicted_by_its_villages_events() -> None:
    records = [
        zero("2020-01-28", at(28, 20), jur=TOWN, recorded=at(28, 20)),
        symptom("P1", at(28, 10), jur=VB, recorded=at(28, 10)),
    ]
    assert status(records, unit=TOWN).zero_report_contradicted is True
    assert status(records, unit=COUNTY).zero_report_contradicted is True
    # the town's zero report lies in no village's subtree
    assert status(records, unit=VB) == Reporting("reported", at(28, 10), False)


def test_a_village_event_does_not_contradict_a_sibling_towns_zero_report() -> None:
    records = [
        zero("2020-01-28", at(28, 20), jur=TOWN2, recorded=at(28, 20)),
        symptom("P1", at(28, 10), jur=VA, recorded=at(28, 10)),
    ]
    assert status(records, unit=COUNTY).zero_report_contradicted is False


def test_zero_reports_do_not_contradict_each_other() -> None:
    records = [
        zero("2020-01-28", at(28, 20), jur=TOWN, recorded=at(28, 20)),
        zero("2020-01-28", at(28, 21), jur=VA, recorded=at(28, 21)),
    ]
    assert status(records, unit=TOWN) == Reporting("zero_reported", at(28, 20), False)


def test_only_submitting_events_contradict() -> None:
    """An event outside W, a zero report for another date and a retracted event
    are not submissions for D: they contradict nothing."""
    records = [
        zero("2020-01-28", at(28, 9), jur=VA, recorded=at(28, 9)),
        zero("2020-01-27", at(28, 9), jur=VB, recorded=at(28, 9)),
        symptom("P1", at(27, 10), jur=VA, recorded=at(28, 10)),
        reg("P2", at(28, 10), jur=VA, eid=7, recorded=at(28, 10)),
        retract(7, at(28, 11), eid=8, recorded=at(28, 11)),
    ]
    assert status(records, unit=TOWN).zero_report_contradicted is False
    # before the retraction, the registration was a submission and contradicted VA's zero report
    assert status(records, unit=TOWN, as_of=at(28, 10, 30)).zero_report_contradicted is True


def test_contradicted_names_the_wrong_zero_reports() -> None:
    assert contradicted([VA, VB, TOWN2], [VA]) == {VA}
    assert contradicted([TOWN, VB], [VA]) == {TOWN}
    assert contradicted([COUNTY], ["340826104001"]) == {COUNTY}
    assert contradicted([VA], []) == set()
