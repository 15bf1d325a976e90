"""POST /v1/events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import ORJSONResponse
from starlette.concurrency import run_in_threadpool

from services.common.access import require
from services.common.credentials import Credential
from services.ingest import metrics
from services.ingest.body import decode
from services.ingest.errors import TooLarge
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


@router.post("/v1/events", status_code=202)
async def post_events(request: Request, cred: Credential = Depends(require("reporter"))) -> ORJSONResponse:
    """Accepts one event, a JSON array of events, or NDJSON, from a reporter (or
    admin) credential. The whole request is validated first, then checked
    against the credential's scope; 202 only once Kafka acknowledged every event."""
    state: IngestState = request.app.state.ingest
    settings = state.settings
    body = await _read_body(request, settings.max_body_bytes)
    values, decode_issues = decode(
        body, request.headers.get("content-type", ""), settings.max_events_per_request
    )
    metrics.decoded(len(values))
    prepared = await run_in_threadpool(
        state.acceptor.prepare, values, decode_issues, cred, state.targets.jurisdictions
    )
    positions = await run_in_threadpool(state.producer.publish, [(p.key, p.value) for p in prepared])
    events: list[dict[str, Any]] = [
        {
            "index": p.index,
            "event_id": p.event_id,
            "status": p.status,
            "partition": pos.partition,
            "offset": pos.offset,
        }
        for p, pos in zip(prepared, positions, strict=True)
    ]
    dups = sum(1 for p in prepared if p.status == "duplicate")
    metrics.answered(cred.name, len(prepared) - dups, dups)
    return ORJSONResponse(
        {"accepted": len(prepared) - dups, "duplicates": dups, "events": events}, status_code=202
    )
