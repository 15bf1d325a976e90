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


class EventIssues(IngestError):
    """Refusals that name events: `issues` by index (the event's position
    among the request's events); `lines`, for an NDJSON body, the 1-based
    line of the body each index came from (set by the route)."""

    def __init__(self, message: str, issues: list[Issue]) -> None:
        super().__init__(message)
        self.issues = issues
        self.lines: list[int] | None = None

    def details(self) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for issue in self.issues:
            item: dict[str, object] = issue.as_dict()
            if self.lines is not None and issue.index < len(self.lines):
                item["line"] = self.lines[issue.index]
            out.append(item)
        return out


class InvalidEvents(EventIssues):
    """At least one event is invalid: nothing in the request is accepted."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(f"{len({i.index for i in issues})} invalid event(s)", issues)


class BrokerUnavailable(IngestError):
    """Kafka did not acknowledge every event in time."""


class OutOfScope(EventIssues):
    """An event lies outside the poster's scope: nothing in the request is accepted."""

    def __init__(self, credential: str, issues: list[Issue]) -> None:
        super().__init__(
            f"{len({i.index for i in issues})} event(s) outside the scope of credential {credential!r}",
            issues,
        )


class StoreUnavailable(IngestError):
    """ClickHouse did not answer a look-up in the archive: without it resends
    are judged from the request alone, but a scoped credential's retraction
    of an unknown target is refused (its target's scope cannot be checked)."""
