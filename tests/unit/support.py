"""Helpers shared by the unit tests."""

from __future__ import annotations

from services.common.clock import RecordClock
from services.common.credentials import Credential, Role


class FixedClock(RecordClock):
    """A record clock that always says `us`."""

    def __init__(self, us: int) -> None:
        super().__init__()
        self._us = us

    def reserve(self, count: int) -> range:
        return range(self._us, self._us + max(count, 1))


def credential(name: str, scope: str, role: Role = "reporter") -> Credential:
    """A credential as the store would hand it out (no secret needed)."""
    return Credential("0" * 16, name, role, scope, "", False, 0, 0, 0)
