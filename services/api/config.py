"""API settings (environment `RIBAO_*`)."""

from __future__ import annotations

from pydantic import Field

from services.common.config import CommonSettings


class ApiSettings(CommonSettings):
    api_host: str = "127.0.0.1"
    api_port: int = Field(8080, ge=1, le=65535)
    #: hours after a window's end before a submission is late (contract section 2)
    grace_hours: float = Field(2.0, ge=0, le=24 * 7)
    #: the level of the reporting units (contract section 5)
    reporting_level: str = Field("village", pattern=r"^(province|city|county|town|village)$")
    #: processes that recompute an auditor replay's chunks side by side (0: in
    #: the API process); started at the first replay
    replay_workers: int = Field(2, ge=0, le=64)
    #: the aggregator's Faust app id (its consumer group), whose lag /metrics reports
    aggregator_id: str = Field("ribao-aggregator", pattern=r"^[A-Za-z0-9._-]{1,100}$")
