"""Ingest's errors; `app.py` turns them into HTTP answers."""

from __future__ import annotations

from schemas.validation import Issue


class IngestError(Exception):
    """Root of every error the ingest service raises on purpose."""


class BadBody(IngestError):
    """The body cannot be read as JSON or NDJSON at all."""


class UnsupportedMediaType(IngestError):
    pass


class TooLarge(IngestError):
    pass


class InvalidEvents(IngestError):
    """At least one event is invalid: nothing in the request is accepted."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(f"{len({i.index for i in issues})} invalid event(s)")
        self.issues = issues


class BrokerUnavailable(IngestError):
    """Kafka did not acknowledge every event in time."""


class OutOfScope(IngestError):
    """An event lies outside the poster's scope: nothing in the request is accepted."""

    def __init__(self, credential: str, issues: list[Issue]) -> None:
        super().__init__(
            f"{len({i.index for i in issues})} event(s) outside the scope of credential {credential!r}"
        )
        self.issues = issues


class StoreUnavailable(IngestError):
    """ClickHouse (needed to check a retraction's target) did not answer."""
