"""What the API app holds while it runs."""

from __future__ import annotations

from dataclasses import dataclass

from services.api.config import ApiSettings
from services.api.replay_pool import ReplayPool
from services.api.store import ReadStore


@dataclass
class ApiState:
    settings: ApiSettings
    store: ReadStore
    replay_pool: ReplayPool
