"""`format=xlsx` of the daily and zero reports, read back with openpyxl: the
parameter rows, the Chinese headings over the dotted names, and every cell
of every row equal to the JSON answer's for the same as_of."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from openpyxl import load_workbook

from services.api import xlsx
from services.common.figures import flatten
from tests.integration.harness import Pipeline, poll

TOWN, DAY = "341824100", "2020-02-03"
VILLAGES = ("341824100001", "341824100002")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _post_some(p: Pipeline) -> None:
    events: list[dict[str, Any]] = []
    for i, village in enumerate(VILLAGES):
        at = f"{DAY}T0{i + 8}:30:00+08:00"
        events += [
            {
                "event_id": str(uuid.uuid4()),
                "type": "screening.registered",
                "jurisdiction": village,
                "occurred_at": at,
                "person": {"id": f"xlsx-{i}"},
                "data": {"category": "returnee", "origin": "420100000000"},
            },
            {
                "event_id": str(uuid.uuid4()),
                "type": "isolation.started",
                "jurisdiction": village,
                "occurred_at": at,
                "person": {"id": f"xlsx-{i}"},
                "data": {"mode": "home"},
            },
        ]
    events.append(
        {
            "event_id": str(uuid.uuid4()),
            "type": "checkpoint.tally",
            "jurisdiction": VILLAGES[0],
            "occurred_at": f"{DAY}T10:00:00+08:00",
            "data": {
                "checkpoint_id": "k1",
                "people_checked": 40,
                "vehicles_checked": 7,
                "fevers_found": 1,
                "turned_back": 2,
            },
        }
    )
    assert p.post(events).status_code == 202
    poll(
        lambda: p.get("/v1/reports/daily", jurisdiction=TOWN, date=DAY).json()["figures"]["screened"]["new"],
        lambda n: n >= 2,
        what="the posted events counted",
    )


def _sheet(p: Pipeline, path: str, **params: str) -> list[list[Any]]:
    resp = p.get(path, format="xlsx", **params)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == xlsx.MEDIA_TYPE
    assert "attachment" in resp.headers["content-disposition"]
    book = load_workbook(io.BytesIO(resp.content), read_only=True)
    return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]


def _at(body: dict[str, Any], dotted: str) -> Any:
    node: Any = body
    for part in dotted.split("."):
        node = node[part]
    return node


def _parameters(rows: list[list[Any]], body: dict[str, Any]) -> int:
    """Checks the parameter rows; returns the index of the heading row."""
    i = 0
    while rows[i] and rows[i][0] is not None:
        label, key, value = rows[i][:3]
        assert CJK.search(label), label
        want = _at(body, key)
        assert value == (",".join(want) if isinstance(want, list) else want), key
        i += 1
    assert {"jurisdiction.code", "date", "cutoff", "as_of"} <= {r[1] for r in rows[:i]}
    return i + 1


def test_the_daily_workbook_holds_the_json_answer(pipeline: Pipeline) -> None:
    p = pipeline
    _post_some(p)
    as_of = datetime.now(UTC).isoformat()
    params = {"jurisdiction": TOWN, "date": DAY, "as_of": as_of, "children": "true"}
    body = p.get("/v1/reports/daily", **params).json()
    rows = _sheet(p, "/v1/reports/daily", **params)
    h = _parameters(rows, body)
    headings, names, table = rows[h], rows[h + 1], rows[h + 2 :]
    assert all(CJK.search(str(x)) for x in headings), headings
    figures = [n for n, _ in flatten(body["figures"])]
    assert names[7:] == figures and headings[7:9] == ["当日新增排查", "累计排查"]
    answers = [body, *body["children"]]
    assert len(table) == len(answers) == 1 + len(body["children"]) > 1
    for row, answer in zip(table, answers, strict=True):
        cells = dict(zip(names, row, strict=True))
        j, r = answer["jurisdiction"], answer["reporting"]
        assert [cells["code"], cells["name"], cells["level"]] == [j["code"], j["name"], j["level"]]
        for key in ("status", "submitted_at", "deadline", "zero_report_contradicted"):
            assert cells[f"reporting.{key}"] == r[key], key
        assert {n: cells[n] for n in figures} == dict(flatten(answer["figures"]))
    assert dict(flatten(body["figures"]))["checkpoints.people_checked"] >= 40


def test_the_zero_workbook_holds_the_json_answer(pipeline: Pipeline) -> None:
    p = pipeline
    as_of = datetime.now(UTC).isoformat()
    params = {
        "jurisdiction": TOWN,
        "date": DAY,
        "as_of": as_of,
        "status": "reported,zero_reported,late,missing",
        "limit": "5",
    }
    body = p.get("/v1/reports/zero", **params).json()
    rows = _sheet(p, "/v1/reports/zero", **params)
    h = _parameters(rows, body)
    assert rows[h + 1] == ["code", "name", "status", "submitted_at"]
    units = [dict(zip(rows[h + 1], r, strict=True)) for r in rows[h + 2 :]]
    assert units == body["units"] and len(units) == 5
