"""Ingest's answers as pydantic models: they document `/openapi.json` (the
route builds its answers as plain dicts, on the per-request fast path, and a
test checks the real answers against the document)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

STATUS_DESCRIPTION = (
    "`accepted`: the first version of this event_id that ingest knows of. "
    "`duplicate`: the same content as the version already accepted (it never counts twice). "
    "`conflict`: the event_id was accepted before with other content; the first version stands "
    "and this one will never count (it is kept for auditors). To correct an event, post a "
    "retraction (`event.retracted`) of it and a new event with a new event_id. Earlier versions "
    "are known from this request and from the archive, which lags the topic by a few seconds: "
    "a resend within those seconds of the first, in another request, may be answered `accepted` "
    "(it still never counts twice)."
)


class EventAnswer(BaseModel):
    index: int = Field(
        description="position of the event among the request's events, from 0 "
        "(NDJSON: blank lines are not counted)"
    )
    event_id: str
    status: Literal["accepted", "duplicate", "conflict"] = Field(description=STATUS_DESCRIPTION)
    jurisdiction: str = Field(description="the event's division code, normalised to 12 digits")
    level: Literal["province", "city", "county", "town", "village"] = Field(
        description="the level of `jurisdiction`"
    )
    recorded_at: str = Field(description="when ingest recorded this version (RFC 3339, UTC)")
    first_recorded_at: str | None = Field(
        None, description="duplicate and conflict only: when the version that stands was recorded"
    )
    partition: int = Field(description="Kafka partition of the record")
    offset: int = Field(description="Kafka offset of the record")
    line: int = Field(
        description="the event's line in that record: a request's events bound for one partition "
        "share one record, one event per line"
    )


class Accepted(BaseModel):
    """Every event of the request is on the topic (acknowledged by the broker)."""

    accepted: int = Field(description="events answered `accepted`")
    duplicates: int = Field(description="events answered `duplicate`")
    conflicts: int = Field(description="events answered `conflict`")
    archive_checked: bool = Field(
        description="false when the store did not answer: duplicates and conflicts were then "
        "judged from this request alone"
    )
    events: list[EventAnswer]


class ErrorInfo(BaseModel):
    code: str = Field(description="machine-readable, e.g. `invalid_events`, `bad_body`, `unauthenticated`")
    message: str
    details: list[dict[str, Any]] = Field(
        description="for refused events, one item per issue: `index` (the event's position among "
        "the request's events), `line` (NDJSON: the 1-based line of the body), `event_id`, "
        "`field`, `message`"
    )
    request_id: str | None = Field(None, description="the answer's X-Request-ID: quote it when reporting")


class ErrorBody(BaseModel):
    """The error shape of contract section 6."""

    error: ErrorInfo


class Ready(BaseModel):
    status: Literal["ready"]
    broker: Literal["ok"]
    credentials: Literal["ok"]


def _error(description: str, retry_after: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"model": ErrorBody, "description": description}
    if retry_after:
        out["headers"] = {
            "Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}
        }
    return out


#: every answer of POST /v1/events
EVENTS_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {
        "model": Accepted,
        "description": "every event is on the topic, acknowledged by Kafka; each answered "
        "`accepted`, `duplicate` or `conflict`",
    },
    400: _error("the body is not JSON or NDJSON (`bad_body`), or holds no event"),
    401: _error("missing, malformed, unknown, rotated, revoked or expired token"),
    403: _error(
        "the credential's role may not post (`forbidden`), or events lie outside its scope "
        "(`out_of_scope`, each named in `details`); nothing was accepted"
    ),
    413: _error("the body or its number of events is over the limit (`too_large`)"),
    415: _error("the content type is neither application/json nor application/x-ndjson"),
    422: _error(
        "at least one event is invalid (`invalid_events`): every issue is listed in `details`; "
        "nothing was accepted"
    ),
    429: _error("the credential is over its rate limit (`rate_limited`)", retry_after=True),
    503: _error(
        "Kafka did not acknowledge every event (`broker_unavailable`: nothing is acknowledged, "
        "retry with the same event ids), or the store needed for a check or the credentials "
        "did not answer",
        retry_after=True,
    ),
}
