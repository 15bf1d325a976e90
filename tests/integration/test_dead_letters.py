"""Records on the topic that ingest would have refused (written there by
something else): one that is not a valid event, and a valid event whose
jurisdiction is not in the registry. Each is copied to the dead-letter topic
with its source position and reason, kept in `dead_letters` and listed by
`GET /v1/audit/dead-letters`, and never counted; the stream goes on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from kafka import KafkaProducer

from schemas.records import EventRecord
from tests.integration.harness import Pipeline, produce, read_topic, wait_caught_up

UNKNOWN = "341825999999"  # the form of a village of 旌德县, but no such village


def screening(where: str, person: str) -> EventRecord:
    return EventRecord.model_validate(
        {
            "recorded_at": datetime(2020, 3, 5, 1, tzinfo=UTC),
            "source": "test",
            "event": {
                "event_id": str(uuid.uuid4()),
                "type": "screening.registered",
                "jurisdiction": where,
                "occurred_at": "2020-03-05T09:00:00+08:00",
                "person": {"id": person},
                "data": {"category": "other"},
            },
        }
    )


def test_poison_records_become_dead_letters_and_the_stream_goes_on(pipeline: Pipeline) -> None:
    p = pipeline
    assert p.query("SELECT count() FROM divisions WHERE code = %(c)s", {"c": UNKNOWN}) == [(0,)]
    unknown = screening(UNKNOWN, "nowhere")
    producer = KafkaProducer(bootstrap_servers=p.settings.kafka_bootstrap, acks="all")
    try:
        junk = producer.send(p.settings.events_topic, key=b"341825", value=b'{"not": "an event"}').get(30)
        stray = producer.send(p.settings.events_topic, key=b"341825", value=unknown.to_json()).get(30)
    finally:
        producer.close()
    after = screening("341825100003", "after-poison")
    produce(p.settings, [after])
    wait_caught_up(p)

    dead = p.query(
        "SELECT kafka_partition, kafka_offset, record, error FROM dead_letters "
        "WHERE (kafka_partition, kafka_offset) IN %(at)s ORDER BY kafka_offset",
        {"at": ((junk.partition, junk.offset), (stray.partition, stray.offset))},
    )
    assert [(r[0], r[1]) for r in dead] == [(junk.partition, junk.offset), (stray.partition, stray.offset)]
    assert dead[0][2] == '{"not": "an event"}' and "error" in dead[0][3]
    assert (
        dead[1][2] == unknown.to_json().decode()
        and dead[1][3] == f"jurisdiction {UNKNOWN} is not in the registry"
    )
    assert p.query(
        "SELECT count() FROM events WHERE event_id = %(e)s", {"e": str(unknown.event.event_id)}
    ) == [(0,)]

    # the dead-letter topic holds each record unchanged, with where it came from and why
    copies = {
        (int(h["ribao.source.partition"]), int(h["ribao.source.offset"])): (
            m.value,
            h["ribao.error"].decode(),
        )
        for m in read_topic(p.settings, p.settings.dead_letter_topic_name)
        for h in [{k: v for k, v in m.headers}]
    }
    assert copies[(junk.partition, junk.offset)][0] == b'{"not": "an event"}'
    assert copies[(stray.partition, stray.offset)] == (unknown.to_json(), dead[1][3])

    # auditors see them
    listed = p.get("/v1/audit/dead-letters", limit="10000").json()
    assert listed["topic"] == p.settings.dead_letter_topic_name and listed["total"] >= 2
    by_position = {(d["partition"], d["offset"]): d for d in listed["dead_letters"]}
    assert by_position[(stray.partition, stray.offset)]["error"] == dead[1][3]
    assert by_position[(junk.partition, junk.offset)]["record"] == '{"not": "an event"}'
    assert p.get("/v1/audit/dead-letters", limit="0").status_code == 400

    wait_caught_up(p)  # the event after the poison is counted
    figures = p.get("/v1/reports/daily", jurisdiction="341825", date="2020-03-05").json()["figures"]
    assert figures["screened"]["new"] == 1  # the event after the poison, not the stray one

    # the auditor's replay from the topic leaves the stray event out too (it is under 341825)
    replay = p.cli("replay", "--date", "2020-03-05", "--jurisdiction", "341825", timeout=300)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "0 difference(s)" in replay.stdout
