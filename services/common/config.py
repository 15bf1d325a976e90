"""Settings every service shares: where Kafka, ClickHouse and the registry are.

Each service's own settings object extends `CommonSettings`; every field is
read from the environment as `RIBAO_<FIELD>` and has a default for local runs.
A bad value stops the service at start-up with pydantic's error naming it.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas import codes

REPO_DIR = Path(__file__).resolve().parents[2]


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RIBAO_", extra="ignore", frozen=True)

    #: dev mode allows built-in secrets; never in production
    dev_mode: bool = False
    #: brokers, comma-separated host:port (any of them answers for all)
    kafka_bootstrap: str = "127.0.0.1:9092"
    #: replicas of each topic `ribao setup` creates, and how many must hold a
    #: record before it is acknowledged (a cluster: 3 and 2)
    kafka_replication: int = Field(1, ge=1, le=9)
    kafka_min_insync: int = Field(1, ge=1, le=9)
    events_topic: str = Field("ribao.events.v1", pattern=r"^[A-Za-z0-9._-]{1,200}$")
    #: where the aggregator moves records that are not valid events (empty: `<events_topic>.dead`)
    dead_letter_topic: str = Field("", pattern=r"^[A-Za-z0-9._-]{0,200}$")
    clickhouse_host: str = "127.0.0.1"
    clickhouse_port: int = Field(9000, ge=1, le=65535)
    clickhouse_database: str = Field("ribao", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
    #: other ClickHouse servers to fail over to, comma-separated host:port
    #: (clickhouse-driver's alt_hosts), tried in order when the first does not answer
    clickhouse_alt_hosts: str = Field(
        "", pattern=r"^([A-Za-z0-9._-]+:[0-9]{1,5}(,[A-Za-z0-9._-]+:[0-9]{1,5})*)?$"
    )
    #: the ClickHouse cluster (remote_servers) the schema spans; empty: one
    #: server. Set, migrations run ON CLUSTER with Replicated* tables sharded
    #: behind Distributed ones (services/common/cluster_ddl.py)
    clickhouse_cluster: str = Field("", pattern=r"^([A-Za-z_][A-Za-z0-9_]{0,62})?$")
    clickhouse_user: str = "default"
    clickhouse_password: str = ""
    #: reporting timezone (contract section 2)
    timezone: str = "Asia/Shanghai"
    #: folder of the registry CSVs (provinces/cities/areas/streets/villages .csv.xz)
    registry_dir: Path = REPO_DIR / "data" / "divisions"
    #: seconds between re-reads of the credentials (a revoked token stops within this)
    credentials_refresh_s: float = Field(5.0, gt=0, le=3600)
    #: requests per credential, in the `limits` syntax ("3000/minute", "50/second")
    rate_limit: str = "3000/minute"
    #: folder of a rate-limit store shared by a service's processes (empty: in
    #: memory, per process); the ingest parent sets it under RIBAO_INGEST_WORKERS
    rate_limit_dir: Path | None = None
    #: log lines as JSON objects (json), plain text (text), or text on a terminal and JSON elsewhere (auto)
    log_format: str = Field("auto", pattern=r"^(json|text|auto)$")
    #: focus areas of screened.by_origin: comma-separated code prefixes (湖北 42,
    #: 武汉 4201). The aggregator counts them: after a change, `ribao rebuild-counts`
    focus_areas: str = "42,4201"

    @field_validator("focus_areas")
    @classmethod
    def _prefixes(cls, value: str) -> str:
        for area in value.split(","):
            try:
                code = codes.normalize(area.strip())
            except codes.CodeError:
                raise ValueError(f"focus area {area!r} is not a 2/4/6/9/12-digit code") from None
            if codes.significant(code) != area.strip():
                raise ValueError(f"focus area {area!r} must be written with its significant digits only")
        return value

    @property
    def focus_area_list(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.focus_areas.split(",") if a.strip())

    @model_validator(mode="after")
    def _insync_within_replication(self) -> CommonSettings:
        if self.kafka_min_insync > self.kafka_replication:
            raise ValueError(
                f"RIBAO_KAFKA_MIN_INSYNC={self.kafka_min_insync} exceeds "
                f"RIBAO_KAFKA_REPLICATION={self.kafka_replication}: no record could be acknowledged"
            )
        return self

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {value!r}") from None
        return value

    @field_validator("rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError(f"rate limit {value!r}: expected e.g. '3000/minute' or '50/second'") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def dead_letter_topic_name(self) -> str:
        return self.dead_letter_topic or f"{self.events_topic}.dead"

    @property
    def subjects_topic_name(self) -> str:
        """The aggregator's internal topic of subjects to recount
        (services/aggregator/subjects.py)."""
        return f"{self.events_topic}.subjects"
