"""The metrics every HTTP service has, and `GET /metrics` (Prometheus text).

Counters and histograms are prometheus-client's. Under
`RIBAO_INGEST_WORKERS=N` the ingest parent sets `PROMETHEUS_MULTIPROC_DIR`
to a folder of the run before it starts the workers; each worker then writes
its values there and any worker's `/metrics` answers the sum over all of
them (the client's multiprocess mode), so the counts are the service's.
Labels name routes, statuses and credentials, never a person or a token.
"""

from __future__ import annotations

import os
import time

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess
from starlette.concurrency import run_in_threadpool

#: request latency buckets (s): a request is a few ms, a large batch or report seconds
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

HTTP_REQUESTS = Counter(
    "ribao_http_requests",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "ribao_http_request_duration_seconds",
    "Time from the request's arrival to the end of its answer, by route template",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
RATE_LIMITED = Counter(
    "ribao_rate_limited_requests",
    "Requests refused with 429 (over the credential's rate limit)",
    ["credential"],
)
CREDENTIALS_LOADED = Gauge(
    "ribao_credentials_cache_loaded_timestamp_seconds",
    "When the credentials cache was last read from ClickHouse (its age: time() minus this)",
    multiprocess_mode="livemax",
)
CREDENTIALS_RELOAD_FAILURES = Counter(
    "ribao_credentials_reload_failures", "Reads of the credentials that failed (the cached set was kept)"
)


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(route, method, str(status)).inc()
    HTTP_DURATION.labels(route).observe(seconds)


def rate_limited(credential: str) -> None:
    RATE_LIMITED.labels(credential).inc()


def credentials_loaded(ok: bool) -> None:
    if ok:
        CREDENTIALS_LOADED.set(time.time())
    else:
        CREDENTIALS_RELOAD_FAILURES.inc()


def multiprocess_dir() -> str | None:
    """The folder of the multiprocess mode, when this process is one of several."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition() -> bytes:
    """Every metric of this process, or of all the service's processes."""
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def install_metrics_route(app: FastAPI) -> None:
    """`GET /metrics`, without a token (like /healthz; the stack listens on loopback)."""

    async def metrics() -> Response:
        # off the event loop: a collector may wait on Kafka or ClickHouse
        return Response(await run_in_threadpool(exposition), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)
