"""Hostile input on every endpoint: each gets a 4xx JSON error naming the
problem, the services stay up, and nothing is half-accepted."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from tests.integration.harness import Pipeline, topic_size

V = "360103001004"
LIMIT_BYTES, LIMIT_EVENTS = 64 * 1024, 50


def event(**over: Any) -> dict[str, Any]:
    base = {
        "event_id": str(uuid.uuid4()),
        "type": "screening.registered",
        "jurisdiction": V,
        "occurred_at": "2020-02-05T10:00:00+08:00",
        "person": {"id": "H-1"},
        "data": {"category": "returnee"},
    }
    return base | over


@pytest.fixture(scope="module")
def small(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """An ingest with small limits (64 KiB bodies, 50 events a request)."""
    s = pipeline.variant(
        tmp_path_factory.mktemp("small"),
        RIBAO_MAX_BODY_BYTES=str(LIMIT_BYTES),
        RIBAO_MAX_EVENTS_PER_REQUEST=str(LIMIT_EVENTS),
    )
    s.start("ingest", f"{s.ingest_url}/readyz")
    try:
        yield s
    finally:
        s.stop_all()


def raw_post(p: Pipeline, body: Any, content_type: str | None = "application/json") -> httpx.Response:
    headers = p.headers() | ({"content-type": content_type} if content_type else {})
    return httpx.post(f"{p.ingest_url}/v1/events", content=body, headers=headers, timeout=60)


def error(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()["error"]
    assert body["code"] == code and body["message"], body
    return body


def test_hostile_bodies_get_a_4xx_naming_the_problem_and_nothing_is_accepted(small: Pipeline) -> None:
    s = small
    before = topic_size(s.settings)
    good = orjson.dumps(event())
    # size: declared, and streamed without a length (chunked)
    huge = orjson.dumps([event(data={"category": "returnee"})] * 10) + b" " * LIMIT_BYTES
    assert "limit" in error(raw_post(s, huge), 413, "too_large")["message"]
    chunks = iter([b"[", *([good + b","] * 400), good, b"]"])
    assert "limit" in error(raw_post(s, chunks), 413, "too_large")["message"]
    # too many events in one request
    many = orjson.dumps([event() for _ in range(LIMIT_EVENTS + 1)])
    assert f"limit is {LIMIT_EVENTS}" in error(raw_post(s, many), 413, "too_large")["message"]
    # deep nesting: the whole body, and inside an event
    error(raw_post(s, b"[" * 5000 + b"]" * 5000), 400, "bad_body")
    nested: Any = "returnee"
    for _ in range(200):
        nested = {"x": nested}
    body = error(raw_post(s, orjson.dumps(event(data={"category": nested}))), 422, "invalid_events")
    assert body["details"][0]["field"] == "data.category"
    # invalid UTF-8, as JSON and as an NDJSON line
    error(raw_post(s, b'{"event_id": "\xff\xfe"}'), 400, "bad_body")
    body = error(raw_post(s, good + b"\n\xff\xfe\n", "application/x-ndjson"), 422, "invalid_events")
    assert [(d["index"], d["field"]) for d in body["details"]] == [(1, "(line)")]
    # huge strings are refused by name and never echoed back
    long_id = "9" * 20_000
    resp = raw_post(s, orjson.dumps(event(person={"id": long_id}, event_id=long_id)))
    body = error(resp, 422, "invalid_events")
    assert {"event_id", "person.id"} <= {d["field"] for d in body["details"]}
    assert long_id not in resp.text and len(resp.content) < 2000
    # wrong or missing content type
    for ctype in ("text/plain", "application/xml", "multipart/form-data; boundary=x", None):
        error(raw_post(s, good, ctype), 415, "unsupported_media_type")
    # JSON that is not an event
    for value, field in ((b'"text"', "(event)"), (b"123", "(event)"), (b"null", "(event)"), (b"{}", "type")):
        body = error(raw_post(s, value), 422, "invalid_events")
        assert body["details"][0]["field"] == field
    error(raw_post(s, b"[]"), 400, "bad_body")
    error(raw_post(s, b""), 400, "bad_body")
    # malformed dates, codes, types and injection attempts in fields
    bad = [
        (event(occurred_at="2020-02-30T10:00:00+08:00"), "occurred_at"),
        (event(occurred_at="2020-02-05T10:00:00"), "occurred_at"),
        (event(occurred_at="0001-01-01T00:00:00+14:00"), "occurred_at"),
        (event(jurisdiction="36010300100"), "jurisdiction"),
        (event(jurisdiction="360103001004' OR '1'='1"), "jurisdiction"),
        (event(jurisdiction="990000000000"), "jurisdiction"),
        (event(type="report.zero", data={"report_date": "2020-13-01"}, person=None), "data.report_date"),
        (event(data={"category": "returnee", "origin": "42'; DROP TABLE events; --"}), "data.origin"),
        (event(event_id="not-a-uuid"), "event_id"),
    ]
    for wrong, field in bad:
        if wrong.get("person") is None:
            wrong.pop("person", None)
        body = error(raw_post(s, orjson.dumps(wrong)), 422, "invalid_events")
        assert field in {d["field"] for d in body["details"]}, (field, body)
    # one bad event refuses the whole request
    error(raw_post(s, orjson.dumps([event(), bad[0][0]])), 422, "invalid_events")

    assert topic_size(s.settings) == before, "something was half-accepted"
    assert httpx.get(f"{s.ingest_url}/healthz").status_code == 200
    assert raw_post(s, good).status_code == 202  # and it still works


INJECTIONS = [
    "' OR 1=1 --",
    "360103; DROP TABLE events",
    "360103\x00",
    "３４",
    "9" * 5000,
    "%27",
    "-1",
    "1e3",
]
REPORT_PARAMS = {
    "/v1/reports/daily": ["jurisdiction", "date", "cutoff", "as_of", "grace_hours", "format"],
    "/v1/reports/zero": [
        "jurisdiction",
        "date",
        "cutoff",
        "as_of",
        "grace_hours",
        "unit_level",
        "status",
        "limit",
        "offset",
    ],
    "/v1/audit/replay": [
        "jurisdiction",
        "date",
        "cutoff",
        "as_of",
        "grace_hours",
        "limit",
        "offset",
        "format",
    ],
}


def test_every_query_parameter_refuses_injection_and_malformed_values(pipeline: Pipeline) -> None:
    p = pipeline
    tables = "SELECT name FROM system.tables WHERE database = %(d)s ORDER BY name"
    db = {"d": p.settings.clickhouse_database}
    tables_before = p.query(tables, db)
    events_before = p.query("SELECT count() FROM events")[0][0]
    for path, names in REPORT_PARAMS.items():
        for name in names:
            for value in INJECTIONS:
                params = {"jurisdiction": "360103", "date": "2020-02-05"} | {name: value}
                resp = p.get(path, **params)
                assert resp.status_code == 400, (path, name, value, resp.text[:300])
                body = error(resp, 400, "bad_parameter")
                assert body["details"][0]["parameter"] == name, (path, name, value, body)
    malformed = {
        "date": ["2020-02-30", "2020-1-1", "20200101", "0001-01-01", "9999-12-31", "2020-W01-1"],
        "as_of": [
            "yesterday",
            "2020-02-05T10:00:00",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-14:00",
        ],
        "cutoff": ["25:00", "12:30", "-1:00", "noon"],
        "grace_hours": ["nan", "inf", "-1", "169"],
        "jurisdiction": ["36010", "3601030010041", "0012", ""],
    }
    for name, values in malformed.items():
        for value in values:
            resp = p.get("/v1/reports/daily", **({"jurisdiction": "360103"} | {name: value}))
            body = error(resp, 400, "bad_parameter")
            assert body["details"][0]["parameter"] == name, (name, value, body)
    for code in ("' OR '1'='1", "36010", "1" * 300):
        error(p.get(f"/v1/jurisdictions/{code}"), 400, "bad_parameter")
    error(p.get("/v1/jurisdictions/990000000000"), 404, "unknown_jurisdiction")
    error(p.get("/v1/reports/daily", jurisdiction="990000"), 404, "unknown_jurisdiction")
    assert p.query(tables, db) == tables_before  # nothing dropped
    assert p.query("SELECT count() FROM events")[0][0] >= events_before  # nothing deleted
    assert httpx.get(f"{p.api_url}/healthz").status_code == 200
