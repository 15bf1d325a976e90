"""Ingest's own metrics: events by outcome and credential, Kafka produce
latency and failures (the HTTP ones are in services.common.metrics).

`outcome` is accepted, duplicate (the same event_id earlier in the request)
or refused; a refused event's `reason` is the error code of its answer
(invalid_events, out_of_scope, broker_unavailable, ...). A request refused
before its body was decoded (too large, not JSON) counts as one event.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from services.common.request_context import RequestInfo, current

EVENTS = Counter(
    "ribao_ingest_events",
    "Events received, by credential name, outcome (accepted, duplicate, refused) and refusal reason",
    ["credential", "outcome", "reason"],
)
PRODUCE_DURATION = Histogram(
    "ribao_ingest_produce_duration_seconds",
    "Time from handing a request's events to the producer to Kafka's acknowledgement of all of them",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 30),
)
PRODUCE_FAILURES = Counter(
    "ribao_ingest_produce_failures", "Produce calls that Kafka did not acknowledge, by error", ["error"]
)
#: the events route
ROUTE = "/v1/events"


def decoded(count: int) -> None:
    """The request's body held `count` events (for the log line and the refusals)."""
    info = current()
    if info is not None:
        info.events = count


def answered(credential: str, counts: dict[str, int]) -> None:
    """The events of a 202, by the status each was answered (accepted, duplicate, conflict)."""
    for outcome, n in counts.items():
        EVENTS.labels(credential, outcome, "").inc(n)


def produced(seconds: float) -> None:
    PRODUCE_DURATION.observe(seconds)


def produce_failed(error: str) -> None:
    PRODUCE_FAILURES.labels(error).inc()


def on_request_done(info: RequestInfo, status: int) -> None:
    """Counts the events of a refused POST /v1/events of a known credential
    (the request observer's hook; unauthenticated requests have no source)."""
    if info.route != ROUTE or status < 400 or info.credential is None or info.error is None:
        return
    if info.error == "rate_limited":  # counted by ribao_rate_limited_requests_total
        return
    EVENTS.labels(info.credential, "refused", info.error).inc(max(1, info.events or 0))
