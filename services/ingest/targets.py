"""Where retraction targets live: their jurisdiction, read from the archive, so
that a retraction is accepted only from a credential whose scope covers it."""

from __future__ import annotations

from collections.abc import Collection

from services.common.clickhouse import client
from services.common.config import CommonSettings
from services.ingest.errors import StoreUnavailable

#: the first accepted version of an event stands (contract section 3)
_SQL = """
SELECT event_id, argMin(jurisdiction, (recorded_us, kafka_partition, kafka_offset))
FROM events WHERE event_id IN %(ids)s AND type != 'event.retracted'
GROUP BY event_id
"""


class TargetLookup:
    def __init__(self, settings: CommonSettings) -> None:
        self._settings = settings

    def jurisdictions(self, event_ids: Collection[str]) -> dict[str, str]:
        """The jurisdiction of each archived event among `event_ids`; unknown ids are left out."""
        if not event_ids:
            return {}
        try:
            rows = client(self._settings).execute(_SQL, {"ids": tuple(event_ids)})
        except Exception as exc:
            raise StoreUnavailable(
                f"cannot check retraction targets: the store did not answer ({type(exc).__name__})"
            ) from None
        return {str(r[0]): str(r[1]) for r in rows}
