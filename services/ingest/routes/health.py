"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import ORJSONResponse
from starlette.concurrency import run_in_threadpool

from services.common.http import error_response
from services.ingest.state import IngestState

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> ORJSONResponse:
    state: IngestState = request.app.state.ingest
    if await run_in_threadpool(state.producer.ready):
        return ORJSONResponse({"status": "ready", "broker": "ok"})
    return error_response(503, "not_ready", "Kafka is unreachable or the events topic is missing")
