"""The thinnest path through the real stack: POST events to ingest, Kafka, the
Faust aggregator, ClickHouse, and read them back as daily figures."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.integration.harness import Pipeline, poll

TOWN = "340826103"  # 许岭镇, 宿松县
V1, V2 = "340826103001", "340826103002"
DAY = "2020-01-28"


def screening(
    person: str, village: str, occurred: str, event_id: str | None = None, category: str = "returnee"
) -> dict[str, Any]:
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "type": "screening.registered",
        "jurisdiction": village,
        "occurred_at": occurred,
        "person": {"id": person},
        "data": {"category": category, "origin": "4201"},
    }


def screened(p: Pipeline, code: str, **params: Any) -> dict[str, int]:
    params.setdefault("date", DAY)
    resp = p.get("/v1/reports/daily", jurisdiction=code, **params)
    assert resp.status_code == 200, resp.text
    figures = resp.json()["figures"]["screened"]
    return {"new": figures["new"], "cumulative": figures["cumulative"]}


def test_posted_events_become_exact_daily_figures(pipeline: Pipeline) -> None:
    p = pipeline
    resent_id, conflict_id, twice_id = (str(uuid.uuid4()) for _ in range(3))
    first = [
        screening("A-110101199001010011", V1, "2020-01-28T10:00:00+08:00"),
        screening("A-110101199001010011", V2, "2020-01-28T11:00:00+08:00"),  # same person, 2nd village
        screening("B-110101199001010022", V1, "2020-01-27T09:00:00+08:00"),  # yesterday
        screening("B-110101199001010022", V1, "2020-01-28T09:00:00+08:00"),
        screening("C-110101199001010033", V2, "2020-01-28T12:00:00+08:00", event_id=resent_id),
        screening("D-110101199001010044", V2, "2020-01-28T13:00:00+08:00", event_id=conflict_id),
        screening("F-110101199001010055", V1, "2020-01-28T14:00:00+08:00", event_id=twice_id),
        screening("F-110101199001010055", V1, "2020-01-28T14:00:00+08:00", event_id=twice_id),
    ]
    resp = p.post(first)
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert body["accepted"] == 7 and body["duplicates"] == 1
    assert [e["status"] for e in body["events"]][-2:] == ["accepted", "duplicate"]
    assert all(e["partition"] >= 0 and e["offset"] >= 0 for e in body["events"])

    # a retry of C (same id, same content) and a conflicting version of D's event
    again = [
        screening("C-110101199001010033", V2, "2020-01-28T12:00:00+08:00", event_id=resent_id),
        screening("E-110101199001010066", V2, "2020-01-28T15:00:00+08:00", event_id=conflict_id),
    ]
    assert p.post(again).status_code == 202

    # NDJSON works too: one more person in the town, yesterday (cumulative only)
    late = screening("G-110101199001010077", V2, "2020-01-27T23:59:59+08:00")
    resp = p.post(orjson.dumps(late) + b"\n", content_type="application/x-ndjson")
    assert resp.status_code == 202, resp.text

    # town: new = A, C, D, F; cumulative adds B and G. E (conflicting resend) never counts.
    town = poll(
        lambda: screened(p, TOWN), lambda f: f == {"new": 4, "cumulative": 6}, what="town figures", timeout=60
    )
    assert town == {"new": 4, "cumulative": 6}
    assert screened(p, "340826") == town  # the county sees the same people
    assert screened(p, V1) == {"new": 2, "cumulative": 3}  # A, F new; B before
    assert screened(p, V2) == {"new": 3, "cumulative": 4}  # A (first here), C, D; G before
    # yesterday: B and G were new; before any of it was recorded, nothing
    assert screened(p, TOWN, date="2020-01-27") == {"new": 2, "cumulative": 2}
    assert screened(p, TOWN, as_of="2020-01-29T00:00:00+08:00") == {"new": 0, "cumulative": 0}

    conflicts = p.query(
        "SELECT event_id, conflict FROM event_duplicates WHERE event_id IN %(ids)s ORDER BY event_id",
        {"ids": (resent_id, conflict_id)},
    )
    assert sorted(conflicts) == sorted([(resent_id, 0), (conflict_id, 1)])


def test_one_invalid_event_rejects_the_whole_request(pipeline: Pipeline) -> None:
    p = pipeline
    good = screening("H-1", "340826103200", "2020-01-28T10:00:00+08:00")
    bad = screening("H-2", "340826103200", "2020-01-28T10:00:00")  # naive timestamp
    unknown = screening("H-3", "340826103999", "2020-01-28T10:00:00+08:00")  # not in the registry
    resp = p.post([good, bad, unknown])
    assert resp.status_code == 422
    details = resp.json()["error"]["details"]
    assert {(d["index"], d["event_id"], d["field"]) for d in details} == {
        (1, bad["event_id"], "occurred_at"),
        (2, unknown["event_id"], "jurisdiction"),
    }
    # nothing of it was accepted: a later event in the same village shows alone
    sentinel = screening("H-4", "340826103200", "2020-01-28T11:00:00+08:00")
    assert p.post(sentinel).status_code == 202
    poll(lambda: screened(p, "340826103200"), lambda f: f["cumulative"] >= 1, what="sentinel")
    assert screened(p, "340826103200") == {"new": 1, "cumulative": 1}
    stored = p.query("SELECT count() FROM events WHERE event_id = %(id)s", {"id": good["event_id"]})
    assert stored == [(0,)]


def test_raw_person_id_stays_in_ingest(pipeline: Pipeline) -> None:
    marker = "MARKER-" + uuid.uuid4().hex
    event = screening(marker, "340826103201", "2020-01-28T10:00:00+08:00")
    assert pipeline.post(event).status_code == 202
    rows = poll(
        lambda: pipeline.query(
            "SELECT record, subject FROM events WHERE event_id = %(id)s", {"id": event["event_id"]}
        ),
        lambda r: len(r) > 0,
        what="archived event",
    )
    record, subject = rows[0]
    assert marker not in record and marker not in subject
    assert len(subject) == 64  # HMAC-SHA256 hex


def test_jurisdiction_endpoint(pipeline: Pipeline) -> None:
    resp = pipeline.get(f"/v1/jurisdictions/{TOWN}")
    assert resp.status_code == 200
    body = resp.json()
    assert body["code"] == "340826103000" and body["name"] == "许岭镇" and body["level"] == "town"
    assert body["parent"] == "340826000000"
    assert {"code": V1, "name": "许岭社区居委会", "level": "village"} in body["children"]
    country = pipeline.get("/v1/jurisdictions/00").json()
    assert country["level"] == "country" and country["parent"] is None
    assert len(country["children"]) == 31
    assert pipeline.get("/v1/jurisdictions/340826103999").status_code == 404
    assert pipeline.get("/v1/jurisdictions/abc").json()["error"]["details"][0]["parameter"] == (
        "jurisdiction"
    )


def test_bad_report_parameters_name_the_parameter(pipeline: Pipeline) -> None:
    cases = {
        "cutoff": {"jurisdiction": TOWN, "cutoff": "18:30"},
        "date": {"jurisdiction": TOWN, "date": "2020-13-01"},
        "as_of": {"jurisdiction": TOWN, "as_of": "2020-01-28T10:00:00"},
        "jurisdiction": {"jurisdiction": "12345"},
    }
    for parameter, query in cases.items():
        resp = pipeline.get("/v1/reports/daily", **query)
        assert resp.status_code == 400, (parameter, resp.text)
        assert resp.json()["error"]["details"][0]["parameter"] == parameter
    assert pipeline.get("/v1/reports/daily", jurisdiction="110199").status_code == 404


def test_ingest_answers_503_when_the_broker_is_unreachable(pipeline: Pipeline, tmp_path: Path) -> None:
    """Nothing acknowledged without the broker: 503 with a JSON error, and not ready."""
    from services.children import free_port

    lonely = pipeline.variant(
        tmp_path, RIBAO_KAFKA_BOOTSTRAP=f"127.0.0.1:{free_port()}", RIBAO_PRODUCE_TIMEOUT_S="2"
    )
    lonely.start("ingest", f"{lonely.ingest_url}/healthz")
    try:
        resp = lonely.post(screening("Z-1", V1, "2020-01-28T10:00:00+08:00"))
        assert resp.status_code == 503, resp.text
        assert resp.json()["error"]["code"] == "broker_unavailable"
        assert resp.headers["retry-after"]
        assert httpx.get(f"{lonely.ingest_url}/readyz", timeout=30).status_code == 503
    finally:
        lonely.stop("ingest")


def test_services_report_ready(pipeline: Pipeline) -> None:
    assert httpx.get(f"{pipeline.ingest_url}/readyz", timeout=10).json() == {
        "status": "ready",
        "broker": "ok",
        "credentials": "ok",
    }
    ready = httpx.get(f"{pipeline.api_url}/readyz", timeout=10).json()
    assert ready == {"status": "ready", "store": "ok", "broker": "ok"}
