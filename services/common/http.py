"""The JSON error shape every service answers with (contract section 6):
`{"error": {"code": "...", "message": "...", "details": [...], "request_id": "..."}}`
(`request_id` is the `X-Request-ID` of the answer, see request_context.py)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import ORJSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.common.access import AccessError, RateLimited
from services.common.request_context import current, rate_limit_headers

log = logging.getLogger("ribao.http")


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> ORJSONResponse:
    error: dict[str, Any] = {"code": code, "message": message, "details": details or []}
    info = current()
    if info is not None:
        info.error = code
        error["request_id"] = info.request_id
        # also set here: an unhandled error's answer leaves outside the request observer
        headers = {"X-Request-ID": info.request_id} | (headers or {})
    return ORJSONResponse({"error": error}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Framework errors (unknown path, bad query parameter) and access errors
    (401, 403, 429) in the same JSON shape."""

    async def http_error(_: Request, exc: StarletteHTTPException) -> ORJSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    async def bad_params(_: Request, exc: RequestValidationError) -> ORJSONResponse:
        details = [
            {
                "parameter": ".".join(str(p) for p in err["loc"][1:]) or str(err["loc"][0]),
                "message": err["msg"],
            }
            for err in exc.errors()
        ]
        names = ", ".join(d["parameter"] for d in details)
        return error_response(400, "bad_request", f"invalid parameter: {names}", details)

    async def access_error(_: Request, exc: AccessError) -> ORJSONResponse:
        headers = {}
        if exc.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
            headers |= rate_limit_headers(exc.rate)
        if exc.status == 503:
            headers["Retry-After"] = "5"
        return error_response(exc.status, exc.code, str(exc), exc.details, headers)

    async def unexpected(_: Request, exc: Exception) -> ORJSONResponse:
        log.exception("unexpected %s", type(exc).__name__, exc_info=exc)
        return error_response(
            500, "internal_error", "unexpected error; quote its request_id when reporting it"
        )

    app.add_exception_handler(Exception, unexpected)
    app.add_exception_handler(AccessError, access_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, bad_params)  # type: ignore[arg-type]
