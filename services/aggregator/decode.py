"""Decoding topic records into the fold's input."""

from __future__ import annotations

from pydantic import ValidationError

from schemas.records import EventRecord
from services.aggregator.errors import PoisonRecord


def decode_record(raw: bytes | None) -> EventRecord:
    if raw is None:
        raise PoisonRecord("record has no value")
    try:
        return EventRecord.from_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PoisonRecord(f"{exc.error_count()} error(s), first at {where}: {first['msg']}") from None
