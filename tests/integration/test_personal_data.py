"""The raw person identifier never leaves ingest: not on the topic, not in any
table, not in a log line, an error message or a metric; nor does the HMAC key,
nor a bearer token (the JSON request log names the credential only)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from services.ingest.pseudonym import pseudonymise
from services.stack import home
from tests.integration.harness import Pipeline, poll, wait_caught_up

MARKER = f"PII-MARKER-{uuid.uuid4().hex}"
KEY = f"hmac-key-marker-{uuid.uuid4().hex}"
V_IN, V_OUT = "360103001002", "360104002002"


def person_event(kind: str, village: str, data: dict[str, Any], person: Any = None) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": kind,
        "jurisdiction": village,
        "occurred_at": "2020-02-04T10:00:00+08:00",
        "person": {"id": MARKER} if person is None else person,
        "data": data,
    }


@pytest.fixture(scope="module")
def keyed(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """An ingest outside dev mode, with its own secret key."""
    s = pipeline.variant(tmp_path_factory.mktemp("keyed"), RIBAO_DEV_MODE="0", RIBAO_HMAC_KEY=KEY)
    s.start("ingest", f"{s.ingest_url}/readyz")
    try:
        yield s
    finally:
        s.stop_all()


def files_under(*roots: Path) -> Iterator[Path]:
    for root in roots:
        if root.is_file():
            yield root
        elif root.is_dir():
            yield from (p for p in root.rglob("*") if p.is_file())


def test_the_raw_identifier_and_the_key_are_nowhere_but_ingest(pipeline: Pipeline, keyed: Pipeline) -> None:
    reporter_name = f"pii-{uuid.uuid4().hex[:6]}"
    reporter = pipeline.credential(reporter_name, "reporter", "360103")
    screening = person_event("screening.registered", V_IN, {"category": "returnee"})
    isolation = person_event("isolation.started", V_IN, {"mode": "home"})
    accepted = keyed.post([screening, isolation], token=reporter)
    assert accepted.status_code == 202, accepted.text
    refused = [
        keyed.post(person_event("screening.registered", V_IN, {"category": "bogus"}), token=reporter),
        keyed.post(person_event("screening.registered", V_IN, {}, person={"id": MARKER * 4}), token=reporter),
        keyed.post(
            person_event("screening.registered", V_IN, {}, person={"id": MARKER, "name": MARKER}),
            token=reporter,
        ),
        keyed.post(person_event("screening.registered", V_OUT, {"category": "other"}), token=reporter),
        keyed.post(
            orjson.dumps(screening) + b"\n" + MARKER.encode() + b"\n",
            content_type="application/x-ndjson",
            token=reporter,
        ),
        keyed.post(person_event("no.such.type", V_IN, {}), token=reporter),
    ]
    assert [r.status_code for r in refused] == [422, 422, 422, 403, 422, 422]
    for resp in [accepted, *refused]:
        assert MARKER not in resp.text and KEY not in resp.text

    # the metrics of every service: labels name credentials, never a person
    for url in (
        f"{keyed.ingest_url}/metrics",
        f"{pipeline.api_url}/metrics",
        pipeline.aggregator_metrics_url,
    ):
        exposed = httpx.get(url, timeout=30).text
        assert MARKER not in exposed and KEY not in exposed and reporter not in exposed, url

    wait_caught_up(pipeline)
    pseudonym = pseudonymise(KEY.encode(), MARKER)
    facts = poll(
        lambda: pipeline.query("SELECT count() FROM facts WHERE subject = %(s)s", {"s": pseudonym})[0][0],
        lambda n: n >= 2,
        what="the pseudonymised person's facts",
    )
    assert facts >= 2  # the events did arrive, under the keyed pseudonym

    # every table of the database
    db = pipeline.settings.clickhouse_database
    tables = [
        r[0] for r in pipeline.query("SELECT name FROM system.tables WHERE database = %(d)s", {"d": db})
    ]
    assert {"events", "facts", "credentials"} <= set(tables)
    for table in tables:
        for row in pipeline.query(f"SELECT * FROM {db}.{table}"):
            text = repr(row)
            assert MARKER not in text and KEY not in text, f"found in table {table}"

    # the topic's segment files, the services' logs, ClickHouse's and Kafka's logs
    topic = pipeline.settings.events_topic
    stack = home()
    roots = [
        *sorted((stack / "kafka" / "data").glob(f"{topic}-*")),
        stack / "kafka" / "log",
        stack / "clickhouse" / "log",
        pipeline.workdir,
        keyed.workdir,
    ]
    searched = 0
    for path in files_under(*roots):
        data = path.read_bytes()
        searched += len(data)
        assert MARKER.encode() not in data, f"raw identifier found in {path}"
        assert KEY.encode() not in data, f"HMAC key found in {path}"
        assert reporter.encode() not in data, f"a bearer token found in {path}"
    # the request log was searched: one JSON line per request, naming the credential
    lines = [
        orjson.loads(x) for x in (keyed.workdir / "ingest.log").read_bytes().splitlines() if x[:1] == b"{"
    ]
    logged = [x for x in lines if x.get("message") == "request" and x.get("route") == "/v1/events"]
    assert len(logged) == 1 + len(refused)
    assert {x["credential"] for x in logged} == {reporter_name}
    segments = [p for p in files_under(*roots[:-4]) if p.suffix == ".log"]
    assert segments and sum(p.stat().st_size for p in segments) > 0  # the topic was searched
    assert pseudonym.encode() in b"".join(p.read_bytes() for p in segments)
    assert searched > 0
