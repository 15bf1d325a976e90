"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import ORJSONResponse
from starlette.concurrency import run_in_threadpool

from services.common.http import error_response
from services.ingest.models import ErrorBody, Ready
from services.ingest.state import IngestState

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Ready,
    responses={503: {"model": ErrorBody, "description": "Kafka or the credential store is not reachable"}},
)
async def readyz(request: Request) -> ORJSONResponse:
    state: IngestState = request.app.state.ingest
    broker = "ok" if await run_in_threadpool(state.producer.ready) else "unreachable"
    creds = "ok" if await run_in_threadpool(request.app.state.access.authenticator.ready) else "unreadable"
    if broker == "ok" and creds == "ok":
        return ORJSONResponse({"status": "ready", "broker": broker, "credentials": creds})
    return error_response(
        503,
        "not_ready",
        f"broker {broker} (Kafka and the events topic), credentials {creds} (ClickHouse)",
        [{"broker": broker, "credentials": creds}],
    )
