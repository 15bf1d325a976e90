"""The JSON Schema of the v1 events, generated from the pydantic models, for
upstream integrators (`ribao jsonschema` writes schemas/events.v1.schema.json)."""

from __future__ import annotations

import json

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
