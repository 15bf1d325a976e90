"""The API: 日报告 and 零报告 figures for HQ, jurisdictions, health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import ORJSONResponse
from starlette.concurrency import run_in_threadpool

from services.api import openapi
from services.api.config import ApiSettings
from services.api.dashboard import routes as dashboard
from services.api.errors import ApiError, BadParameter, StoreUnavailable, UnknownJurisdiction
from services.api.metrics import install_pipeline_collector
from services.api.replay_pool import ReplayPool
from services.api.routes import audit, health, jurisdictions, reports, zero
from services.api.search import SearchIndex
from services.api.state import ApiState
from services.api.store import ReadStore
from services.common.access import install_access
from services.common.http import error_response, install_error_handlers
from services.common.metrics import install_metrics_route
from services.common.request_context import RequestObserver


async def _invalid_parameter(_: Request, exc: Exception) -> ORJSONResponse:
    """What FastAPI itself refuses (a required parameter missing, `children` not a
    boolean) is a bad parameter like any other, named (not FastAPI's 422)."""
    assert isinstance(exc, RequestValidationError)
    details = []
    for err in exc.errors():
        name = str(err["loc"][-1]) if err["loc"] else "request"
        message = "is required" if err["type"] == "missing" else str(err["msg"])
        details.append({"parameter": name, "message": message})
    first = details[0] if details else {"parameter": "request", "message": "invalid"}
    return error_response(400, "bad_parameter", f"{first['parameter']}: {first['message']}", details)


async def _api_error(_: Request, exc: Exception) -> ORJSONResponse:
    if isinstance(exc, BadParameter):
        return error_response(
            400, "bad_parameter", str(exc), [{"parameter": exc.parameter, "message": exc.message}]
        )
    if isinstance(exc, UnknownJurisdiction):
        return error_response(
            404, "unknown_jurisdiction", str(exc), [{"parameter": "jurisdiction", "code": exc.code}]
        )
    if isinstance(exc, StoreUnavailable):
        return error_response(503, "store_unavailable", str(exc), headers={"Retry-After": "5"})
    return error_response(500, "api_error", str(exc))


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # read the credentials now, so a store outage right after start-up
        # still finds them cached (if the store is down now, the first request retries)
        await run_in_threadpool(app.state.access.authenticator.ready)
        try:
            yield
        finally:
            app.state.api.search.stop()
            app.state.api.replay_pool.close()

    # /docs is the dashboard's (Swagger UI served by the API itself); no ReDoc (it would load from a CDN)
    app = FastAPI(
        title="ribao api",
        version="1",
        default_response_class=ORJSONResponse,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    store = ReadStore(settings)
    app.state.api = ApiState(settings, store, ReplayPool(settings.replay_workers), SearchIndex(store))
    install_error_handlers(app)
    install_access(app, settings)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _invalid_parameter)
    app.include_router(reports.router)
    app.include_router(zero.router)
    app.include_router(audit.router)
    app.include_router(jurisdictions.router)
    app.include_router(health.router)
    dashboard.install(app, settings.timezone)
    install_metrics_route(app)
    install_pipeline_collector(settings)
    app.add_middleware(RequestObserver)
    openapi.install(app)
    return app
