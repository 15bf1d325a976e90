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

from tests.integration.harness import Pipeline, poll

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
    assert p.post(void).status_code == 202
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
