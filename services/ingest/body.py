"""Reading a POST /v1/events body: one event, a JSON array, or NDJSON."""

from __future__ import annotations

from typing import Any

import orjson

from schemas.validation import Issue
from services.ingest.errors import BadBody, TooLarge, UnsupportedMediaType

JSON_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")


def decode(body: bytes, content_type: str, max_events: int) -> tuple[list[Any], list[Issue]]:
    """Returns the decoded values (one per event) and the lines that failed to
    decode (NDJSON only: each bad line is an issue naming its index)."""
    media = content_type.split(";")[0].strip().lower()
    if media in JSON_TYPES:
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise BadBody(f"body is not valid JSON: {exc}") from None
        values = value if isinstance(value, list) else [value]
        issues: list[Issue] = []
    elif media in NDJSON_TYPES:
        values, issues = [], []
        for lineno, line in enumerate(body.split(b"\n"), start=1):
            line = line.strip()
            if not line:
                continue
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
    return values, issues
