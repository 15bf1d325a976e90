"""Several events in one Kafka record (schemas/records.py), on the real stack:
ingest packs a request's events bound for one partition into one record and
answers each event's (partition, offset, line), where the archive and the
auditor's replay find it; a record of valid events, junk and an event of an
unknown jurisdiction is folded line by line: the valid lines counted, the
others dead letters named by their line, and the stream goes on."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime

from kafka import KafkaProducer

from schemas.records import EventRecord, pack
from tests.integration.harness import Pipeline, read_topic, wait_caught_up

DAY = "2020-03-07"
UNKNOWN = "341825999998"  # the form of a village of 旌德县, but no such village


def screening(where: str, person: str, hour: int = 1) -> EventRecord:
    return EventRecord.model_validate(
        {
            "recorded_at": datetime(2020, 3, 7, hour, tzinfo=UTC),
            "source": "test",
            "event": {
                "event_id": str(uuid.uuid4()),
                "type": "screening.registered",
                "jurisdiction": where,
                "occurred_at": "2020-03-07T08:00:00+08:00",
                "person": {"id": person},
                "data": {"category": "other"},
            },
        }
    )


def test_ingest_packs_a_request_per_partition_and_the_archive_keeps_each_events_line(
    pipeline: Pipeline,
) -> None:
    p = pipeline
    # villages of several counties: several partitions, several events in each
    villages = [
        code
        for (code,) in p.query(
            "SELECT min(code) FROM divisions WHERE level = 'village' AND code LIKE '34%' "
            "GROUP BY substring(code, 1, 6) ORDER BY 1 LIMIT 24"
        )
    ]
    body = [
        {
            "event_id": str(uuid.uuid4()),
            "type": "screening.registered",
            "jurisdiction": v,
            "occurred_at": "2020-03-07T08:00:00+08:00",
            "person": {"id": f"packed-{i}"},
            "data": {"category": "other"},
        }
        for i, v in enumerate(villages * 3)
    ]
    resp = p.post(body)
    assert resp.status_code == 202, resp.text
    answers = resp.json()["events"]
    where = {(a["partition"], a["offset"], a["line"]): a["event_id"] for a in answers}
    assert len(where) == len(body)  # every event its own place
    records = Counter((a["partition"], a["offset"]) for a in answers)
    partitions = {a["partition"] for a in answers}
    assert len(records) == len(partitions) > 1  # one record per partition the request touched
    for (part, off), n in records.items():
        assert sorted(a["line"] for a in answers if (a["partition"], a["offset"]) == (part, off)) == list(
            range(n)
        )
    wait_caught_up(p)
    archived = p.query(
        "SELECT kafka_partition, kafka_offset, kafka_line, event_id FROM events WHERE event_id IN %(ids)s",
        {"ids": tuple(where.values())},
    )
    assert {(int(a), int(b), int(c)): e for a, b, c, e in set(archived)} == where
    # the auditor's replay names the same place
    county = villages[0][:6]  # the first county's events
    replay = p.get("/v1/audit/replay", jurisdiction=county, date=DAY, limit="10000").json()
    listed = {e["event_id"]: e["kafka"] for e in replay["events"]}
    for (part, off, line), eid in where.items():
        if eid in listed:
            assert listed[eid] == {"partition": part, "offset": off, "line": line}
    assert replay["differences"] == []


def test_a_record_is_folded_line_by_line_and_its_bad_lines_are_dead_letters(pipeline: Pipeline) -> None:
    p = pipeline
    first, last = screening("341825100004", "packed-a"), screening("341825100005", "packed-b", 2)
    unknown = screening(UNKNOWN, "packed-nowhere")
    junk = b'{"not": "an event"}'
    value = pack([first.to_json(), junk, unknown.to_json(), last.to_json()])
    producer = KafkaProducer(bootstrap_servers=p.settings.kafka_bootstrap, acks="all")
    try:
        at = producer.send(p.settings.events_topic, value=value).get(30)
    finally:
        producer.close()
    wait_caught_up(p)

    archived = p.query(
        "SELECT DISTINCT kafka_line, event_id FROM events "
        "WHERE kafka_partition = %(p)s AND kafka_offset = %(o)s ORDER BY kafka_line",
        {"p": at.partition, "o": at.offset},
    )
    assert archived == [(0, str(first.event.event_id)), (3, str(last.event.event_id))]
    dead = p.query(
        "SELECT DISTINCT kafka_line, record, error FROM dead_letters "
        "WHERE kafka_partition = %(p)s AND kafka_offset = %(o)s ORDER BY kafka_line",
        {"p": at.partition, "o": at.offset},
    )
    assert [(line, record) for line, record, _ in dead] == [
        (1, junk.decode()),
        (2, unknown.to_json().decode()),
    ]
    assert dead[1][2] == f"jurisdiction {UNKNOWN} is not in the registry"
    # on the dead-letter topic: each bad line alone, with its place
    copies = {
        (int(h["ribao.source.offset"]), int(h["ribao.source.line"])): m.value
        for m in read_topic(p.settings, p.settings.dead_letter_topic_name)
        for h in [dict(m.headers)]
        if int(h["ribao.source.partition"]) == at.partition
    }
    assert copies[(at.offset, 1)] == junk and copies[(at.offset, 2)] == unknown.to_json()
    listed = p.get("/v1/audit/dead-letters", limit="10000").json()["dead_letters"]
    mine = [
        (d["line"], d["error"]) for d in listed if (d["partition"], d["offset"]) == (at.partition, at.offset)
    ]
    assert [line for line, _ in mine] == [1, 2]
    # the good lines count, the bad ones do not; the replay from the topic agrees
    figures = p.get("/v1/reports/daily", jurisdiction="341825", date=DAY).json()["figures"]
    assert figures["screened"]["new"] == 2
    out = p.cli("replay", "--date", DAY, "--jurisdiction", "341825", timeout=300)
    assert out.returncode == 0 and "0 difference(s)" in out.stdout, out.stdout + out.stderr
