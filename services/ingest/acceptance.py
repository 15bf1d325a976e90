"""Turning a decoded request into records ready for Kafka, or refusing it whole."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Literal

from schemas import codes
from schemas.events import AnyEvent, EventRetracted, ScreeningRegistered, ValidationContext
from schemas.records import body_content_hash, canonical_event, json_micros, record_json
from schemas.validation import Issue, validate_event
from services.common.clock import RecordClock
from services.common.credentials import Credential
from services.ingest.archive import Stored
from services.ingest.config import IngestSettings
from services.ingest.errors import InvalidEvents, OutOfScope, StoreUnavailable
from services.ingest.pseudonym import pseudonymise

Status = Literal["accepted", "duplicate", "conflict"]
#: event ids -> the standing version of those already archived (archive.py);
#: raises StoreUnavailable when the store does not answer
ArchiveLookup = Callable[[Collection[str]], dict[str, Stored]]
RETRACTED = "event.retracted"


@dataclass(frozen=True)
class Prepared:
    index: int
    event_id: str
    #: `accepted`; `duplicate` when the version that stands (the first, in the
    #: archive or earlier in this request) has the same content; `conflict`
    #: when its content differs (this version will never count)
    status: Status
    #: normalised 12-digit code
    jurisdiction: str
    level: codes.Level
    recorded_us: int
    #: when the version that stands was recorded (duplicate and conflict only)
    first_recorded_us: int | None
    key: bytes
    value: bytes


@dataclass(frozen=True)
class Acceptance:
    events: list[Prepared]
    #: False when the store did not answer: resends were then judged from
    #: this request alone, and a stored retraction could not be recognised
    archive_checked: bool


@dataclass(frozen=True)
class _Standing:
    """What ingest knows of the version of an event id that stands."""

    type: str
    jurisdiction: str
    recorded_at: str | None


def _standing(events: list[tuple[int, AnyEvent]], stored: dict[str, Stored]) -> dict[str, _Standing]:
    """The version that stands of each id known: the archived one, else the
    first in this request (the archive's are older than any in the request)."""
    out: dict[str, _Standing] = {}
    for _, e in events:
        out.setdefault(str(e.event_id), _Standing(e.type, e.jurisdiction, None))
    for eid, s in stored.items():
        out[eid] = _Standing(s.type, s.jurisdiction, json_micros(s.recorded_us))
    return out


def _retractions_of_retractions(
    events: list[tuple[int, AnyEvent]], standing: dict[str, _Standing]
) -> list[Issue]:
    """ "A retraction of a retraction is rejected (422) whenever its target is
    known at ingest, in the same request or already accepted": a target that
    arrives later is void at query time instead."""
    issues = []
    for index, e in events:
        if not isinstance(e, EventRetracted):
            continue
        target = standing.get(str(e.data.target_event_id))
        if target is None or target.type != RETRACTED:
            continue
        where = f"recorded at {target.recorded_at}" if target.recorded_at else "in this request"
        issues.append(
            Issue(
                index,
                str(e.event_id),
                "data.target_event_id",
                f"the target is a retraction ({where}); retract the event itself",
            )
        )
    return issues


def _scope_issues(
    events: list[tuple[int, AnyEvent]], cred: Credential, standing: dict[str, _Standing], checked: bool
) -> list[Issue]:
    """Events outside the credential's scope, and retractions whose target (when
    known: in this request or already archived) is outside it. Raises
    StoreUnavailable when a target may be archived but the store did not answer."""
    where = codes.significant(cred.scope) or "all"
    issues = [
        Issue(index, str(e.event_id), "jurisdiction", f"{e.jurisdiction} is outside the scope {where}")
        for index, e in events
        if not cred.covers(e.jurisdiction)
    ]
    retractions = [(i, e) for i, e in events if isinstance(e, EventRetracted)]
    if not retractions or cred.scope == codes.COUNTRY:
        return issues
    if not checked and any(str(e.data.target_event_id) not in standing for _, e in retractions):
        raise StoreUnavailable("cannot check retraction targets: the store did not answer")
    for index, e in retractions:
        target = standing.get(str(e.data.target_event_id))
        if target is not None and not cred.covers(target.jurisdiction):
            issues.append(
                Issue(
                    index,
                    str(e.event_id),
                    "data.target_event_id",
                    f"the target event is in {target.jurisdiction}, outside the scope {where}",
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
        self, values: list[Any], decode_issues: list[Issue], cred: Credential, archive: ArchiveLookup
    ) -> Acceptance:
        """Validates every event; raises InvalidEvents listing every issue when any
        is invalid, then OutOfScope when any lies outside the credential's scope.
        Otherwise returns the records, pseudonymised and stamped with the
        credential's name as `source`, each with its status against the archive
        and the earlier events of the request."""
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
        asked = {str(e.event_id) for _, e in events}
        asked |= {str(e.data.target_event_id) for _, e in events if isinstance(e, EventRetracted)}
        try:
            stored, checked = archive(asked), True
        except StoreUnavailable:  # answer from the request alone (contract: "where known")
            stored, checked = {}, False
        standing = _standing(events, stored)
        issues.extend(_retractions_of_retractions(events, standing))
        if issues:
            raise InvalidEvents(sorted(issues, key=lambda i: i.index))
        outside = _scope_issues(events, cred, standing, checked)
        if outside:
            raise OutOfScope(cred.name, sorted(outside, key=lambda i: i.index))

        # one stamp per event, reserved at once: strictly increasing within the
        # request and after every earlier request of this process
        stamps = self._clock.reserve(len(events))
        prepared = []
        #: the first version of each id in this request: (recorded_us, body)
        seen: dict[str, tuple[int, dict[str, Any]]] = {}
        key, source = self._key, cred.name
        for n, (index, event) in enumerate(events):
            # the record as EventRecord.to_json() writes it, built from the event's
            # canonical dump (no model copies, no second validation)
            body = canonical_event(event)
            person = body.get("person")
            if person is not None:
                person["id"] = pseudonymise(key, person["id"])
            eid = body["event_id"]
            status, first_us = _status(eid, body, stored, seen)
            if status == "accepted":
                seen[eid] = (stamps[n], body)
            prepared.append(
                Prepared(
                    index,
                    eid,
                    status,
                    event.jurisdiction,
                    codes.level_of(event.jurisdiction),
                    stamps[n],
                    first_us,
                    codes.partition_key(event.jurisdiction).encode(),
                    record_json(stamps[n], source, body),
                )
            )
        return Acceptance(prepared, checked)


def _status(
    eid: str, body: dict[str, Any], stored: dict[str, Stored], seen: dict[str, tuple[int, dict[str, Any]]]
) -> tuple[Status, int | None]:
    """This version's status, and when the version that stands was recorded.
    Content hashes (those the aggregator stores) are computed only for ids
    seen before: nearly never."""
    if eid in stored:
        first_us, first_hash = stored[eid].recorded_us, stored[eid].content_hash
    elif eid in seen:
        first_us, first_body = seen[eid]
        first_hash = body_content_hash(first_body)
    else:
        return "accepted", None
    return ("duplicate" if body_content_hash(body) == first_hash else "conflict"), first_us
