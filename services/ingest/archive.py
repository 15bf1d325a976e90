"""What the archive already holds of a request's event ids: for each, the
version that stands (the first accepted), so that ingest can answer a resend
`duplicate` or `conflict`, refuse a retraction of a stored retraction, and
check a retraction's target against the poster's scope.

The archive lags the topic by the aggregator's delay (seconds): a version
still on its way is not found here. Two steps, as the aggregator's version
check (services/aggregator/store.py): the request's id keys against the narrow
index `event_versions` (sent as an external table), then `events` for the
few ids found there (nearly always none: resends are rare).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection
from dataclasses import dataclass

from clickhouse_driver import Client

from services.aggregator.fold import id_key
from services.common.clickhouse import client, external_table
from services.ingest.config import IngestSettings
from services.ingest.errors import StoreUnavailable

#: of the request's id keys, those with a version in the index
KEYS_SQL = "SELECT DISTINCT id_key FROM event_versions WHERE id_key IN request_keys"
#: the first version of each id (the earliest recorded; ties: the smaller
#: hash, as the aggregator's `superseded`), which stands (contract section 3)
FIRST_SQL = """
SELECT event_id,
    min(recorded_us),
    argMin(content_hash, (recorded_us, content_hash)),
    argMin(type, (recorded_us, content_hash)),
    argMin(jurisdiction, (recorded_us, content_hash))
FROM events WHERE event_id IN request_ids
GROUP BY event_id"""

#: after the store failed to answer, look-ups fail at once for this long (s),
#: so that an outage does not add a connection attempt to every request
PAUSE_AFTER_FAILURE_S = 2.0


@dataclass(frozen=True)
class Stored:
    """The archived version of an event that stands."""

    recorded_us: int
    content_hash: str
    type: str
    jurisdiction: str


class Archive:
    def __init__(self, settings: IngestSettings) -> None:
        self._settings = settings
        self._local = threading.local()
        self._failed_at = -PAUSE_AFTER_FAILURE_S

    def _client(self) -> Client:
        """One connection per thread (the requests' thread pool), kept open."""
        ch: Client | None = getattr(self._local, "client", None)
        if ch is None:
            ch = self._local.client = client(self._settings, timeout_s=self._settings.archive_timeout_s)
        return ch

    def first_versions(self, event_ids: Collection[str]) -> dict[str, Stored]:
        """The standing version of each archived event among `event_ids`; ids
        not archived are left out. Raises StoreUnavailable when the store does
        not answer (or did not, under PAUSE_AFTER_FAILURE_S ago)."""
        if not event_ids:
            return {}
        if time.monotonic() - self._failed_at < PAUSE_AFTER_FAILURE_S:
            raise StoreUnavailable("the store did not answer a moment ago")
        by_key: dict[int, list[str]] = {}
        for event_id in set(event_ids):
            by_key.setdefault(id_key(event_id), []).append(event_id)
        try:
            return self._look_up(by_key)
        except Exception as exc:
            self._failed_at = time.monotonic()
            ch: Client | None = getattr(self._local, "client", None)
            if ch is not None:
                ch.disconnect()
                self._local.client = None
            raise StoreUnavailable(f"the store did not answer ({type(exc).__name__})") from None

    def _look_up(self, by_key: dict[int, list[str]]) -> dict[str, Stored]:
        ch = self._client()
        found = ch.execute(
            KEYS_SQL,
            external_tables=[external_table("request_keys", "id_key", "UInt64", by_key)],
        )
        if not found:
            return {}
        ids = sorted(i for (k,) in found for i in by_key[k])
        rows = ch.execute(
            FIRST_SQL,
            external_tables=[external_table("request_ids", "event_id", "String", ids)],
        )
        return {str(r[0]): Stored(int(r[1]), str(r[2]), str(r[3]), str(r[4])) for r in rows}
