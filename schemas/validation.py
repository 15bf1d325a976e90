"""Validating a batch of raw events into `Event`s, with errors that name the
event (its index and event_id) and the field."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from schemas.events import EVENT_TYPES, AnyEvent, Event, ValidationContext

EVENT_ADAPTER: TypeAdapter[AnyEvent] = TypeAdapter(Event)


@dataclass(frozen=True)
class Issue:
    """One reason an event was rejected."""

    index: int
    event_id: str | None
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _field(loc: tuple[int | str, ...], event_type: str | None) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in EVENT_TYPES:  # the discriminator's tag, not a field
        parts = parts[1:]
    return ".".join(parts) or "(event)"


def _message(err: Any) -> str:
    kind = err["type"]
    if kind == "union_tag_not_found":
        return "missing required field"
    if kind == "union_tag_invalid":
        return f"unknown event type; expected one of: {', '.join(EVENT_TYPES)}"
    if kind == "extra_forbidden":
        return "field not allowed here"
    if kind == "missing":
        return "missing required field"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def validate_event(
    raw: Any, index: int, context: ValidationContext | None
) -> tuple[AnyEvent | None, list[Issue]]:
    """Validates one decoded JSON value; returns the event or the issues."""
    event_id = raw.get("event_id") if isinstance(raw, dict) else None
    # echoed back in errors: only when it could be an id (never a huge string)
    eid = event_id if isinstance(event_id, str) and len(event_id) <= 64 else None
    if not isinstance(raw, dict):
        return None, [Issue(index, None, "(event)", "an event must be a JSON object")]
    try:
        return EVENT_ADAPTER.validate_python(raw, context=context), []
    except ValidationError as exc:
        etype = raw.get("type") if isinstance(raw.get("type"), str) else None
        issues = []
        for err in exc.errors():
            field = _field(err["loc"], etype)
            if err["type"] in ("union_tag_not_found", "union_tag_invalid"):
                field = "type"
            issues.append(Issue(index, eid, field, _message(err)))
        return None, issues
