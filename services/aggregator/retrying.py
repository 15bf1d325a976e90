"""The agents' retry: a failed look-up or write is run again with back-off
until it succeeds, never skipped; meanwhile nothing is acknowledged, so no
offset is committed for work not done."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger("ribao.aggregator")
T = TypeVar("T")


class Retrying:
    """Runs blocking calls off the event loop, again after each failure, the
    delay doubling from `initial_s` up to `max_s`."""

    def __init__(self, initial_s: float, max_s: float) -> None:
        self._initial_s = initial_s
        self._max_s = max_s

    async def __call__(self, what: str, call: Callable[[], T]) -> T:
        delay = self._initial_s
        loop = asyncio.get_running_loop()
        while True:
            try:
                return await loop.run_in_executor(None, call)
            except Exception as exc:  # any store or broker failure: back off and retry, never ack
                log.warning("%s failed (%s: %s); retrying in %.1fs", what, type(exc).__name__, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_s)
