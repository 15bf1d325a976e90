"""Turning a decoded request into records ready for Kafka, or refusing it whole."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Literal

from schemas import codes
from schemas.events import AnyEvent, EventRetracted, ScreeningRegistered, ValidationContext
from schemas.records import canonical_event, record_json
from schemas.validation import Issue, validate_event
from services.common.clock import RecordClock
from services.common.credentials import Credential
from services.ingest.config import IngestSettings
from services.ingest.errors import InvalidEvents, OutOfScope
from services.ingest.pseudonym import pseudonymise

Status = Literal["accepted", "duplicate"]
#: event ids -> jurisdiction of those already archived (see targets.py)
TargetLookup = Callable[[Collection[str]], dict[str, str]]


@dataclass(frozen=True)
class Prepared:
    index: int
    event_id: str
    #: `duplicate` when the same event_id came earlier in this request
    status: Status
    key: bytes
    value: bytes


def _retractions_of_retractions(events: list[tuple[int, AnyEvent]]) -> list[Issue]:
    """ "A retraction of a retraction is rejected": caught here when the target is
    in the same request (one already accepted earlier is void at query time)."""
    retraction_ids = {str(e.event_id) for _, e in events if isinstance(e, EventRetracted)}
    return [
        Issue(
            index,
            str(e.event_id),
            "data.target_event_id",
            "the target is a retraction; retract the event itself",
        )
        for index, e in events
        if isinstance(e, EventRetracted) and str(e.data.target_event_id) in retraction_ids
    ]


def _scope_issues(events: list[tuple[int, AnyEvent]], cred: Credential, lookup: TargetLookup) -> list[Issue]:
    """Events outside the credential's scope, and retractions whose target (when
    known: in this request or already archived) is outside it."""
    where = codes.significant(cred.scope) or "all"
    issues = [
        Issue(index, str(e.event_id), "jurisdiction", f"{e.jurisdiction} is outside the scope {where}")
        for index, e in events
        if not cred.covers(e.jurisdiction)
    ]
    retractions = [(i, e) for i, e in events if isinstance(e, EventRetracted)]
    if not retractions or cred.scope == codes.COUNTRY:
        return issues
    known = {str(e.event_id): e.jurisdiction for _, e in events if not isinstance(e, EventRetracted)}
    unknown = {str(e.data.target_event_id) for _, e in retractions} - known.keys()
    known |= lookup(unknown)
    for index, e in retractions:
        target = known.get(str(e.data.target_event_id))
        if target is not None and not cred.covers(target):
            issues.append(
                Issue(
                    index,
                    str(e.event_id),
                    "data.target_event_id",
                    f"the target event is in {target}, outside the scope {where}",
                )
            )
    return issues


class Acceptor:
    def __init__(self, settings: IngestSettings, known_codes: frozenset[str], clock: RecordClock) -> None:
        self._settings = settings
        self._codes = known_codes
        self._clock = clock
        self._key = settings.hmac_key_bytes()

    def _registry_issues(self, event: AnyEvent, index: int) -> list[Issue]:
        eid = str(event.event_id)
        out = []
        if event.jurisdiction not in self._codes:
            out.append(Issue(index, eid, "jurisdiction", f"{event.jurisdiction} is not in the registry"))
        if isinstance(event, ScreeningRegistered):
            origin = event.data.origin
            if origin is not None and not origin.startswith("overseas:") and origin not in self._codes:
                out.append(Issue(index, eid, "data.origin", f"{origin} is not in the registry"))
        return out

    def prepare(
        self, values: list[Any], decode_issues: list[Issue], cred: Credential, lookup: TargetLookup
    ) -> list[Prepared]:
        """Validates every event; raises InvalidEvents listing every issue when any
        is invalid, then OutOfScope when any lies outside the credential's scope.
        Otherwise returns the records, pseudonymised and stamped with the
        credential's name as `source`."""
        ctx = ValidationContext(
            now=self._clock.now(),
            timezone=self._settings.zone,
            zero_report_window_days=self._settings.zero_report_window_days,
        )
        issues = list(decode_issues)
        undecodable = {i.index for i in decode_issues}
        events: list[tuple[int, AnyEvent]] = []
        for index, raw in enumerate(values):
            if index in undecodable:
                continue
            event, found = validate_event(raw, index, ctx)
            if event is not None:
                found = self._registry_issues(event, index)
                events.append((index, event))
            issues.extend(found)
        issues.extend(_retractions_of_retractions(events))
        if issues:
            raise InvalidEvents(sorted(issues, key=lambda i: i.index))
        outside = _scope_issues(events, cred, lookup)
        if outside:
            raise OutOfScope(cred.name, sorted(outside, key=lambda i: i.index))

        # one stamp per event, reserved at once: strictly increasing within the
        # request and after every earlier request of this process
        stamps = self._clock.reserve(len(events))
        prepared = []
        seen: set[str] = set()
        key, source = self._key, cred.name
        for n, (index, event) in enumerate(events):
            # the record as EventRecord.to_json() writes it, built from the event's
            # canonical dump (no model copies, no second validation)
            body = canonical_event(event)
            person = body.get("person")
            if person is not None:
                person["id"] = pseudonymise(key, person["id"])
            eid = body["event_id"]
            status: Status = "duplicate" if eid in seen else "accepted"
            seen.add(eid)
            prepared.append(
                Prepared(
                    index,
                    eid,
                    status,
                    codes.partition_key(event.jurisdiction).encode(),
                    record_json(stamps[n], source, body),
                )
            )
        return prepared
