"""The JSON Schema of the v1 events, generated from the pydantic models, for
upstream integrators (`ribao jsonschema` writes schemas/events.v1.schema.json)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter

from schemas.events import Event


def render() -> str:
    schema = TypeAdapter(Event).json_schema(mode="validation")
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ribao event v1",
        "description": "One event as POSTed to /v1/events (see the reporting contract, section 3). "
        "A request body is one such object, a JSON array of them, or NDJSON.",
        **schema,
    }
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def openapi_request_body() -> tuple[dict[str, Any], dict[str, Any]]:
    """The POST /v1/events request body for an OpenAPI document, and the
    component schemas it refers to (`#/components/schemas/...`)."""
    schema = TypeAdapter(Event).json_schema(mode="validation", ref_template="#/components/schemas/{model}")
    components = schema.pop("$defs", {})
    components["Event"] = schema
    event = {"$ref": "#/components/schemas/Event"}
    body = {
        "required": True,
        "content": {
            "application/json": {"schema": {"anyOf": [event, {"type": "array", "items": event}]}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
    return body, components
