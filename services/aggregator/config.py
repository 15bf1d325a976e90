"""Aggregator settings (environment `RIBAO_*`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from services.common.config import REPO_DIR, CommonSettings


class AggregatorSettings(CommonSettings):
    #: Faust app id: the Kafka consumer group and the prefix of Faust's own topics
    aggregator_id: str = Field("ribao-aggregator", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    #: most events folded and written in one ClickHouse round
    batch_max: int = Field(5000, ge=1, le=1_000_000)
    #: most Kafka records of the events topic taken at once (each holds one
    #: or more events, schemas/records.py; they are written batch_max at a time)
    batch_records: int = Field(500, ge=1, le=100_000)
    #: longest wait for a batch to fill, in seconds (bounds freshness)
    batch_within_s: float = Field(0.2, gt=0, le=60)
    #: Faust worker data folder (its local state)
    aggregator_data_dir: Path = REPO_DIR / ".stack" / "aggregator"
    #: first wait after a failed ClickHouse write; doubles up to the max
    retry_initial_s: float = Field(0.5, gt=0)
    retry_max_s: float = Field(15.0, gt=0)
    #: how long the broker waits for a silent worker before moving its partitions
    session_timeout_s: float = Field(10.0, ge=6, le=300)
    log_level: str = Field("info", pattern=r"^(debug|info|warning|error)$")
    #: where the worker serves /metrics (Faust's own web server is off); port 0: nowhere
    aggregator_metrics_host: str = "127.0.0.1"
    aggregator_metrics_port: int = Field(8082, ge=0, le=65535)
