"""The API's real answers against its own OpenAPI document, on the real stack:
every status an operation returns is documented for it, with the content type
and the schema it documents (schemathesis' response conformance checks), and
every status the document lists for an operation is seen in this test.

Generated requests (valid by the document or not, as in test_fuzz.py, which
shows why hypothesis drives schemathesis' strategies here) and written ones
reach each status: 401 without a token, 403 outside a viewer's scope or role,
404 for a code not in the registry, 429 from an API with a small rate limit,
503 from an API whose store is unreachable."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.children import free_port
from tests.integration.harness import Pipeline, poll

EXAMPLES = int(os.environ.get("RIBAO_CONFORMANCE_EXAMPLES", "15"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
DAY = "2020-01-28"
DAILY, ZERO, REPLAY = "GET /v1/reports/daily", "GET /v1/reports/zero", "GET /v1/audit/replay"
DEAD, JURISDICTION = "GET /v1/audit/dead-letters", "GET /v1/jurisdictions/{code}"
HEALTH, READY = "GET /healthz", "GET /readyz"
SERIES, SEARCH = "GET /v1/reports/series", "GET /v1/jurisdictions"
#: a well-formed request per operation (reports on a county with data of other tests)
GOOD: dict[str, dict[str, Any]] = {
    DAILY: {"query": {"jurisdiction": "341823", "date": DAY}},
    ZERO: {"query": {"jurisdiction": "341824100", "date": DAY}},
    REPLAY: {"query": {"jurisdiction": "341825100002", "date": DAY}},
    DEAD: {},
    JURISDICTION: {"path_parameters": {"code": "341823"}},
    SERIES: {"query": {"jurisdiction": "341823", "from": "2020-01-27", "to": DAY}},
    SEARCH: {"query": {"q": "许岭"}},
    HEALTH: {},
    READY: {},
}
Seen = dict[str, set[int]]


def operations(url: str) -> dict[str, Any]:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    ops = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    return {op.label: op for op in ops}


def documented(op: Any) -> set[int]:
    return {int(status) for status in op.definition.raw["responses"]}


def call(op: Any, url: str, headers: dict[str, str], seen: Seen, checks: Any = CHECKS, **case: Any) -> int:
    """One written request, its answer checked against the document."""
    c = op.Case(**case)
    resp = c.call(base_url=url, headers=headers, timeout=60)
    c.validate_response(resp, checks=checks)
    seen[op.label].add(resp.status_code)
    return int(resp.status_code)


def generated(op: Any, url: str, headers: dict[str, str], seen: Seen) -> None:
    cases = st.one_of(op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        resp = case.call_and_validate(base_url=url, headers=headers, checks=CHECKS, timeout=60)
        seen[op.label].add(resp.status_code)

    run()


def written(ops: dict[str, Any], p: Pipeline, seen: Seen) -> None:
    admin, url = p.headers(), p.api_url
    viewer = p.headers(p.credential("conformance-viewer", "viewer", "341823"))
    for label, good in GOOD.items():
        assert call(ops[label], url, admin, seen, **good) == 200, label
    for label in (DAILY, ZERO, REPLAY, DEAD, JURISDICTION, SERIES, SEARCH):
        assert call(ops[label], url, {}, seen, **GOOD[label]) == 401, label
    for label in (DAILY, ZERO, REPLAY, SERIES):
        q = GOOD[label]["query"]
        assert call(ops[label], url, viewer, seen, query=q | {"jurisdiction": "341824"}) == 403, label
        assert call(ops[label], url, admin, seen, query=q | {"jurisdiction": "340899"}) == 404, label
        assert call(ops[label], url, admin, seen, query=q | {"format": "pdf"}) == 400, label
        assert call(ops[label], url, admin, seen, query={"date": DAY}) == 400, label
    assert call(ops[SEARCH], url, admin, seen, query={"q": "许岭", "limit": "0"}) == 400
    assert call(ops[DEAD], url, viewer, seen) == 403
    assert call(ops[DEAD], url, admin, seen, query={"limit": "0"}) == 400
    assert call(ops[JURISDICTION], url, admin, seen, path_parameters={"code": "340899"}) == 404
    assert call(ops[JURISDICTION], url, admin, seen, path_parameters={"code": "3408231"}) == 400
    # every other answer: the other formats, and the children's rows
    daily = GOOD[DAILY]["query"]
    for fmt in ("csv", "text", "xlsx"):
        assert call(ops[DAILY], url, admin, seen, query=daily | {"format": fmt}) == 200, fmt
    assert call(ops[DAILY], url, admin, seen, query=daily | {"children": "true"}) == 200
    for fmt in ("csv", "xlsx"):
        assert call(ops[ZERO], url, admin, seen, query=GOOD[ZERO]["query"] | {"format": fmt}) == 200, fmt
    assert call(ops[SERIES], url, admin, seen, query=GOOD[SERIES]["query"] | {"format": "csv"}) == 200
    assert call(ops[REPLAY], url, admin, seen, query=GOOD[REPLAY]["query"] | {"format": "ndjson"}) == 200


def test_every_answer_is_the_documented_one(pipeline: Pipeline, tmp_path: Path) -> None:
    p = pipeline
    ops = operations(p.api_url)
    assert set(GOOD) == set(ops), "an operation without a written request here"
    text = httpx.get(f"{p.api_url}/openapi.json", timeout=30).text
    assert "422" not in text and "HTTPValidationError" not in text
    seen: Seen = defaultdict(set)
    written(ops, p, seen)
    for op in ops.values():
        generated(op, p.api_url, p.headers(), seen)

    # 429: an API with a small rate limit, over the same store
    (tmp_path / "limited").mkdir()
    limited = p.variant(tmp_path / "limited", RIBAO_RATE_LIMIT="2/minute")
    limited.start("api", f"{limited.api_url}/readyz")
    try:
        for n, label in enumerate((DAILY, ZERO, REPLAY, DEAD, JURISDICTION, SERIES, SEARCH)):
            token = p.credential(f"conformance-limited-{n}", "admin", "all")
            statuses = [
                call(ops[label], limited.api_url, p.headers(token), seen, **GOOD[label]) for _ in range(3)
            ]
            assert statuses[-1] == 429, (label, statuses)
    finally:
        limited.stop("api")

    # 503: an API whose store does not answer
    (tmp_path / "dead").mkdir()
    dead = p.variant(tmp_path / "dead", RIBAO_CLICKHOUSE_PORT=str(free_port()))
    dead.start("api")
    try:
        poll(lambda: _health(dead.api_url), lambda s: s == 200, timeout=60, what="API up without a store")
        conformance = CHECKS[1:]  # a 5xx here is the point
        # (the search waits for its index, then answers 503)
        for label in (DAILY, ZERO, REPLAY, DEAD, JURISDICTION, SERIES, SEARCH, READY):
            assert call(ops[label], dead.api_url, p.headers(), seen, conformance, **GOOD[label]) == 503, label
    finally:
        dead.stop("api")

    for label, op in ops.items():
        print(f"{label}: documented {sorted(documented(op))}, seen {sorted(seen[label])}")
        assert seen[label] <= documented(op), label  # status_code_conformance already says so
        assert documented(op) <= seen[label], f"{label}: a documented status never seen"


def _health(url: str) -> int:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code
    except httpx.HTTPError:
        return 0
