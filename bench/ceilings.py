"""The machine's own ceilings, measured in the same run:

- Kafka's producer (`kafka-producer-perf-test`, i.e. org.apache.kafka.tools.
  ProducerPerformance) with ingest's producer settings (acks=all,
  idempotence, linger 2 ms, 256 KiB batches) and messages of the load's mean
  record size: the most any ingest could put on the topic;
- Kafka's consumer (`kafka-consumer-perf-test`) reading them back: the most
  any aggregator could read;
- ClickHouse's raw insert rate for the archive's row shape (the `events`
  table), columnar inserts from clickhouse-driver of rows prepared beforehand,
  in the aggregator's batch size and in large batches.
"""

from __future__ import annotations

import random
import re
import subprocess
import time
import uuid
from typing import Any

from services.common.clickhouse import client
from services.common.config import REPO_DIR, CommonSettings
from services.common.topics import ensure_events_topic

KAFKA_SH = REPO_DIR / "deploy" / "kafka.sh"


def _tool(cls: str, *args: str) -> str:
    out = subprocess.run(
        ["bash", str(KAFKA_SH), "tool", f"org.apache.kafka.tools.{cls}", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


def kafka_producer(settings: CommonSettings, topic: str, records: int, size: int) -> dict[str, Any]:
    ensure_events_topic(settings.model_copy(update={"events_topic": topic}))
    out = _tool(
        "ProducerPerformance",
        "--topic",
        topic,
        "--num-records",
        str(records),
        "--record-size",
        str(size),
        "--throughput",
        "-1",
        "--producer-props",
        f"bootstrap.servers={settings.kafka_bootstrap}",
        "acks=all",
        "enable.idempotence=true",
        "linger.ms=2",
        "batch.size=262144",
    )
    # "300000 records sent, 151668.4 records/sec (60.06 MB/sec), 3.1 ms avg latency, ..."
    final = [ln for ln in out.splitlines() if "records sent" in ln][-1]
    rate = float(re.search(r"([\d.]+) records/sec", final)[1])  # type: ignore[index]
    mb = float(re.search(r"\(([\d.]+) MB/sec\)", final)[1])  # type: ignore[index]
    return {
        "records": records,
        "record_bytes": size,
        "events_per_s": round(rate),
        "mb_per_s": mb,
        "raw": final,
    }


def kafka_consumer(settings: CommonSettings, topic: str, records: int, group: str) -> dict[str, Any]:
    out = _tool(
        "ConsumerPerformance",
        "--bootstrap-server",
        settings.kafka_bootstrap,
        "--topic",
        topic,
        "--messages",
        str(records),
        "--group",
        group,
        "--timeout",
        "60000",
    )
    lines = [ln for ln in out.splitlines() if ln.strip()]
    header = [h.strip() for h in lines[0].split(",")]
    values = [v.strip() for v in lines[-1].split(",")]
    row = dict(zip(header, values, strict=False))
    return {
        "records": int(row["data.consumed.in.nMsg"]),
        "events_per_s": round(float(row["fetch.nMsg.sec"])),
        "events_per_s_with_rebalance": round(float(row["nMsg.sec"])),
        "mb_per_s": float(row["fetch.MB.sec"]),
    }


def _archive_columns(rows: int, record_bytes: int, seed: int = 1) -> list[list[Any]]:
    """Columns shaped like the archive's (`events`), values like the aggregator's."""
    rng = random.Random(seed)
    now = time.time_ns() // 1000
    body = "x" * max(0, record_bytes - 40)
    ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(rows)]
    return [
        ids,
        [now - rng.randrange(10**10) for _ in range(rows)],
        [f"{rng.getrandbits(256):064x}" for _ in range(rows)],
        [rng.choice(("screening.registered", "isolation.started", "report.zero")) for _ in range(rows)],
        [f"37{rng.randrange(10**10):010d}" for _ in range(rows)],
        [now - rng.randrange(10**11) for _ in range(rows)],
        [f"{rng.getrandbits(256):064x}" for _ in range(rows)],
        ["bench" for _ in range(rows)],
        [f'{{"event_id":"{i}",{body}}}' for i in ids],
        [rng.randrange(6) for _ in range(rows)],
        list(range(rows)),
        [now] * rows,
    ]


ARCHIVE_COLUMNS = (
    "event_id, recorded_us, content_hash, type, jurisdiction, occurred_us, subject, source, record, "
    "kafka_partition, kafka_offset, archived_us"
)


def clickhouse_insert(settings: CommonSettings, rows: int, record_bytes: int) -> dict[str, Any]:
    ch = client(settings)
    ch.execute("CREATE TABLE IF NOT EXISTS ceiling_events AS events")
    columns = _archive_columns(rows, record_bytes)
    out: dict[str, Any] = {"rows": rows, "record_bytes": record_bytes}
    for batch in (5000, 100_000):
        ch.execute("TRUNCATE TABLE ceiling_events")
        started = time.perf_counter()
        for i in range(0, rows, batch):
            ch.execute(
                f"INSERT INTO ceiling_events ({ARCHIVE_COLUMNS}) VALUES",
                [c[i : i + batch] for c in columns],
                columnar=True,
            )
        out[f"rows_per_s_batch_{batch}"] = round(rows / (time.perf_counter() - started))
    ch.execute("DROP TABLE ceiling_events")
    out["rows_per_s"] = max(out["rows_per_s_batch_5000"], out["rows_per_s_batch_100000"])
    return out
