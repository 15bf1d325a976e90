"""零报告 on the real stack: the four statuses and their boundaries, unit
levels, as_of, contradicted zero reports, pagination and units that exist
only from or until a date. Records go straight to the topic so that their
recorded_at (which decides late or on time) is exact."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from schemas.records import EventRecord
from services.aggregator.contributions import Counted, submissions
from services.aggregator.counting_store import LEDGER_COLUMNS, Ledger
from services.aggregator.fold import FactRow
from tests.integration.harness import Pipeline, poll, produce, wait_caught_up

TOWN = "341824100"  # 华阳镇, 绩溪县: 9 villages
V = [f"341824100{n}" for n in ("001", "002", "003", "004", "005", "006", "201", "202", "203")]
DAY = "2020-01-28"
ZONE = ZoneInfo("Asia/Shanghai")
DEADLINE = datetime(2020, 1, 28, 18, tzinfo=UTC)  # 01-29 02:00 in Shanghai: end of day + 2 h grace
IN_W = "2020-01-28T10:00:00+08:00"


def rec(
    kind: str,
    where: str,
    recorded: datetime,
    occurred: str = IN_W,
    event_id: str | None = None,
    **fields: Any,
) -> EventRecord:
    event = {
        "event_id": event_id or str(uuid.uuid4()),
        "type": kind,
        "jurisdiction": where,
        "occurred_at": occurred,
        **fields,
    }
    return EventRecord.model_validate({"recorded_at": recorded, "source": "test", "event": event})


def screening(
    where: str, recorded: datetime, occurred: str = IN_W, event_id: str | None = None
) -> EventRecord:
    return rec(
        "screening.registered",
        where,
        recorded,
        occurred,
        event_id,
        person={"id": "z-" + where},
        data={"category": "other"},
    )


def zero(where: str, recorded: datetime, day: str = DAY) -> EventRecord:
    return rec("report.zero", where, recorded, data={"report_date": day})


@pytest.fixture(scope="module")
def loaded(pipeline: Pipeline) -> Pipeline:
    retracted = str(uuid.uuid4())
    records = [
        zero(V[0], DEADLINE - timedelta(hours=3)),  # zero_reported
        screening(V[1], DEADLINE),  # reported, exactly at the deadline
        screening(V[2], DEADLINE + timedelta(seconds=1)),  # late, one second after
        screening(V[3], DEADLINE - timedelta(hours=5), event_id=retracted),  # retracted: missing
        rec(
            "event.retracted",
            V[3],
            DEADLINE - timedelta(hours=4),
            data={"target_event_id": retracted, "reason": "误报"},
        ),
        zero(V[4], DEADLINE - timedelta(hours=6)),  # zero report, then a real event
        screening(V[4], DEADLINE - timedelta(hours=2)),  # -> reported, contradicted
        zero(V[5], DEADLINE - timedelta(hours=6), day="2020-01-27"),  # another date: missing
        screening(V[6], DEADLINE - timedelta(hours=6), occurred="2020-01-27T10:00:00+08:00"),  # outside W
        # V[7], V[8]: nothing
    ]
    produce(pipeline.settings, records)
    # a village that exists only from 02-01, and one that existed until 01-27
    pipeline.insert(
        "INSERT INTO divisions (code, name, level, parent, valid_from, valid_to) VALUES",
        [
            (
                "341824100998",
                "新设村",
                "village",
                "341824100000",
                datetime(2020, 2, 1).date(),
                datetime(2100, 1, 1).date(),
            ),
            (
                "341824100999",
                "撤并村",
                "village",
                "341824100000",
                datetime(1970, 1, 1).date(),
                datetime(2020, 1, 28).date(),
            ),
        ],
    )
    wait_caught_up(pipeline)
    return pipeline


def zero_report(p: Pipeline, **params: Any) -> dict[str, Any]:
    resp = p.get("/v1/reports/zero", **params)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def statuses(body: dict[str, Any]) -> dict[str, str]:
    return {u["code"]: u["status"] for u in body["units"]}


def test_the_four_statuses_and_their_boundaries(loaded: Pipeline) -> None:
    body = zero_report(loaded, jurisdiction=TOWN, date=DAY, status="reported,zero_reported,late,missing")
    assert statuses(body) == {
        V[0]: "zero_reported",
        V[1]: "reported",
        V[2]: "late",
        V[3]: "missing",
        V[4]: "reported",
        V[5]: "missing",
        V[6]: "missing",
        V[7]: "missing",
        V[8]: "missing",
    }
    assert body["expected"] == 9  # not 新设村 (from 02-01), not 撤并村 (until 01-27)
    assert body["counts"] == {"reported": 2, "zero_reported": 1, "late": 1, "missing": 5}
    assert body["zero_report_contradicted"] == 1
    assert body["completeness"] == pytest.approx(4 / 9) and body["timeliness"] == pytest.approx(3 / 9)
    assert body["deadline"] == "2020-01-29T02:00:00+08:00"
    on_time = {u["code"]: u["submitted_at"] for u in body["units"]}[V[1]]
    assert on_time == "2020-01-29T02:00:00+08:00"
    assert [u["code"] for u in body["units"]] == sorted(u["code"] for u in body["units"])


def test_default_filter_pagination_and_names(loaded: Pipeline) -> None:
    body = zero_report(loaded, jurisdiction=TOWN, date=DAY)
    assert body["status"] == ["missing", "late"] and body["total"] == 6
    page = zero_report(loaded, jurisdiction=TOWN, date=DAY, limit=2, offset=1)
    assert [u["code"] for u in page["units"]] == [u["code"] for u in body["units"]][1:3]
    assert all(u["name"] for u in body["units"])


def test_grace_and_as_of(loaded: Pipeline) -> None:
    # with a grace of 3 h, the one-second-late unit is on time
    body = zero_report(loaded, jurisdiction=TOWN, date=DAY, grace_hours="3", status="late,reported")
    assert statuses(body) == {V[1]: "reported", V[2]: "reported", V[4]: "reported"}
    # as of a minute before the deadline, the units that submitted later had not
    before = zero_report(
        loaded,
        jurisdiction=TOWN,
        date=DAY,
        status="missing",
        as_of=(DEADLINE - timedelta(minutes=1)).isoformat(),
    )
    assert {V[1], V[2]} <= set(statuses(before))
    # as of before the retraction, the retracted event still counted
    early = zero_report(
        loaded,
        jurisdiction=TOWN,
        date=DAY,
        status="reported",
        as_of=(DEADLINE - timedelta(hours=4, seconds=1)).isoformat(),
    )
    assert V[3] in statuses(early)


def test_units_above_village_level(loaded: Pipeline) -> None:
    county = zero_report(loaded, jurisdiction="341824", date=DAY, unit_level="town", status="reported,late")
    assert statuses(county) == {"341824100000": "reported"}  # its earliest submission was on time
    assert county["expected"] == len(
        loaded.query("SELECT code FROM divisions WHERE level = 'town' AND code LIKE '341824%'")
    )
    assert loaded.get("/v1/reports/zero", jurisdiction=TOWN, unit_level="county").status_code == 400


def test_daily_report_carries_the_units_own_status(loaded: Pipeline) -> None:
    for village, status in ((V[0], "zero_reported"), (V[2], "late"), (V[7], "missing")):
        resp = loaded.get("/v1/reports/daily", jurisdiction=village, date=DAY)
        assert resp.json()["reporting"]["status"] == status, village


def test_bad_zero_report_parameters(loaded: Pipeline) -> None:
    for query, parameter in [
        ({"status": "gone"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"unit_level": "planet"}, "unit_level"),
        ({"cutoff": "7:00"}, "cutoff"),
    ]:
        resp = loaded.get("/v1/reports/zero", jurisdiction=TOWN, **query)
        assert resp.status_code == 400, query
        assert resp.json()["error"]["details"][0]["parameter"] == parameter


def test_zero_reports_outside_the_window_are_rejected_at_ingest(pipeline: Pipeline) -> None:
    today = datetime.now(UTC).astimezone(ZONE).date()
    for day, accepted in (
        (today + timedelta(days=1), False),
        (today - timedelta(days=8), False),
        (today - timedelta(days=7), True),
        (today, True),
    ):
        event = {
            "event_id": str(uuid.uuid4()),
            "type": "report.zero",
            "jurisdiction": V[8],
            "occurred_at": datetime.now(UTC).isoformat(),
            "data": {"report_date": day.isoformat()},
        }
        resp = pipeline.post(event)
        assert resp.status_code == (202 if accepted else 422), (day, resp.text)
        if not accepted:
            assert resp.json()["error"]["details"][0]["field"] == "data.report_date"


# -- contradicted zero reports: only by events in the zero report's own subtree ------------------------

COUNTY = "341821"  # 郎溪县
TOWN_A, A1, A2 = "341821001000", "341821001001", "341821001002"  # A1 zero-reports, A2 has an event
TOWN_B, B1 = "341821002000", "341821002001"  # the town zero-reports, B1 has an event
TOWN_C, C1 = "341821003000", "341821003001"  # C1 has an event (the replay's tampering below)


@pytest.fixture(scope="module")
def contradictions(pipeline: Pipeline) -> Pipeline:
    on_time = DEADLINE - timedelta(hours=6)
    produce(
        pipeline.settings,
        [
            zero(A1, on_time),
            screening(A2, on_time),
            zero(TOWN_B, on_time),
            screening(B1, on_time),
            screening(C1, on_time),
        ],
    )
    wait_caught_up(pipeline)
    return pipeline


def daily(p: Pipeline, code: str, **params: Any) -> dict[str, Any]:
    resp = p.get("/v1/reports/daily", jurisdiction=code, date=DAY, **params)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def test_a_sibling_villages_events_contradict_no_zero_report(contradictions: Pipeline) -> None:
    p = contradictions
    towns = zero_report(p, jurisdiction=COUNTY, date=DAY, unit_level="town")
    assert towns["zero_report_contradicted"] == 1  # 郎川街道 (TOWN_B) only
    villages = zero_report(p, jurisdiction=TOWN_A[:9], date=DAY)
    assert villages["zero_report_contradicted"] == 0
    assert daily(p, TOWN_A)["reporting"]["zero_report_contradicted"] is False
    a1 = daily(p, A1)["reporting"]
    assert (a1["status"], a1["zero_report_contradicted"]) == ("zero_reported", False)


def test_a_towns_zero_report_is_contradicted_by_its_villages_events(contradictions: Pipeline) -> None:
    p = contradictions
    assert daily(p, TOWN_B)["reporting"]["zero_report_contradicted"] is True
    # the town's zero report lies in no village's subtree
    assert daily(p, B1)["reporting"]["zero_report_contradicted"] is False
    county = daily(p, COUNTY, children="true")
    assert county["reporting"]["zero_report_contradicted"] is True
    flags = {
        c["jurisdiction"]["code"]: c["reporting"]["zero_report_contradicted"] for c in county["children"]
    }
    assert (flags[TOWN_A], flags[TOWN_B], flags[TOWN_C]) == (False, True, False)
    village_rows = daily(p, TOWN_A, children="true")["children"]
    assert not any(c["reporting"]["zero_report_contradicted"] for c in village_rows)


def test_the_replay_recomputes_the_flag_and_reports_a_difference(contradictions: Pipeline) -> None:
    p = contradictions

    def replay(code: str) -> dict[str, Any]:
        resp = p.get("/v1/audit/replay", jurisdiction=code, date=DAY)
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    for code in (TOWN_A, TOWN_B, COUNTY):
        assert replay(code)["differences"] == [], code
    # a zero report forged into the store at C1, which has an event: its
    # submission rows as a recount files them (services/common/submissions.py).
    # The served town holds a contradicted zero report, the archive's replay does not
    forged_us = int((DEADLINE - timedelta(hours=5)).timestamp() * 1_000_000)
    fact = FactRow("report.zero", C1, "", forged_us, forged_us, "forged-zero", DAY, "", 0)
    rows = submissions([Counted("forged-zero", (fact,), forged_us, None)])

    def file(sign: int) -> None:
        ledger = Ledger()
        ledger.add_submissions({k: sign * d for k, d in rows.items()}, "z:forged-zero", sign + 2)
        p.insert(
            f"INSERT INTO counting_ledger ({', '.join(LEDGER_COLUMNS)}) VALUES", ledger.columns, columnar=True
        )

    file(1)
    try:
        diffs = replay(TOWN_C)["differences"]
        assert {"figure": "reporting.zero_report_contradicted", "served": True, "replayed": False} in diffs
    finally:
        file(-1)  # the same rows negated: every sum back to what it was
    poll(lambda: replay(TOWN_C)["differences"], lambda d: d == [], what="store restored")


def test_a_contradiction_within_the_hour_of_as_of(pipeline: Pipeline) -> None:
    """A zero report, then a real event in the same village, both recorded
    inside one hour: as of a moment between them and after both, the flag
    follows (the status reads sum whole stamp hours and add the exact rows
    of the codes with rows in the hour around as_of)."""
    village = "341824101201"  # 周坑村委会, 绩溪县: no other test's
    zero_at = DEADLINE - timedelta(hours=5, minutes=50)
    event_at = zero_at + timedelta(minutes=20)
    produce(pipeline.settings, [zero(village, zero_at), screening(village, event_at)])
    wait_caught_up(pipeline)
    for as_of, flag in (
        (event_at - timedelta(microseconds=1), False),
        (event_at, True),
        (event_at + timedelta(minutes=10), True),
    ):
        for code in (village, village[:9], village[:6]):
            got = daily(pipeline, code, as_of=as_of.isoformat())["reporting"]
            assert got["zero_report_contradicted"] is flag, (code, as_of)
