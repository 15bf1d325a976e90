"""What the API app holds while it runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from services.api.config import ApiSettings
from services.api.replay_pool import ReplayPool
from services.api.search import SearchIndex
from services.api.store import ReadStore
from services.common.clock import WallClock


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass
class ApiState:
    settings: ApiSettings
    store: ReadStore
    replay_pool: ReplayPool
    #: the registry's names and codes, for `GET /v1/jurisdictions?q=`
    search: SearchIndex
    #: "now" for every report (default date, default and latest as_of)
    clock: Clock = field(default_factory=WallClock)
