"""Schemathesis fuzzes ingest and the API against their own OpenAPI documents,
on the real stack, with a valid admin token: no answer may be a 5xx.

Every operation gets `RIBAO_FUZZ_EXAMPLES` (default 30) generated requests,
valid by the schema or not (some without the token). Schemathesis's pytest
plugin does not run under pytest 9, so hypothesis drives its strategies here."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.integration.harness import Pipeline

EXAMPLES = int(os.environ.get("RIBAO_FUZZ_EXAMPLES", "30"))


def operations(url: str) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]


def fuzz(op: Any, url: str, headers: dict[str, str], seen: Counter[int]) -> None:
    cases = st.one_of(op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        resp = case.call_and_validate(base_url=url, headers=headers, checks=[not_a_server_error], timeout=60)
        seen[resp.status_code] += 1

    run()


@pytest.mark.parametrize("service", ["api", "ingest"])
def test_no_generated_request_gets_a_5xx(pipeline: Pipeline, service: str) -> None:
    url = pipeline.api_url if service == "api" else pipeline.ingest_url
    ops = operations(url)
    assert len(ops) >= (6 if service == "api" else 3)
    answered = 0
    for op in ops:
        seen: Counter[int] = Counter()
        fuzz(op, url, pipeline.headers(), seen)
        print(f"{op.label}: {sum(seen.values())} requests, statuses {dict(sorted(seen.items()))}")
        assert seen and max(seen) < 500
        answered += seen[200] if op.label.startswith("GET /v1/") else 0
    if service == "api":  # the fuzz reached real queries, not only refusals
        assert answered > 0
