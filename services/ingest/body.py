"""Reading a POST /v1/events body: one event, a JSON array, or NDJSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from schemas.validation import Issue
from services.ingest.errors import BadBody, TooLarge, UnsupportedMediaType

JSON_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")


@dataclass(frozen=True)
class Decoded:
    #: one value per event
    values: list[Any]
    #: the NDJSON lines that failed to decode, each an issue naming its index
    issues: list[Issue]
    #: NDJSON: the 1-based line of the body each value came from (blank lines
    #: are skipped, so an event's `index` and its line may differ); JSON: None
    lines: list[int] | None


def decode(body: bytes, content_type: str, max_events: int) -> Decoded:
    """Reads a body as one event, a JSON array of events, or NDJSON."""
    media = content_type.split(";")[0].strip().lower()
    lines: list[int] | None = None
    if media in JSON_TYPES:
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            hint = ""
            if exc.msg.startswith("unexpected content after document"):
                hint = "; several events one per line are NDJSON: send them as application/x-ndjson"
            raise BadBody(f"body is not valid JSON: {exc}{hint}") from None
        values = value if isinstance(value, list) else [value]
        issues: list[Issue] = []
    elif media in NDJSON_TYPES:
        values, issues, lines = [], [], []
        for lineno, line in enumerate(body.split(b"\n"), start=1):
            line = line.strip()
            if not line:
                continue
            lines.append(lineno)
            try:
                values.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                issues.append(Issue(len(values), None, "(line)", f"line {lineno} is not valid JSON: {exc}"))
                values.append(None)
    else:
        raise UnsupportedMediaType(
            f"Content-Type {media or '(none)'} is not supported; use application/json "
            "(one event or an array) or application/x-ndjson"
        )
    if not values:
        raise BadBody("the body holds no event")
    if len(values) > max_events:
        raise TooLarge(f"{len(values)} events in one request; the limit is {max_events}")
    return Decoded(values, issues, lines)
