"""The API's OpenAPI document says what the API answers: every status an
operation returns, each error as `{"error": {"code", "message", "details"}}`
(services/common/http.py, services/api/app.py), and never FastAPI's default 422
`HTTPValidationError`: a bad or missing parameter is a 400 `bad_parameter`.
tests/integration/test_openapi_conformance.py checks real answers against it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from services.api.models import ErrorResponse

_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}

#: what each error status means here
ERRORS: dict[int, dict[str, Any]] = {
    400: {"description": "a bad or missing parameter (`bad_parameter`), named in `details`"},
    401: {
        "description": "no token, or an unknown, rotated or revoked one (`unauthenticated`)",
        "headers": {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    },
    403: {"description": "the token's role or scope does not allow this (`forbidden`)"},
    404: {"description": "no such jurisdiction in the registry (`unknown_jurisdiction`)"},
    429: {"description": "the token is over its rate limit (`rate_limited`)", "headers": _RETRY_AFTER},
    503: {
        "description": "the store (or the credential store) cannot be read: retry later",
        "headers": _RETRY_AFTER,
    },
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` entries of these error statuses, with the error model."""
    return {status: {"model": ErrorResponse, **ERRORS[status]} for status in statuses}


def ok(model: Any, description: str, text: dict[str, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """A 200 of `model` as JSON, and of the `text` media types (type -> what it holds)."""
    content = {
        media: {"schema": {"type": "string", "description": what}} for media, what in (text or {}).items()
    }
    return {200: {"model": model, "description": description, **({"content": content} if content else {})}}


#: what an operation that needs a token can always answer
AUTHENTICATED = (400, 401, 429, 503)


def install(app: FastAPI) -> None:
    """Replaces `app.openapi` by one without FastAPI's 422 responses and their schemas."""

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            for path in doc.get("paths", {}).values():
                for operation in path.values():
                    operation.get("responses", {}).pop("422", None)
            schemas = doc.get("components", {}).get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]
