"""The daily report through the whole pipeline: late events and as_of,
retractions that arrive before their target, live figures, formats, errors."""

from __future__ import annotations

import csv
import io
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from schemas.records import EventRecord
from tests.integration.harness import Pipeline, poll, produce

ZONE = ZoneInfo("Asia/Shanghai")


def event(kind: str, where: str, occurred: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": kind,
        "jurisdiction": where,
        "occurred_at": occurred.isoformat(),
        **fields,
    }


def screening(where: str, occurred: datetime, person: str) -> dict[str, Any]:
    return event(
        "screening.registered",
        where,
        occurred,
        person={"id": person},
        data={"category": "returnee", "origin": "420100000000"},
    )


def figures(p: Pipeline, code: str, day: str, **params: Any) -> dict[str, Any]:
    resp = p.get("/v1/reports/daily", jurisdiction=code, date=day, **params)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def test_late_event_changes_yesterday_as_of_now_not_as_of_the_deadline(pipeline: Pipeline) -> None:
    p, village = pipeline, "341823100001"
    today = datetime.now(ZONE).replace(minute=0, second=0, microsecond=0)
    yesterday = today - timedelta(days=1)
    day = yesterday.date().isoformat()
    assert p.post(screening(village, yesterday.replace(hour=9), "late-1")).status_code == 202
    posted = datetime.now(UTC)
    poll(lambda: figures(p, village, day)["figures"]["screened"]["new"], lambda n: n == 1, what="late event")
    # grace 0: the deadline is the end of yesterday, always before the event was recorded
    report = figures(p, village, day, grace_hours="0")
    deadline = datetime.fromisoformat(report["reporting"]["deadline"])
    assert deadline < posted
    assert report["reporting"]["status"] == "late"
    before = figures(p, village, day, as_of=(posted - timedelta(seconds=1)).isoformat())
    assert before["figures"]["screened"]["new"] == 0
    at_deadline = figures(p, village, day, as_of=deadline.isoformat())
    assert at_deadline["figures"]["screened"]["new"] == 0
    assert at_deadline["reporting"]["status"] == "missing"


def test_retraction_before_its_target_takes_effect_when_the_target_arrives(pipeline: Pipeline) -> None:
    p, village = pipeline, "341823100002"
    occurred = datetime(2020, 2, 3, 10, tzinfo=ZONE)
    target = screening(village, occurred, "retracted-1")
    keep = screening(village, occurred, "kept-1")
    retraction = event(
        "event.retracted",
        village,
        occurred,
        data={"target_event_id": target["event_id"], "reason": "登记错误"},
    )
    assert p.post(retraction).status_code == 202
    time.sleep(0.5)
    assert p.post([target, keep]).status_code == 202
    stored = poll(
        lambda: p.query("SELECT recorded_us FROM events WHERE event_id = %(id)s", {"id": target["event_id"]}),
        lambda r: len(r) == 1,
        what="target archived",
    )
    got = poll(
        lambda: figures(p, village, "2020-02-03")["figures"]["screened"],
        lambda s: s["cumulative"] >= 1,
        what="kept person counted",
    )
    assert got["cumulative"] == 1 and got["new"] == 1
    # a retraction of the retraction is void: the target stays retracted
    void = event(
        "event.retracted",
        village,
        occurred,
        data={"target_event_id": retraction["event_id"], "reason": "mistake"},
    )
    # ingest refuses it, the target being a stored retraction (issue #17) ...
    refused = p.post(void)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"][0]["field"] == "data.target_event_id"
    # ... and one that reached the topic all the same (a target unknown to
    # ingest then) counts for nothing
    record = EventRecord.model_validate({"recorded_at": datetime.now(UTC), "source": "test", "event": void})
    produce(p.settings, [record])
    poll(
        lambda: p.query("SELECT count() FROM retractions WHERE event_id = %(id)s", {"id": void["event_id"]}),
        lambda r: r[0][0] == 1,
        what="void retraction stored",
    )
    assert figures(p, village, "2020-02-03")["figures"]["screened"]["cumulative"] == 1
    # as of just before the target was recorded, nothing of it showed
    as_of = datetime.fromtimestamp(stored[0][0] / 1e6 - 0.000001, UTC)
    assert (
        figures(p, village, "2020-02-03", as_of=as_of.isoformat())["figures"]["screened"]["cumulative"] == 0
    )


def test_an_earlier_version_of_a_retraction_frees_the_target_of_the_later_one(pipeline: Pipeline) -> None:
    """Two versions of one retraction naming different targets, the earlier
    recorded arriving last: it stands, so its target is retracted and the
    other version's target counts again. The aggregator finds that other
    target in the archived record of the version it already holds
    (services/aggregator/store.py, RETRACTION_RECORDS_SQL)."""
    p, village = pipeline, "341823100004"
    first = screening(village, datetime(2020, 2, 4, 10, tzinfo=ZONE), "two-versions-a")
    second = screening(village, datetime(2020, 2, 5, 10, tzinfo=ZONE), "two-versions-b")
    assert p.post([first, second]).status_code == 202

    def new_on(day: str) -> int | None:
        """The day's screened.new; None for a read that met a recount being
        filed (a 503 the API asks to retry)."""
        resp = p.get("/v1/reports/daily", jurisdiction=village, date=day)
        if resp.status_code == 503 and resp.json()["error"]["code"] == "store_unavailable":
            return None
        assert resp.status_code == 200, resp.text
        n: int = resp.json()["figures"]["screened"]["new"]
        return n

    poll(lambda: (new_on("2020-02-04"), new_on("2020-02-05")), lambda n: n == (1, 1), what="both counted")
    retraction_id = str(uuid.uuid4())

    def version(target: str, recorded_at: datetime) -> EventRecord:
        body = event("event.retracted", village, datetime(2020, 2, 5, 12, tzinfo=ZONE))
        body.update(event_id=retraction_id, data={"target_event_id": target, "reason": "登记错误"})
        return EventRecord.model_validate({"recorded_at": recorded_at, "source": "test", "event": body})

    now = datetime.now(UTC)
    produce(p.settings, [version(first["event_id"], now)])
    poll(lambda: (new_on("2020-02-04"), new_on("2020-02-05")), lambda n: n == (0, 1), what="first retracted")
    produce(p.settings, [version(second["event_id"], now - timedelta(minutes=1))])
    poll(lambda: (new_on("2020-02-04"), new_on("2020-02-05")), lambda n: n == (1, 0), what="second retracted")


def test_todays_figures_are_live(pipeline: Pipeline) -> None:
    p, village = pipeline, "341823100003"
    before = figures(p, village, datetime.now(ZONE).date().isoformat())["figures"]["screened"]["new"]
    sent = time.monotonic()
    assert p.post(screening(village, datetime.now(UTC) - timedelta(seconds=5), "live-1")).status_code == 202
    poll(
        lambda: p.get("/v1/reports/daily", jurisdiction=village).json()["figures"]["screened"]["new"],
        lambda n: n == before + 1,
        timeout=30,
        what="today's figure",
    )
    print(f"visible in the daily report {time.monotonic() - sent:.2f}s after the POST")


def test_csv_and_text_formats(pipeline: Pipeline) -> None:
    p, town = pipeline, "341823100"
    occurred = datetime(2020, 1, 28, 9, tzinfo=ZONE)
    assert (
        p.post(
            [
                screening("341823100004", occurred, "fmt-1"),
                event(
                    "isolation.started",
                    "341823100004",
                    occurred,
                    person={"id": "fmt-1"},
                    data={"mode": "home"},
                ),
            ]
        ).status_code
        == 202
    )
    poll(
        lambda: figures(p, town, "2020-01-28")["figures"]["isolation"]["current"]["home"],
        lambda n: n == 1,
        what="isolation counted",
    )
    resp = p.get(
        "/v1/reports/daily",
        jurisdiction=town,
        date="2020-01-28",
        cutoff="18:00",
        children="true",
        format="csv",
    )
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert rows[0]["code"] == "341823100000" and len(rows) > 2
    assert rows[0]["screened.by_origin.4201.new"] == "1" and rows[0]["isolation.current.home"] == "1"
    assert sum(int(r["screened.new"]) for r in rows[1:]) == 1
    text = p.get(
        "/v1/reports/daily", jurisdiction=town, date="2020-01-28", cutoff="18:00", format="text"
    ).text
    name = figures(p, town, "2020-01-28")["jurisdiction"]["name"]
    assert text.startswith(
        f"截至2020年1月28日18时，{name}累计排查登记1人，其中当日新增1人（湖北1人，武汉1人）"
    )
    assert "现有居家隔离1人" in text


def test_bad_query_input_names_the_parameter(pipeline: Pipeline) -> None:
    for query, parameter, status in [
        ({"jurisdiction": "340826", "format": "xml"}, "format", 400),
        ({"jurisdiction": "340826", "grace_hours": "soon"}, "grace_hours", 400),
        ({"jurisdiction": "340826", "cutoff": "25:00"}, "cutoff", 400),
        ({"jurisdiction": "340826", "as_of": "yesterday"}, "as_of", 400),
        ({"jurisdiction": "340826", "date": "2020-1-28"}, "date", 400),
        ({"jurisdiction": "3408269"}, "jurisdiction", 400),
        ({"jurisdiction": "340899"}, "jurisdiction", 404),
        ({}, "jurisdiction", 400),
    ]:
        resp = pipeline.get("/v1/reports/daily", **query)
        assert resp.status_code == status, (query, resp.text)
        assert resp.json()["error"]["details"][0]["parameter"] == parameter, query


REPORTS = ("/v1/reports/daily", "/v1/reports/zero", "/v1/audit/replay")


def refused(p: Pipeline, path: str, parameter: str, **query: Any) -> str:
    """Asserts a 400 bad_parameter naming `parameter`; returns its message."""
    resp = p.get(path, **query)
    assert resp.status_code == 400, (path, query, resp.text)
    error = resp.json()["error"]
    assert error["code"] == "bad_parameter", (path, query, error)
    assert error["details"][0]["parameter"] == parameter, (path, query, error)
    message: str = error["details"][0]["message"]
    return message


def test_every_report_names_its_bad_parameters(pipeline: Pipeline) -> None:
    p, code = pipeline, "341823"
    tomorrow = (datetime.now(ZONE) + timedelta(days=1)).date().isoformat()
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    for path in REPORTS:
        refused(p, path, "jurisdiction")  # missing: the same code as any bad parameter
        refused(p, path, "jurisdiction", date="2020-01-28")
        refused(p, path, "as_of", jurisdiction=code, date="2020-01-28", as_of=future)
        refused(p, path, "date", jurisdiction=code, date=tomorrow)
        assert "must be one of json" in refused(p, path, "format", jurisdiction=code, format="pdf")
        message = refused(p, path, "grace_hours", jurisdiction=code, date="2020-01-28", grace_hours="-1")
        assert "non-negative" in message and "168" in message, message
    refused(p, "/v1/reports/zero", "format", jurisdiction=code, date="2020-01-28", format="text")
    # with cutoff 00:00, tomorrow's window began at today's midnight: it is live
    resp = p.get("/v1/reports/daily", jurisdiction=code, date=tomorrow, cutoff="00:00")
    assert resp.status_code == 200, resp.text


def test_the_text_report_of_an_open_window_says_as_of_when(pipeline: Pipeline) -> None:
    p, code, day = pipeline, "341823", "2020-01-28"

    def text(**query: str) -> str:
        resp = p.get("/v1/reports/daily", jurisdiction=code, date=day, format="text", **query)
        assert resp.status_code == 200, resp.text
        return resp.text

    assert text(as_of="2020-01-28T09:15:00+08:00").startswith("截至1月28日9时15分，")
    assert text(as_of="2020-01-28T01:00:00Z").startswith("截至1月28日9时，")  # in the reporting zone
    assert text(as_of="2020-01-29T09:15:00+08:00").startswith("截至2020年1月28日24时，")
    live = p.get("/v1/reports/daily", jurisdiction=code, format="text").text  # today, as of now
    assert "24时" not in live.split("，")[0], live


def test_the_zero_report_as_csv(pipeline: Pipeline) -> None:
    p = pipeline
    query = {"jurisdiction": "341823", "date": "2020-01-28", "status": "missing,reported", "limit": "5"}
    body = p.get("/v1/reports/zero", **query).json()
    resp = p.get("/v1/reports/zero", format="csv", **query)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv"), resp.text
    summary_block, units_block = resp.text.split("\n\n")
    summary = next(csv.DictReader(io.StringIO(summary_block)))
    assert summary["jurisdiction"] == body["jurisdiction"]["code"] == "341823000000"
    assert int(summary["expected"]) == body["expected"] > 0
    assert {k: int(summary[k]) for k in body["counts"]} == body["counts"]
    assert int(summary["zero_report_contradicted"]) == body["zero_report_contradicted"]
    assert summary["status"] == "missing,reported" and int(summary["total"]) == body["total"]
    units = list(csv.DictReader(io.StringIO(units_block)))
    assert [(u["code"], u["status"]) for u in units] == [(u["code"], u["status"]) for u in body["units"]]
    assert len(units) == 5
