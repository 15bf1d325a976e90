"""What ingest tells the sender (issue #17), on the real stack: resends across
requests answered `duplicate` or `conflict` from the archive, a retraction of
a stored retraction refused, events of the country refused, each answer's
normalised jurisdiction and level, NDJSON errors with their line."""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from tests.integration.harness import Pipeline, poll, wait_caught_up

# 兰州 城关区 酒泉路街道: no other test posts in province 62
VILLAGE, OTHER_VILLAGE = "620102001001", "620102001002"
TOWN = "620102001"
DAY = "2020-01-28"


def screening(person: str, event_id: str | None = None, where: str = VILLAGE) -> dict[str, Any]:
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "type": "screening.registered",
        "jurisdiction": where,
        "occurred_at": "2020-01-28T10:00:00+08:00",
        "person": {"id": person},
        "data": {"category": "returnee"},
    }


def retraction(target: str) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": "event.retracted",
        "jurisdiction": OTHER_VILLAGE,
        "occurred_at": "2020-01-28T12:00:00+08:00",
        "data": {"target_event_id": target, "reason": "wrong person"},
    }


def archived(p: Pipeline, event_id: str) -> None:
    """Until the aggregator has archived a version of `event_id`."""
    poll(
        lambda: p.query(
            "SELECT count() FROM event_versions WHERE id_key = reinterpretAsUInt64(MD5(%(id)s))",
            {"id": event_id},
        )[0][0],
        lambda n: n > 0,
        what=f"{event_id} archived",
    )


def accepted(p: Pipeline, body: Any) -> dict[str, Any]:
    resp = p.post(body)
    assert resp.status_code == 202, resp.text
    answer: dict[str, Any] = resp.json()
    return answer


def test_resends_across_requests_are_duplicates_or_conflicts(pipeline: Pipeline) -> None:
    p = pipeline
    first = screening("R-1")
    one = accepted(p, first)
    assert one["archive_checked"] is True
    [mine] = one["events"]
    assert mine["status"] == "accepted" and "first_recorded_at" not in mine
    archived(p, first["event_id"])

    changed = screening("R-2", event_id=first["event_id"])
    two = accepted(p, [first, changed])
    assert [(e["status"], e["first_recorded_at"]) for e in two["events"]] == [
        ("duplicate", mine["recorded_at"]),
        ("conflict", mine["recorded_at"]),
    ]
    assert (two["accepted"], two["duplicates"], two["conflicts"]) == (0, 1, 1)
    # the first version stands: the village counts R-1 alone
    wait_caught_up(p)
    stored = p.query("SELECT count() FROM events WHERE event_id = %(id)s", {"id": first["event_id"]})
    assert stored == [(3,)]
    figures = p.get("/v1/reports/daily", jurisdiction=VILLAGE, date=DAY).json()["figures"]
    assert figures["screened"]["new"] == 1

    # within one request, before anything is archived: the first occurrence stands
    fresh = screening("R-3", where=OTHER_VILLAGE)
    three = accepted(p, [fresh, fresh, screening("R-4", event_id=fresh["event_id"], where=OTHER_VILLAGE)])
    statuses = [(e["status"], e.get("first_recorded_at")) for e in three["events"]]
    first_at = three["events"][0]["recorded_at"]
    assert statuses == [("accepted", None), ("duplicate", first_at), ("conflict", first_at)]


def test_a_retraction_of_a_stored_retraction_is_refused(pipeline: Pipeline) -> None:
    p = pipeline
    target = screening("T-1", where=OTHER_VILLAGE)
    first = retraction(target["event_id"])
    done = accepted(p, [target, first])
    archived(p, first["event_id"])
    again = retraction(first["event_id"])
    resp = p.post(again)
    assert resp.status_code == 422, resp.text
    [detail] = resp.json()["error"]["details"]
    assert (detail["index"], detail["event_id"], detail["field"]) == (
        0,
        again["event_id"],
        "data.target_event_id",
    )
    assert done["events"][1]["recorded_at"] in detail["message"]
    # a retraction of the stored event itself is fine
    assert p.post(retraction(target["event_id"])).status_code == 202


def test_events_name_a_province_or_lower_and_answers_carry_the_level(pipeline: Pipeline) -> None:
    p = pipeline
    for code in ("00", "000000000000"):
        resp = p.post(screening("C-1", where=code))
        assert resp.status_code == 422, resp.text
        [detail] = resp.json()["error"]["details"]
        assert detail["field"] == "jurisdiction" and "province or a lower level" in detail["message"]
    answer = accepted(
        p, [screening("C-2", where=TOWN), screening("C-3", where="62"), screening("C-4", where=OTHER_VILLAGE)]
    )
    assert [(e["jurisdiction"], e["level"]) for e in answer["events"]] == [
        ("620102001000", "town"),
        ("620000000000", "province"),
        (OTHER_VILLAGE, "village"),
    ]


def test_ndjson_errors_name_the_line_and_json_with_several_documents_gets_a_hint(pipeline: Pipeline) -> None:
    p = pipeline
    good, bad = screening("N-1", where=OTHER_VILLAGE), screening("N-2", where="620102001999")
    body = orjson.dumps(good) + b"\n\n" + orjson.dumps(bad) + b"\n"
    resp = p.post(body, content_type="application/x-ndjson")
    assert resp.status_code == 422, resp.text
    [detail] = resp.json()["error"]["details"]
    assert (detail["index"], detail["line"], detail["field"]) == (1, 3, "jurisdiction")
    resp = p.post(body, content_type="application/json")
    assert resp.status_code == 400, resp.text
    assert "application/x-ndjson" in resp.json()["error"]["message"]
