"""API settings (environment `RIBAO_*`)."""

from __future__ import annotations

from pydantic import Field, field_validator

from schemas import codes
from services.common.config import CommonSettings


class ApiSettings(CommonSettings):
    api_host: str = "127.0.0.1"
    api_port: int = Field(8080, ge=1, le=65535)
    #: hours after a window's end before a submission is late (contract section 2)
    grace_hours: float = Field(2.0, ge=0, le=24 * 7)
    #: the level of the reporting units (contract section 5)
    reporting_level: str = Field("village", pattern=r"^(province|city|county|town|village)$")
    #: focus areas of screened.by_origin: comma-separated code prefixes (湖北 42, 武汉 4201)
    focus_areas: str = "42,4201"
    #: processes that recompute an auditor replay's chunks side by side (0: in
    #: the API process); started at the first replay
    replay_workers: int = Field(2, ge=0, le=64)
    #: the aggregator's Faust app id (its consumer group), whose lag /metrics reports
    aggregator_id: str = Field("ribao-aggregator", pattern=r"^[A-Za-z0-9._-]{1,100}$")

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
