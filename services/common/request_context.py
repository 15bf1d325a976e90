"""One request, observed: its id, one JSON log line, the HTTP metrics.

`RequestObserver` is a plain ASGI middleware (no per-request task, unlike
Starlette's BaseHTTPMiddleware). It gives each request an id (the caller's
`X-Request-ID` when it is a short token of safe characters, else a new one),
returns it in the `X-Request-ID` header and puts it into error bodies (see
`services.common.http`), adds the `RateLimit-*` headers once the credential
is known, counts the request by route template and status, and logs one line:
request id, credential name, route, status, duration and the events count
(not for /metrics, nor for a probe that succeeds).
Routes and the access dependency fill in what only they know through
`current()`, a mutable record shared with the threads they run in.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common import metrics

log = logging.getLogger("ribao.requests")

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
#: liveness and readiness probes: logged only when they fail
_PROBES = frozenset({"/healthz", "/readyz"})


@dataclass
class RateLimitState:
    """The credential's window after this request: for the RateLimit-* headers."""

    limit: int
    remaining: int
    #: seconds until the window has room again
    reset_s: int


@dataclass
class RequestInfo:
    request_id: str
    method: str
    scope: Scope = field(repr=False)
    #: the credential's name (never its token), once authenticated
    credential: str | None = None
    #: events in the request body (ingest), once decoded
    events: int | None = None
    #: the error code of the answer, when it is an error
    error: str | None = None
    rate: RateLimitState | None = None

    @property
    def route(self) -> str:
        """The route template (`/v1/reports/daily`), or `unmatched` (no free-form paths as labels)."""
        route = self.scope.get("route")
        path = getattr(route, "path", None)
        return path if isinstance(path, str) else "unmatched"


_current: ContextVar[RequestInfo | None] = ContextVar("ribao_request", default=None)


def current() -> RequestInfo | None:
    """The request being answered (None outside a request)."""
    return _current.get()


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = bytes(value).decode("latin-1")
            if _SAFE_ID.match(text):
                return text
    return uuid.uuid4().hex


def rate_limit_headers(rate: RateLimitState) -> dict[str, str]:
    return {
        "RateLimit-Limit": str(rate.limit),
        "RateLimit-Remaining": str(max(0, rate.remaining)),
        "RateLimit-Reset": str(max(0, rate.reset_s)),
    }


class RequestObserver:
    """The ASGI middleware (see the module's docstring); `on_done(info, status)`
    lets a service count what it alone knows (ingest: refused events)."""

    def __init__(self, app: ASGIApp, on_done: Callable[[RequestInfo, int], None] | None = None) -> None:
        self.app = app
        self.on_done = on_done

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        info = RequestInfo(_request_id(scope), scope["method"], scope)
        _current.set(info)  # each request runs in a task (and context) of its own
        started = time.perf_counter()
        status = 500

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = info.request_id
                if info.rate is not None:
                    for name, value in rate_limit_headers(info.rate).items():
                        headers[name] = value
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            self._done(info, status, time.perf_counter() - started)

    def _done(self, info: RequestInfo, status: int, seconds: float) -> None:
        route = info.route
        if route == "/metrics":  # the scraper's own requests: neither counted nor logged
            return
        metrics.observe_request(route, info.method, status, seconds)
        if self.on_done is not None:
            self.on_done(info, status)
        if route in _PROBES and status < 400:  # a probe every few seconds: counted, not logged
            return
        line: dict[str, Any] = {
            "request_id": info.request_id,
            "credential": info.credential,
            "method": info.method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "events": info.events,
        }
        if info.error is not None:
            line["error"] = info.error
        log.info("request", extra=line)
