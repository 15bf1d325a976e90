"""The request observer: request ids, error bodies, RateLimit headers, the
log line and the HTTP counters, on a small app of its own."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from services.common import logs
from services.common.http import install_error_handlers
from services.common.request_context import RateLimitState, RequestObserver, current


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/things/{code}")
    def thing(code: str) -> dict[str, str]:
        info = current()
        assert info is not None
        info.credential, info.events = "county-x", 3
        info.rate = RateLimitState(100, 41, 17)
        return {"code": code}

    @app.get("/boom")
    def boom() -> None:
        raise ValueError("unexpected")

    app.add_middleware(RequestObserver)
    return app


def _count(route: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "ribao_http_requests_total", {"route": route, "method": "GET", "status": status}
    )
    return value or 0.0


def test_an_answer_carries_its_request_id_and_rate_limit_headers(caplog: pytest.LogCaptureFixture) -> None:
    client = TestClient(_app())
    before = _count("/things/{code}", "200")
    with caplog.at_level(logging.INFO, logger="ribao.requests"):
        resp = client.get("/things/42", headers={"X-Request-ID": "upstream-7.a"})
    assert resp.status_code == 200
    assert resp.headers["X-Request-ID"] == "upstream-7.a"
    assert (resp.headers["RateLimit-Limit"], resp.headers["RateLimit-Remaining"]) == ("100", "41")
    assert resp.headers["RateLimit-Reset"] == "17"
    assert _count("/things/{code}", "200") == before + 1  # by template, not by path
    (line,) = [r for r in caplog.records if r.name == "ribao.requests"]
    out = json.loads(logs.formatter("json").format(line))
    assert {k: out[k] for k in ("request_id", "credential", "route", "status", "events")} == {
        "request_id": "upstream-7.a",
        "credential": "county-x",
        "route": "/things/{code}",
        "status": 200,
        "events": 3,
    }
    assert out["message"] == "request" and out["duration_ms"] >= 0


def test_errors_name_the_request_id_of_their_answer() -> None:
    client = TestClient(_app(), raise_server_exceptions=False)
    for path, status, code in (("/nowhere", 404, "not_found"), ("/boom", 500, "internal_error")):
        resp = client.get(path, headers={"X-Request-ID": "bad id with spaces"})
        assert resp.status_code == status
        body = resp.json()["error"]
        assert body["code"] == code
        rid = resp.headers["X-Request-ID"]
        assert rid != "bad id with spaces" and len(rid) == 32  # an unsafe id is replaced
        assert body["request_id"] == rid
    assert _count("unmatched", "404") >= 1


def test_text_logs_for_a_terminal_keep_the_fields() -> None:
    record = logging.LogRecord("ribao.requests", logging.INFO, __file__, 1, "request", None, None)
    record.__dict__.update({"route": "/v1/events", "status": 202})
    line = logs.formatter("text").format(record)
    assert line.endswith("INFO ribao.requests: request route=/v1/events status=202")
