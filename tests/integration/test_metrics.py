"""Metrics, request ids and logs on the real stack: each service's /metrics
scraped before and after known requests moves by exactly what was sent;
under RIBAO_INGEST_WORKERS=2 the counts and the rate limit are the
service's; Prometheus (Debian's, scraping this session's services) sees the
lag and the freshness rise while the aggregator is stopped and fall after it
is started again."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from services.children import free_port
from services.prometheus import Targets, command, render
from tests.integration.faults import villages_of
from tests.integration.harness import Pipeline, poll, wait_caught_up

COUNTY, OTHER = "360121", "360123"  # 南昌县, 安义县: no other test's
LAG_COUNTY = "360124"  # 进贤县
DAY = "2020-02-12"
TAG = uuid.uuid4().hex[:6]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    resp = httpx.get(url, timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(resp.text)
        for s in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


def has(samples: Samples, name: str, **labels: str) -> bool:
    want = set(labels.items())
    return any(n == name and want <= ls for (n, ls) in samples)


def screening(village: str, n: int = 0, category: str = "returnee") -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": "screening.registered",
        "jurisdiction": village,
        "occurred_at": f"{DAY}T{8 + n % 10:02d}:00:00+08:00",
        "person": {"id": f"M-{uuid.uuid4().hex}"},
        "data": {"category": category},
    }


def urls(p: Pipeline) -> dict[str, str]:
    return {
        "ingest": f"{p.ingest_url}/metrics",
        "aggregator": p.aggregator_metrics_url,
        "api": f"{p.api_url}/metrics",
    }


def test_each_service_counts_exactly_what_was_sent(pipeline: Pipeline) -> None:
    p = pipeline
    name = f"metrics-{COUNTY}-{TAG}"
    reporter = p.credential(name, "reporter", COUNTY)
    village, outside = villages_of(p, COUNTY)[0], villages_of(p, OTHER)[0]
    wait_caught_up(p)
    before = {svc: scrape(url) for svc, url in urls(p).items()}

    events = [screening(village, n) for n in range(3)]
    accepted = p.post([*events, events[0]], token=reporter)  # the last: a duplicate in the request
    assert accepted.status_code == 202, accepted.text
    assert (accepted.json()["accepted"], accepted.json()["duplicates"]) == (3, 1)
    invalid = p.post(
        [screening(village, category="bogus"), screening(village, category="bogus")], token=reporter
    )
    assert invalid.status_code == 422, invalid.text
    out_of_scope = p.post([screening(outside)], token=reporter)
    assert out_of_scope.status_code == 403, out_of_scope.text
    producer = KafkaProducer(bootstrap_servers=p.settings.kafka_bootstrap, acks="all")
    try:  # one record that is no event: a dead letter
        producer.send(p.settings.events_topic, key=COUNTY.encode(), value=b'{"not": "an event"}').get(30)
    finally:
        producer.close()
    wait_caught_up(p)
    report = p.get("/v1/reports/daily", jurisdiction=COUNTY, date=DAY)
    assert report.status_code == 200, report.text
    assert report.json()["figures"]["screened"]["new"] == 3

    # the aggregator counts a batch as it acknowledges it: wait for it, then compare exactly
    poll(
        lambda: total(scrape(p.aggregator_metrics_url), "ribao_aggregator_events_folded_total"),
        lambda n: n >= total(before["aggregator"], "ribao_aggregator_events_folded_total") + 4,
        what="the aggregator's count of folded events",
    )
    after = {svc: scrape(url) for svc, url in urls(p).items()}

    for svc in after:  # what moved (shown with pytest -rP)
        for key, value in sorted(after[svc].items(), key=lambda kv: (kv[0][0], sorted(kv[0][1]))):
            was = before[svc].get(key, 0.0)
            if key[0].startswith("ribao_") and not key[0].endswith("_created") and value != was:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(key[1]))
                print(f"{svc:10} {key[0]}{{{labels}}} {was:g} -> {value:g}")

    def moved(svc: str, metric: str, **labels: str) -> float:
        return total(after[svc], metric, **labels) - total(before[svc], metric, **labels)

    events_total = "ribao_ingest_events_total"
    assert moved("ingest", events_total, credential=name, outcome="accepted") == 3
    assert moved("ingest", events_total, credential=name, outcome="duplicate") == 1
    assert moved("ingest", events_total, credential=name, outcome="refused", reason="invalid_events") == 2
    assert moved("ingest", events_total, credential=name, outcome="refused", reason="out_of_scope") == 1
    assert moved("ingest", events_total, credential=name) == 7
    for status in ("202", "422", "403"):
        assert (
            moved("ingest", "ribao_http_requests_total", route="/v1/events", method="POST", status=status)
            == 1
        )
    assert moved("ingest", "ribao_ingest_produce_duration_seconds_count") == 1
    assert moved("ingest", "ribao_ingest_produce_failures_total") == 0
    # the four records ingest wrote (a duplicate too: the fold keeps one) and the poison one
    assert moved("aggregator", "ribao_aggregator_events_folded_total") == 4
    assert moved("aggregator", "ribao_aggregator_dead_letters_total") == 1
    assert moved("aggregator", "ribao_aggregator_batch_events_sum") == 5
    assert moved("api", "ribao_http_requests_total", route="/v1/reports/daily", status="200") == 1
    assert moved("api", "ribao_api_store_query_duration_seconds_count", kind="daily") >= 1
    assert total(after["api"], "ribao_consumer_lag") == 0
    assert total(after["api"], "ribao_broker_up") == total(after["api"], "ribao_store_up") == 1
    partition = accepted.json()["events"][0]["partition"]
    fresh = total(after["aggregator"], "ribao_aggregator_freshness_seconds", partition=str(partition))
    assert fresh > 0  # the events were folded: a recorded_at is known for their partition
    # the worker's own view of its lag, once it has read the partition's high-water mark
    poll(
        lambda: scrape(p.aggregator_metrics_url),
        lambda s: has(s, "ribao_aggregator_consumer_lag", partition=str(partition)),
        what="the aggregator's lag on the partition",
    )
    for svc in ("ingest", "api"):  # both read the credentials (the age is time() - this)
        assert total(after[svc], "ribao_credentials_cache_loaded_timestamp_seconds") > 0

    # request ids: in the header, in error bodies, in the log line (with the credential and count)
    for resp in (accepted, invalid, out_of_scope, report):
        assert len(resp.headers["X-Request-ID"]) == 32
    assert invalid.json()["error"]["request_id"] == invalid.headers["X-Request-ID"]
    assert accepted.headers["RateLimit-Limit"] == report.headers["RateLimit-Limit"] == "1000000"
    assert int(accepted.headers["RateLimit-Remaining"]) < 1000000
    lines = [
        orjson.loads(line)
        for line in (p.workdir / "ingest.log").read_bytes().splitlines()
        if line[:1] == b"{"
    ]
    (line,) = [x for x in lines if x.get("request_id") == accepted.headers["X-Request-ID"]]
    assert (line["credential"], line["route"], line["status"], line["events"]) == (name, "/v1/events", 202, 4)
    assert line["duration_ms"] > 0 and line["level"] == "INFO" and line["logger"] == "ribao.requests"
    (refused,) = [x for x in lines if x.get("request_id") == invalid.headers["X-Request-ID"]]
    assert (refused["status"], refused["error"], refused["events"]) == (422, "invalid_events", 2)
    batches = [
        orjson.loads(x) for x in (p.workdir / "aggregator.log").read_bytes().splitlines() if x[:1] == b"{"
    ]
    assert any(b.get("message") == "batch" and b["dead_letters"] == 1 for b in batches)


def test_two_ingest_workers_count_and_limit_as_one_service(pipeline: Pipeline, tmp_path: Path) -> None:
    v = pipeline.variant(tmp_path, RIBAO_INGEST_WORKERS="2", RIBAO_RATE_LIMIT="10/minute")
    name = f"metrics-workers-{TAG}"
    reporter = pipeline.credential(name, "reporter", COUNTY)
    village = villages_of(pipeline, COUNTY)[1]
    v.start("ingest", f"{v.ingest_url}/readyz")
    try:
        with ThreadPoolExecutor(8) as pool:  # side by side, so that both workers take some
            answers = list(pool.map(lambda n: v.post([screening(village, n)], token=reporter), range(16)))
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [202] * 10 + [429] * 6, [a.text for a in answers]
        # the window as read just after each hit (side by side, two may read the same)
        remaining = [int(a.headers["RateLimit-Remaining"]) for a in answers if a.status_code == 202]
        assert all(0 <= n <= 9 for n in remaining) and 0 in remaining, remaining
        for a in answers:
            assert a.headers["RateLimit-Limit"] == "10"
            if a.status_code == 429:
                assert a.json()["error"]["request_id"] == a.headers["X-Request-ID"]
                assert int(a.headers["Retry-After"]) >= 1
        # whichever worker answers the scrape, it answers for both
        for _ in range(6):
            with httpx.Client() as fresh:  # a new connection each time
                resp = fresh.get(f"{v.ingest_url}/metrics", timeout=30)
            samples = {
                (s.name, frozenset(s.labels.items())): s.value
                for family in text_string_to_metric_families(resp.text)
                for s in family.samples
            }
            assert total(samples, "ribao_ingest_events_total", credential=name, outcome="accepted") == 10
            assert total(samples, "ribao_rate_limited_requests_total", credential=name) == 6
            assert total(samples, "ribao_http_requests_total", route="/v1/events", status="202") == 10
            assert total(samples, "ribao_http_requests_total", route="/v1/events", status="429") == 6
    finally:
        v.stop_all()


@pytest.fixture()
def prometheus(pipeline: Pipeline, tmp_path: Path) -> Iterator[str]:
    """Debian's prometheus scraping this session's services every second (loopback)."""
    from tests.unit.test_prometheus_rules import promtool

    promtool()  # fails in CI, skips elsewhere, when prometheus is not installed
    config = tmp_path / "prometheus.yml"
    config.write_text(
        render(
            Targets(
                pipeline.ingest_url.removeprefix("http://"),
                pipeline.api_url.removeprefix("http://"),
                pipeline.aggregator_metrics_url.removeprefix("http://").removesuffix("/metrics"),
            ),
            interval="1s",
        ),
        "utf-8",
    )
    listen = f"127.0.0.1:{free_port()}"
    with open(tmp_path / "prometheus.log", "ab") as log:
        proc = subprocess.Popen(
            command(config, tmp_path / "data", listen), stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://{listen}"
    try:
        poll(lambda: _ready(url), bool, timeout=60, what="prometheus ready")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def promql(url: str, expr: str) -> float | None:
    """The single value of an instant query (None when it has no series)."""
    resp = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10)
    assert resp.status_code == 200, resp.text
    result = resp.json()["data"]["result"]
    assert len(result) <= 1, result
    return float(result[0]["value"][1]) if result else None


def test_prometheus_sees_lag_and_freshness_rise_while_the_aggregator_is_down(
    pipeline: Pipeline, prometheus: str
) -> None:
    p, url = pipeline, prometheus
    village = villages_of(p, LAG_COUNTY)[0]
    first = p.post([screening(village)])
    assert first.status_code == 202, first.text
    part = first.json()["events"][0]["partition"]
    lag, fresh = (
        f'sum(ribao_consumer_lag{{stage="fold", partition="{part}"}})',
        f'ribao:freshness_seconds{{partition="{part}"}}',
    )
    wait_caught_up(p)
    # Prometheus has scraped the aggregator's progress on that partition, and sees it caught up
    stamp = f'ribao_aggregator_last_folded_recorded_timestamp_seconds{{partition="{part}"}}'
    poll(
        lambda: promql(url, stamp), lambda t: t is not None, timeout=60, what="the last folded stamp scraped"
    )
    poll(lambda: promql(url, fresh), lambda f: f == 0, timeout=60, what="freshness 0 while caught up")
    assert promql(url, 'up{job="ribao-aggregator"}') == 1

    p.stop("aggregator")
    try:
        # five requests: five Kafka records (the lag counts records; one request's
        # events bound for one partition share a record)
        for n in range(5):
            late = p.post([screening(village, n)])
            assert late.status_code == 202, late.text
            assert {e["partition"] for e in late.json()["events"]} == {part}
        poll(lambda: promql(url, lag), lambda n: n is not None and n >= 5, timeout=60, what="lag of 5")
        up = 'up{job="ribao-aggregator"}'
        poll(lambda: promql(url, up), lambda n: n == 0, timeout=30, what="the aggregator's /metrics gone")
        risen = poll(
            lambda: promql(url, fresh), lambda f: f is not None and f > 0, timeout=60, what="freshness > 0"
        )
        assert risen is not None
        poll(
            lambda: promql(url, fresh),
            lambda f: f is not None and f > risen,
            timeout=60,
            what="freshness rising",
        )
    finally:
        if "aggregator" not in p.procs:
            p.start("aggregator")
    poll(lambda: promql(url, lag), lambda n: n == 0, timeout=180, what="lag back to 0 after the restart")
    poll(lambda: promql(url, fresh), lambda f: f == 0, timeout=60, what="freshness back to 0")
    poll(lambda: promql(url, up), lambda n: n == 1, timeout=30, what="the aggregator's /metrics back")
