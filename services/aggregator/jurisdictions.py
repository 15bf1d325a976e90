"""Which jurisdiction codes are in the registry (the `divisions` table)."""

from __future__ import annotations

from services.aggregator.errors import AggregatorError
from services.common.clickhouse import client
from services.common.config import CommonSettings


class RegistryNotLoaded(AggregatorError):
    """The `divisions` table is empty: no code can be judged unknown."""


class KnownCodes:
    """Looks codes up in `divisions`, remembering those found: a batch whose
    codes were all seen before costs no query. The registry is reloaded only
    with the aggregator stopped (docs/design.md), so a known code stays known.
    Its own ClickHouse connection: the store writes on another thread."""

    def __init__(self, settings: CommonSettings) -> None:
        self._ch = client(settings)
        self._known: set[str] = set()

    def unknown(self, codes: set[str]) -> set[str]:
        """The codes that are not in the registry."""
        asked = codes - self._known
        if not asked:
            return set()
        rows = self._ch.execute(
            "SELECT DISTINCT code FROM divisions WHERE code IN %(codes)s", {"codes": tuple(sorted(asked))}
        )
        self._known.update(r[0] for r in rows)
        unknown = asked - self._known
        if unknown and not self._ch.execute("SELECT count() FROM divisions")[0][0]:
            raise RegistryNotLoaded("the divisions table is empty: load the registry (ribao setup)")
        return unknown
