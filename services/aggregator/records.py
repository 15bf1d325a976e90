"""The events topic's Kafka records, cut into the batches the agent folds.

A record holds one or more events, one per line (schemas/records.py); a take
of records can hold far more events than one ClickHouse round should write.
`chunks` cuts the records' lines into batches of at most `most` lines, in
topic order. A record is acknowledged with the batch that holds its last
line: batches are written in order, so its other lines are written by then.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from schemas.records import unpack
from services.aggregator.dead_letters import Message

#: what the stream hands over for a record (a Faust event), acknowledged as it is
R = TypeVar("R")


@dataclass
class Chunk(Generic[R]):
    """Lines to fold and write together, and the records they complete."""

    lines: list[Message] = field(default_factory=list)
    completed: list[R] = field(default_factory=list)


def lines_of(partition: int, offset: int, key: bytes | None, value: bytes | None) -> list[Message]:
    """A record's events, one Message per line (a record without a value: one
    Message without one, a dead letter)."""
    if value is None:
        return [Message(partition, offset, 0, key, None)]
    return [Message(partition, offset, i, key, v) for i, v in enumerate(unpack(value))]


def chunks(records: Iterable[tuple[R, list[Message]]], most: int) -> Iterator[Chunk[R]]:
    """The records' lines in batches of at most `most`, in order; each record
    completed by the batch that holds its last line."""
    chunk: Chunk[R] = Chunk()
    for record, lines in records:
        for msg in lines:
            if len(chunk.lines) >= most:
                yield chunk
                chunk = Chunk()
            chunk.lines.append(msg)
        chunk.completed.append(record)
    if chunk.lines or chunk.completed:
        yield chunk
