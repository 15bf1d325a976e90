from __future__ import annotations

import itertools
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from schemas.events import ScreeningRegistered
from schemas.records import EventRecord, from_micros, json_micros, json_time
from services.common.clock import RecordClock
from services.ingest.acceptance import Acceptor
from services.ingest.archive import Stored
from services.ingest.body import decode
from services.ingest.config import IngestSettings
from services.ingest.errors import (
    BadBody,
    InvalidEvents,
    OutOfScope,
    StoreUnavailable,
    TooLarge,
    UnsupportedMediaType,
)
from services.ingest.pseudonym import pseudonymise
from tests.unit.support import FixedClock, credential

CODES = frozenset({"340826103001", "340826103000", "420100000000"})


ADMIN = credential("admin", "000000000000", "admin")


def no_targets(ids: Any) -> dict[str, Stored]:
    """An empty archive."""
    return {}


def event(**over: Any) -> dict[str, Any]:
    base = {
        "event_id": str(uuid.uuid4()),
        "type": "screening.registered",
        "jurisdiction": "340826103001",
        "occurred_at": "2020-01-28T10:00:00+08:00",
        "person": {"id": "110101199001011234"},
        "data": {"category": "returnee", "origin": "4201"},
    }
    base.update(over)
    return base


def acceptor() -> Acceptor:
    return Acceptor(IngestSettings(dev_mode=True), CODES, RecordClock())


def test_settings_refuse_to_start_without_a_key_outside_dev_mode() -> None:
    with pytest.raises(ValidationError, match="RIBAO_HMAC_KEY"):
        IngestSettings(dev_mode=False)
    assert IngestSettings(dev_mode=False, hmac_key="k" * 32).hmac_key_bytes() == b"k" * 32


def test_pseudonym_is_keyed_and_stable() -> None:
    assert pseudonymise(b"k1", "x") == pseudonymise(b"k1", "x") != pseudonymise(b"k2", "x")
    assert len(pseudonymise(b"k1", "x")) == 64


def test_decode_json_object_array_and_ndjson() -> None:
    one = event()
    assert decode(orjson.dumps(one), "application/json", 10).values == [one]
    assert decode(orjson.dumps([one, one]), "application/json; charset=utf-8", 10).values == [one, one]
    nd = orjson.dumps(one) + b"\n\n" + b"{bad\n" + orjson.dumps(one) + b"\n"
    decoded = decode(nd, "application/x-ndjson", 10)
    assert len(decoded.values) == 3 and [(i.index, i.field) for i in decoded.issues] == [(1, "(line)")]
    assert "line 3" in decoded.issues[0].message
    # index counts events, line counts the body's lines (blank ones too)
    assert decoded.lines == [1, 3, 4]
    assert decode(orjson.dumps(one), "application/json", 10).lines is None


def test_decode_refusals() -> None:
    with pytest.raises(UnsupportedMediaType):
        decode(b"{}", "text/plain", 10)
    with pytest.raises(BadBody):
        decode(b"{", "application/json", 10)
    with pytest.raises(BadBody):
        decode(b"[]", "application/json", 10)
    with pytest.raises(TooLarge):
        decode(orjson.dumps([event()] * 3), "application/json", 2)


def test_prepare_pseudonymises_stamps_and_keys_by_county() -> None:
    prepared = acceptor().prepare([event(), event()], [], ADMIN, no_targets).events
    records = [EventRecord.from_json(p.value) for p in prepared]
    assert all(p.key == b"340826" for p in prepared)
    assert records[0].recorded_at < records[1].recorded_at  # strictly increasing
    assert records[0].source == "admin"
    event0 = records[0].event
    assert isinstance(event0, ScreeningRegistered)
    person = event0.person
    assert person.id == pseudonymise(IngestSettings(dev_mode=True).hmac_key_bytes(), "110101199001011234")
    assert b"110101199001011234" not in prepared[0].value


def test_prepare_marks_repeats_within_a_request() -> None:
    e = event()
    assert [p.status for p in acceptor().prepare([e, e, event()], [], ADMIN, no_targets).events] == [
        "accepted",
        "duplicate",
        "accepted",
    ]


def test_prepare_rejects_the_whole_request_listing_every_issue() -> None:
    bad_code = event(jurisdiction="340826103999")
    bad_origin = event(data={"category": "returnee", "origin": "4299"})
    naive = event(occurred_at="2020-01-28T10:00:00")
    with pytest.raises(InvalidEvents) as exc:
        acceptor().prepare([event(), bad_code, bad_origin, naive, None], [], ADMIN, no_targets)
    found = [(i.index, i.field) for i in exc.value.issues]
    assert found == [(1, "jurisdiction"), (2, "data.origin"), (3, "occurred_at"), (4, "(event)")]
    assert exc.value.issues[0].event_id == bad_code["event_id"]


def test_undecodable_lines_are_reported_once() -> None:
    decoded = decode(b"{x\n" + orjson.dumps(event()), "application/x-ndjson", 10)
    with pytest.raises(InvalidEvents) as exc:
        acceptor().prepare(decoded.values, decoded.issues, ADMIN, no_targets)
    assert [(i.index, i.field) for i in exc.value.issues] == [(0, "(line)")]


def test_registry_is_read_whole(tmp_path: Path) -> None:
    from services.common.registry import read_codes

    codes = read_codes(IngestSettings(dev_mode=True).registry_dir)
    assert len(codes) == 665_272
    assert {"000000000000", "340826103001", "441900000000"} <= codes


def test_a_retraction_of_a_retraction_in_the_same_request_is_rejected() -> None:
    target = event()
    first = event(type="event.retracted", data={"target_event_id": target["event_id"], "reason": "x"})
    first.pop("person")
    second = event(type="event.retracted", data={"target_event_id": first["event_id"], "reason": "y"})
    second.pop("person")
    with pytest.raises(InvalidEvents) as exc:
        acceptor().prepare([target, first, second], [], ADMIN, no_targets)
    assert [(i.index, i.field) for i in exc.value.issues] == [(2, "data.target_event_id")]
    assert len(acceptor().prepare([target, first], [], ADMIN, no_targets).events) == 2


def retraction(target_id: str, jurisdiction: str = "340826103001") -> dict[str, Any]:
    r = event(
        type="event.retracted", jurisdiction=jurisdiction, data={"target_event_id": target_id, "reason": "x"}
    )
    r.pop("person")
    return r


def test_events_outside_the_scope_are_refused_whole_naming_each() -> None:
    town = credential("town", "340826103000")
    inside, outside = event(), event(jurisdiction="420100000000")
    with pytest.raises(OutOfScope) as exc:
        acceptor().prepare([inside, outside], [], town, no_targets)
    assert [(i.index, i.event_id, i.field) for i in exc.value.issues] == [
        (1, outside["event_id"], "jurisdiction")
    ]
    assert "outside the scope 340826103" in exc.value.issues[0].message
    [p] = acceptor().prepare([inside], [], town, no_targets).events
    assert EventRecord.from_json(p.value).source == "town"


def stored(event_type: str, jurisdiction: str, recorded_us: int = 1_600_000_000_000_000) -> Stored:
    return Stored(recorded_us, "0" * 64, event_type, jurisdiction)


def test_a_retraction_needs_a_scope_covering_its_known_target() -> None:
    town = credential("town", "340826103000")
    far, unknown = str(uuid.uuid4()), str(uuid.uuid4())
    asked: list[set[str]] = []

    def archive(ids: Any) -> dict[str, Stored]:
        asked.append(set(ids))
        return {far: stored("screening.registered", "420100000000")} if far in ids else {}

    far_target = retraction(far)
    with pytest.raises(OutOfScope) as exc:
        acceptor().prepare([far_target], [], town, archive)
    assert [(i.index, i.field) for i in exc.value.issues] == [(0, "data.target_event_id")]
    assert "420100000000" in exc.value.issues[0].message
    # a target in the same request is known too
    near = event()
    assert len(acceptor().prepare([near, retraction(near["event_id"])], [], town, archive).events) == 2
    # an unknown target (not arrived yet) is accepted; the country scope covers any target
    asked.clear()
    late = retraction(unknown)
    assert len(acceptor().prepare([late], [], town, archive).events) == 1
    assert asked == [{unknown, late["event_id"]}]
    assert len(acceptor().prepare([retraction(far)], [], ADMIN, archive).events) == 1


def down(ids: Any) -> dict[str, Stored]:
    raise StoreUnavailable("the store did not answer (NetworkError)")


def test_without_the_store_resends_are_judged_from_the_request_and_scoped_retractions_wait() -> None:
    e = event()
    done = acceptor().prepare([e, e], [], ADMIN, down)
    assert not done.archive_checked
    assert [p.status for p in done.events] == ["accepted", "duplicate"]
    # the country scope covers any target; a narrower scope cannot check an unknown one
    assert acceptor().prepare([retraction(str(uuid.uuid4()))], [], ADMIN, down).events
    town = credential("town", "340826103000")
    with pytest.raises(StoreUnavailable):
        acceptor().prepare([retraction(str(uuid.uuid4()))], [], town, down)
    # ... but one whose target is in the request can
    assert acceptor().prepare([e, retraction(e["event_id"])], [], town, down).archive_checked is False
    # an invalid request is still refused as such
    with pytest.raises(InvalidEvents):
        acceptor().prepare([event(jurisdiction="340826103999")], [], town, down)


def test_statuses_against_the_archive_use_the_aggregators_content_hash() -> None:
    """A resend with the content already archived is a duplicate; with other
    content a conflict naming the first version's recorded_at; the hash is the
    one the aggregator computes from the record as written (person pseudonymised)."""
    e = event()
    [first] = acceptor().prepare([e], [], ADMIN, no_targets).events
    record = EventRecord.from_json(first.value)
    archived = Stored(first.recorded_us, record.content_hash(), e["type"], e["jurisdiction"])

    def archive(ids: Any) -> dict[str, Stored]:
        return {e["event_id"]: archived}

    changed = dict(e, person={"id": "someone-else"})
    done = acceptor().prepare([e, changed, event()], [], ADMIN, archive)
    assert done.archive_checked
    assert [(p.status, p.first_recorded_us) for p in done.events] == [
        ("duplicate", first.recorded_us),
        ("conflict", first.recorded_us),
        ("accepted", None),
    ]
    # within one request: the first occurrence stands
    again = acceptor().prepare([changed, changed, e], [], ADMIN, no_targets).events
    assert [p.status for p in again] == ["accepted", "duplicate", "conflict"]
    assert again[1].first_recorded_us == again[2].first_recorded_us == again[0].recorded_us


def test_a_retraction_of_a_stored_retraction_is_rejected() -> None:
    stored_retraction, stored_event = str(uuid.uuid4()), str(uuid.uuid4())

    def archive(ids: Any) -> dict[str, Stored]:
        return {
            stored_retraction: stored("event.retracted", "340826103001", 1_600_000_000_000_000),
            stored_event: stored("screening.registered", "340826103001"),
        }

    with pytest.raises(InvalidEvents) as exc:
        acceptor().prepare([event(), retraction(stored_retraction)], [], ADMIN, archive)
    [issue] = exc.value.issues
    assert (issue.index, issue.field) == (1, "data.target_event_id")
    assert "2020-09-13T12:26:40Z" in issue.message  # when the targeted retraction was recorded
    assert acceptor().prepare([retraction(stored_event)], [], ADMIN, archive).events


@pytest.mark.parametrize("code", ["00", "000000000000"])
def test_an_event_of_the_country_is_rejected(code: str) -> None:
    with pytest.raises(InvalidEvents) as exc:
        acceptor().prepare([event(jurisdiction=code)], [], ADMIN, no_targets)
    assert [(i.index, i.field) for i in exc.value.issues] == [(0, "jurisdiction")]
    assert "province or a lower level" in exc.value.issues[0].message


def test_each_event_carries_its_normalised_jurisdiction_and_level() -> None:
    done = acceptor().prepare(
        [event(jurisdiction="340826103"), event(jurisdiction="4201"), event()], [], ADMIN, no_targets
    )
    assert [(p.jurisdiction, p.level) for p in done.events] == [
        ("340826103000", "town"),
        ("420100000000", "city"),
        ("340826103001", "village"),
    ]


def test_ndjson_issues_name_their_line_and_json_bodies_of_several_documents_get_a_hint() -> None:
    body = orjson.dumps(event()) + b"\n\n" + orjson.dumps(event(jurisdiction="340826103999")) + b"\n"
    decoded = decode(body, "application/x-ndjson", 10)
    with pytest.raises(InvalidEvents) as exc:
        acceptor().prepare(decoded.values, decoded.issues, ADMIN, no_targets)
    exc.value.lines = decoded.lines
    assert [(d["index"], d["line"], d["field"]) for d in exc.value.details()] == [(1, 3, "jurisdiction")]
    with pytest.raises(BadBody, match="application/x-ndjson"):
        decode(body, "application/json", 10)


def test_prepared_record_is_what_the_record_model_writes() -> None:
    """The per-event fast path writes exactly EventRecord(...).to_json()."""
    key = IngestSettings(dev_mode=True).hmac_key_bytes()
    venue = event(type="venue.closed", venue={"id": "m1", "type": "market"}, data={})
    del venue["person"]
    iso = event(type="isolation.started", data={"mode": "home"}, occurred_at="2020-01-28T10:00:00.25Z")
    for us in (1_600_000_000_000_000, 1_600_000_000_120_000, 1_600_000_000_000_001):
        for raw in (event(), venue, iso):
            prepared = (
                Acceptor(IngestSettings(dev_mode=True), CODES, FixedClock(us))
                .prepare([raw], [], ADMIN, no_targets)
                .events
            )
            again = EventRecord.from_json(prepared[0].value)
            assert again.to_json() == prepared[0].value
            if "person" in raw:
                assert again.event.person.id == pseudonymise(key, raw["person"]["id"])  # type: ignore[union-attr]


def test_key_partitions_agree_with_kafka_pythons_default() -> None:
    from kafka.partitioner.default import DefaultPartitioner

    from services.common.producer import KeyPartitions

    class Cluster:
        def __init__(self, n: int) -> None:
            self.n = n

        def topics(self) -> set[str]:
            return {"t"}

        def partitions_for_topic(self, _topic: str) -> set[int]:
            return set(range(self.n))

        def available_partitions_for_topic(self, _topic: str) -> set[int]:
            return set(range(self.n))

    cached, default = KeyPartitions(), DefaultPartitioner()
    for n in (6, 12, 6):
        cluster = Cluster(n)
        for county in ("340826", "370102", "110101", "420100", "650000"):
            for _ in range(2):  # the second time from the cache
                key = county.encode()
                assert cached.of(key, n) == default.partition("t", key, key, b"", b"", cluster)


def test_json_micros_is_json_time_of_the_datetime() -> None:
    for us in (0, 1, 999_999, 1_000_000, 1_600_000_000_000_000, 1_600_000_000_120_000, 1_764_000_000_000_007):
        assert json_micros(us) == json_time(from_micros(us))


def test_record_clock_reserves_consecutive_stamps_after_every_earlier_one() -> None:
    clock = RecordClock()
    stamps = clock.reserve(1000)
    assert len(stamps) == 1000 and stamps.step == 1
    after = clock.now_us()
    assert after > stamps[-1]
    assert clock.reserve(3)[0] > after


def test_worker_clocks_never_tie() -> None:
    """Worker k of N stamps only microseconds ≡ k (mod N)."""
    clocks = [RecordClock(step=3, offset=k) for k in range(3)]
    seen: list[int] = []
    for _ in range(50):
        for k, clock in enumerate(clocks):
            stamps = clock.reserve(4)
            assert all(s % 3 == k for s in stamps)
            seen.extend(stamps)
    assert len(set(seen)) == len(seen)
    for k, clock in enumerate(clocks):
        mine = [s for s in seen if s % 3 == k]
        assert mine == sorted(mine) and clock.now_us() > mine[-1]
    with pytest.raises(ValueError):
        RecordClock(step=2, offset=2)


def test_prepare_stamps_a_request_with_consecutive_microseconds() -> None:
    prepared = acceptor().prepare([event(), event(), event()], [], ADMIN, no_targets).events
    stamps = [EventRecord.from_json(p.value).recorded_at for p in prepared]
    assert [int((b - a).total_seconds() * 1_000_000) for a, b in itertools.pairwise(stamps)] == [1, 1]


def test_archive_lookups_pause_after_the_store_failed() -> None:
    """A store that refuses connections: StoreUnavailable, and for a moment
    after, look-ups fail at once without trying again."""
    from services.children import free_port
    from services.ingest import archive as archive_module

    archive = archive_module.Archive(IngestSettings(dev_mode=True, clickhouse_port=free_port()))
    assert archive.first_versions([]) == {}
    with pytest.raises(StoreUnavailable, match="did not answer"):
        archive.first_versions([str(uuid.uuid4())])
    with pytest.raises(StoreUnavailable, match="a moment ago"):
        archive.first_versions([str(uuid.uuid4())])
