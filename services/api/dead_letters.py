"""Dead letters for auditors: the events on the events topic (each a line of
a record, schemas/records.py) that were never folded (not a valid event, or
a jurisdiction not in the registry), read from the ClickHouse table
`dead_letters` that the aggregator fills together with the dead-letter topic."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.api.report import iso
from services.api.store import ReadStore

# ReplacingMergeTree keeps a redelivered dead letter twice until a merge: one row each
PAGE = """
SELECT kafka_partition, kafka_offset, kafka_line, any(record), any(error), min(detected_us)
FROM dead_letters
GROUP BY kafka_partition, kafka_offset, kafka_line
ORDER BY kafka_partition, kafka_offset, kafka_line
LIMIT %(limit)s OFFSET %(offset)s"""
TOTAL = "SELECT uniqExact(kafka_partition, kafka_offset, kafka_line) FROM dead_letters"


def dead_letters(store: ReadStore, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
    """(how many dead letters there are, one page of them in (partition, offset, line) order)."""
    total = int(store.query(TOTAL)[0][0])
    rows = store.query(PAGE, {"limit": limit, "offset": offset})
    return total, [
        {
            "partition": int(partition),
            "offset": int(kafka_offset),
            "line": int(line),
            "error": error,
            "record": record,
            "detected_at": iso(datetime.fromtimestamp(detected_us / 1_000_000, UTC)),
        }
        for partition, kafka_offset, line, record, error, detected_us in rows
    ]
