"""The ingest service: upstream systems POST events; each goes onto Kafka."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import ORJSONResponse
from starlette.concurrency import run_in_threadpool

from services.common.access import install_access
from services.common.clock import RecordClock
from services.common.http import error_response, install_error_handlers
from services.common.metrics import install_metrics_route
from services.common.registry import read_codes
from services.common.request_context import RequestObserver
from services.ingest import metrics
from services.ingest.acceptance import Acceptor
from services.ingest.archive import Archive
from services.ingest.config import IngestSettings
from services.ingest.errors import (
    BadBody,
    BrokerUnavailable,
    IngestError,
    InvalidEvents,
    OutOfScope,
    StoreUnavailable,
    TooLarge,
    UnsupportedMediaType,
)
from services.ingest.producer import EventProducer
from services.ingest.routes import events, health
from services.ingest.state import IngestState

log = logging.getLogger("ribao.ingest")


async def _ingest_error(_: Request, exc: Exception) -> ORJSONResponse:
    if isinstance(exc, InvalidEvents):
        return error_response(422, "invalid_events", f"{exc}; nothing was accepted", exc.details())
    if isinstance(exc, OutOfScope):
        return error_response(403, "out_of_scope", f"{exc}; nothing was accepted", exc.details())
    if isinstance(exc, StoreUnavailable):
        return error_response(
            503, "store_unavailable", f"{exc}; nothing was accepted", headers={"Retry-After": "5"}
        )
    if isinstance(exc, BrokerUnavailable):
        return error_response(
            503,
            "broker_unavailable",
            f"{exc}; nothing is acknowledged, retry with the same event ids",
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, TooLarge):
        return error_response(413, "too_large", str(exc))
    if isinstance(exc, UnsupportedMediaType):
        return error_response(415, "unsupported_media_type", str(exc))
    if isinstance(exc, BadBody):
        return error_response(400, "bad_body", str(exc))
    return error_response(500, "ingest_error", str(exc))


def create_app(settings: IngestSettings | None = None, clock: RecordClock | None = None) -> FastAPI:
    """The ingest app; `clock` stamps `recorded_at` (one per process: see workers.py)."""
    settings = settings or IngestSettings()
    record_clock = clock or RecordClock()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        known = read_codes(settings.registry_dir)
        log.info("registry: %d codes from %s", len(known), settings.registry_dir)
        # read the credentials now (a store outage later finds them cached)
        await run_in_threadpool(app.state.access.authenticator.ready)
        producer = EventProducer(settings)
        app.state.ingest = IngestState(
            settings, Acceptor(settings, known, record_clock), producer, Archive(settings)
        )
        try:
            yield
        finally:
            producer.close()

    app = FastAPI(title="ribao ingest", version="1", lifespan=lifespan, default_response_class=ORJSONResponse)
    install_error_handlers(app)
    install_access(app, settings)
    app.add_exception_handler(IngestError, _ingest_error)
    app.include_router(events.router)
    app.include_router(health.router)
    install_metrics_route(app)
    app.add_middleware(RequestObserver, on_done=metrics.on_request_done)
    _document_events_body(app)
    return app


def _document_events_body(app: FastAPI) -> None:
    """The route reads its body itself (to bound it); its OpenAPI entry gets the
    events schema, so clients and fuzzers see what it takes."""
    from schemas.jsonschema import openapi_request_body

    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = base()
            body, components = openapi_request_body()
            doc["paths"]["/v1/events"]["post"]["requestBody"] = body
            doc.setdefault("components", {}).setdefault("schemas", {}).update(components)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
