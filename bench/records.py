"""The preload path: the records ingest would write for the generated events,
built without the HTTP round trip (for the bulk of the full run's history).

`record_value` gives the same JSON as `Acceptor.prepare` (pseudonymised
person id, canonical fields, `schema_version`, defaults filled in), except
that `recorded_at` is the generator's (when a sender's post would have been
recorded) instead of the clock's: tests/unit/test_bench_load.py checks the
two agree for every kind of event the generator makes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from schemas import codes
from services.ingest.pseudonym import pseudonymise

SOURCE = "bench-preload"


def _micros_text(us: int) -> str:
    ts = datetime.fromtimestamp(us // 1_000_000, UTC).replace(microsecond=us % 1_000_000)
    text = ts.isoformat()
    return text.replace("+00:00", "Z")


def canonical(event: dict[str, Any], key: bytes) -> dict[str, Any]:
    """The event as ingest puts it on the topic (field order of the models)."""
    out: dict[str, Any] = {
        "event_id": event["event_id"],
        "jurisdiction": codes.normalize(event["jurisdiction"]),
        "occurred_at": event["occurred_at"],
        "schema_version": 1,
        "type": event["type"],
    }
    if "person" in event:
        out["person"] = {"id": pseudonymise(key, event["person"]["id"])}
    if "venue" in event:
        out["venue"] = {"id": event["venue"]["id"], "type": event["venue"]["type"]}
    data = dict(event.get("data", {}))
    if event["type"] == "isolation.started":
        data = {"mode": data["mode"], "planned_days": data.get("planned_days", 14)}
    elif event["type"] == "screening.registered":
        data = {k: data[k] for k in ("category", "origin", "channel") if data.get(k) is not None}
    out["data"] = data
    return out


def record_value(event: dict[str, Any], recorded_us: int, key: bytes, source: str = SOURCE) -> bytes:
    return orjson.dumps(
        {"recorded_at": _micros_text(recorded_us), "source": source, "event": canonical(event, key)}
    )


def record_key(event: dict[str, Any]) -> bytes:
    """The topic key ingest uses: the event's county."""
    return codes.partition_key(codes.normalize(event["jurisdiction"])).encode()
