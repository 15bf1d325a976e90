"""Ingest's OpenAPI document describes what ingest really answers: every
status it returns, each with its documented body (the 202 model, the error
model). Its real answers, to generated requests and to one request per
status, are checked with schemathesis' response conformance checks
(status code, content type, body schema). Schemathesis's pytest plugin does
not run under pytest 9, so hypothesis drives its strategies here (as in
test_fuzz.py)."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from services.children import free_port
from services.common.credentials import CredentialStore
from tests.integration.harness import Pipeline

EXAMPLES = int(os.environ.get("RIBAO_FUZZ_EXAMPLES", "30"))
CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]
#: every status POST /v1/events answers with
STATUSES = {"202", "400", "401", "403", "413", "415", "422", "429", "503"}
VILLAGE = "620102001003"  # 兰州; see test_ingest_answers.py


def screening(where: str = VILLAGE) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": "screening.registered",
        "jurisdiction": where,
        "occurred_at": "2020-01-28T10:00:00+08:00",
        "person": {"id": "O-1"},
        "data": {"category": "returnee"},
    }


def post_op(url: str) -> Any:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    return schema["/v1/events"]["POST"]


def test_the_document_lists_every_status_with_its_model(pipeline: Pipeline) -> None:
    doc = httpx.get(f"{pipeline.ingest_url}/openapi.json", timeout=30).json()
    responses = doc["paths"]["/v1/events"]["post"]["responses"]
    assert set(responses) == STATUSES
    for status, answer in responses.items():
        ref = answer["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/Accepted" if status == "202" else "/ErrorBody"), (status, ref)
        assert answer["description"] and answer["description"] != "Successful Response"
    status_doc = doc["components"]["schemas"]["EventAnswer"]["properties"]["status"]
    assert status_doc["enum"] == ["accepted", "duplicate", "conflict"]
    assert "retraction" in status_doc["description"]  # how to correct an event
    assert set(doc["paths"]["/readyz"]["get"]["responses"]) == {"200", "503"}


def fuzz(op: Any, url: str, headers: dict[str, str], seen: Counter[int]) -> None:
    cases = st.one_of(op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        resp = case.call_and_validate(
            base_url=url, headers=headers, checks=[not_a_server_error, *CONFORMANCE], timeout=60
        )
        seen[resp.status_code] += 1

    run()


def test_generated_requests_get_documented_answers(pipeline: Pipeline) -> None:
    """With the admin token, a viewer's token and none: every answer conforms."""
    p = pipeline
    schema = schemathesis.openapi.from_url(f"{p.ingest_url}/openapi.json")
    ops = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert {op.label for op in ops} == {"POST /v1/events", "GET /healthz", "GET /readyz"}
    viewer = p.credential(f"openapi-viewer-{uuid.uuid4().hex[:6]}", "viewer", "all")
    seen: Counter[int] = Counter()
    for op in ops:
        for headers in (p.headers(), p.headers(viewer), {}):
            fuzz(op, p.ingest_url, headers, seen)
    print(f"statuses {dict(sorted(seen.items()))}")
    assert {200, 401, 403} <= set(seen)


@pytest.fixture(scope="module")
def stalled(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """An ingest whose Kafka is unreachable (503), with a low rate limit (429)."""
    s = pipeline.variant(
        tmp_path_factory.mktemp("stalled"),
        RIBAO_KAFKA_BOOTSTRAP=f"127.0.0.1:{free_port()}",
        RIBAO_PRODUCE_TIMEOUT_S="1",
        RIBAO_RATE_LIMIT="3/minute",
    )
    s.start("ingest", f"{s.ingest_url}/healthz")
    try:
        yield s
    finally:
        s.stop_all()


def test_one_real_answer_per_status_conforms(pipeline: Pipeline, stalled: Pipeline) -> None:
    p = pipeline
    op = post_op(p.ingest_url)
    viewer = p.credential(f"openapi-view-{uuid.uuid4().hex[:6]}", "viewer", "all")
    town = p.credential(f"openapi-town-{uuid.uuid4().hex[:6]}", "reporter", "620102001")
    _cred, expired = CredentialStore(p.settings).create(
        f"openapi-old-{uuid.uuid4().hex[:6]}", "reporter", "all", expires_us=1_000_000
    )
    ndjson = "application/x-ndjson"
    requests: list[tuple[int, Any, str, str | None, Pipeline]] = [
        (202, screening(), "application/json", None, p),
        (400, b"{not json", "application/json", None, p),
        (401, screening(), "application/json", "", p),
        (401, screening(), "application/json", expired, p),
        (403, screening(), "application/json", viewer, p),
        (403, screening("620102002001"), "application/json", town, p),
        (413, b"[" + b"{}," * 20_000 + b"{}]", "application/json", None, p),
        (415, b"{}", "text/plain", None, p),
        (422, screening("620102001999"), "application/json", None, p),
        (422, b'{"a": 1}\n{', ndjson, None, p),
        (503, screening(), "application/json", None, stalled),
    ]
    # the stalled ingest's rate limit (3 a minute) is spent by its 503 and two more
    requests += [(503, screening(), "application/json", None, stalled)] * 2
    requests.append((429, screening(), "application/json", None, stalled))
    got = []
    for status, body, content_type, token, target in requests:
        resp = target.post(body, content_type=content_type, token=token)
        assert resp.status_code == status, (status, resp.text[:300])
        case = op.Case(body=body if isinstance(body, dict) else None, media_type="application/json")
        case.validate_response(resp, checks=CONFORMANCE)
        got.append(str(status))
    assert set(got) == STATUSES
    ready = httpx.get(f"{stalled.ingest_url}/readyz", timeout=30)
    assert ready.status_code == 503
    schema = schemathesis.openapi.from_url(f"{stalled.ingest_url}/openapi.json")
    schema["/readyz"]["GET"].Case().validate_response(ready, checks=CONFORMANCE)
