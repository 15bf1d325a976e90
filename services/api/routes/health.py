"""Liveness and readiness."""

from __future__ import annotations

import socket

from fastapi import APIRouter, Request
from fastapi.responses import ORJSONResponse
from starlette.concurrency import run_in_threadpool

from services.api.errors import StoreUnavailable
from services.api.state import ApiState
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


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> ORJSONResponse:
    state: ApiState = request.app.state.api
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
