"""Liveness and readiness."""

from __future__ import annotations

import socket

from fastapi import APIRouter
from fastapi.responses import ORJSONResponse
from starlette.concurrency import run_in_threadpool

from services.api import models
from services.api.deps import State
from services.api.errors import StoreUnavailable
from services.api.openapi import errors, ok
from services.common.http import error_response

router = APIRouter()


def _broker_reachable(bootstrap: str) -> bool:
    for hostport in bootstrap.split(","):
        host, _, port = hostport.strip().rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=2):
                return True
        except (OSError, ValueError):
            continue
    return False


@router.get("/healthz", response_model=None, responses=ok(models.Health, "the process answers"))
async def healthz() -> ORJSONResponse:
    return ORJSONResponse(models.Health(status="ok").model_dump())


@router.get(
    "/readyz",
    response_model=None,
    responses={**ok(models.Readiness, "broker and store reachable"), **errors(503)},
)
async def readyz(state: State) -> ORJSONResponse:
    try:
        await run_in_threadpool(state.store.query, "SELECT 1")
        store = "ok"
    except StoreUnavailable:
        store = "unreachable"
    broker = (
        "ok" if await run_in_threadpool(_broker_reachable, state.settings.kafka_bootstrap) else "unreachable"
    )
    if store == "ok" and broker == "ok":
        return ORJSONResponse({"status": "ready", "store": store, "broker": broker})
    return error_response(
        503, "not_ready", f"store {store}, broker {broker}", [{"store": store, "broker": broker}]
    )
