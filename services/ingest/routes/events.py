"""POST /v1/events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import ORJSONResponse
from starlette.concurrency import run_in_threadpool

from schemas.records import json_micros
from services.common.access import require
from services.common.credentials import Credential
from services.ingest import metrics
from services.ingest.body import decode
from services.ingest.errors import EventIssues, TooLarge
from services.ingest.models import EVENTS_RESPONSES, STATUS_DESCRIPTION, Accepted
from services.ingest.state import IngestState

router = APIRouter()


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"body of {declared} bytes is over the {limit}-byte limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"body is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/v1/events",
    status_code=202,
    response_model=Accepted,
    responses=EVENTS_RESPONSES,
    description=f"Each event is answered with a status. {STATUS_DESCRIPTION}",
)
async def post_events(request: Request, cred: Credential = Depends(require("reporter"))) -> ORJSONResponse:
    """Accepts one event, a JSON array of events, or NDJSON, from a reporter (or
    admin) credential. The whole request is validated first, then checked
    against the credential's scope; 202 only once Kafka acknowledged every event."""
    state: IngestState = request.app.state.ingest
    settings = state.settings
    body = await _read_body(request, settings.max_body_bytes)
    decoded = decode(body, request.headers.get("content-type", ""), settings.max_events_per_request)
    metrics.decoded(len(decoded.values))
    try:
        done = await run_in_threadpool(
            state.acceptor.prepare, decoded.values, decoded.issues, cred, state.archive.first_versions
        )
    except EventIssues as exc:
        exc.lines = decoded.lines
        raise
    prepared = done.events
    positions = await run_in_threadpool(state.producer.publish, [(p.key, p.value) for p in prepared])
    events: list[dict[str, Any]] = []
    counts = dict.fromkeys(("accepted", "duplicate", "conflict"), 0)
    for p, pos in zip(prepared, positions, strict=True):
        answer: dict[str, Any] = {
            "index": p.index,
            "event_id": p.event_id,
            "status": p.status,
            "jurisdiction": p.jurisdiction,
            "level": p.level,
            "recorded_at": json_micros(p.recorded_us),
            "partition": pos.partition,
            "offset": pos.offset,
            # its line in that Kafka record (the request's events bound for one
            # partition share a record)
            "line": pos.line,
        }
        if p.first_recorded_us is not None:
            answer["first_recorded_at"] = json_micros(p.first_recorded_us)
        events.append(answer)
        counts[p.status] += 1
    metrics.answered(cred.name, counts)
    return ORJSONResponse(
        {
            "accepted": counts["accepted"],
            "duplicates": counts["duplicate"],
            "conflicts": counts["conflict"],
            "archive_checked": done.archive_checked,
            "events": events,
        },
        status_code=202,
    )
