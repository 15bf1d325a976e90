"""A record on the topic that is not a valid event (written there by something
other than ingest) is kept as a dead letter with its reason, and the stream
goes on: later events are still counted."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from kafka import KafkaProducer

from schemas.records import EventRecord
from tests.integration.harness import Pipeline, produce, wait_caught_up


def test_a_poison_record_becomes_a_dead_letter_and_the_stream_goes_on(pipeline: Pipeline) -> None:
    p = pipeline
    producer = KafkaProducer(bootstrap_servers=p.settings.kafka_bootstrap, acks="all")
    try:
        poison = producer.send(p.settings.events_topic, key=b"341825", value=b'{"not": "an event"}').get(30)
    finally:
        producer.close()
    after = EventRecord.model_validate(
        {
            "recorded_at": datetime(2020, 3, 5, 1, tzinfo=UTC),
            "source": "test",
            "event": {
                "event_id": str(uuid.uuid4()),
                "type": "screening.registered",
                "jurisdiction": "341825100003",
                "occurred_at": "2020-03-05T09:00:00+08:00",
                "person": {"id": "after-poison"},
                "data": {"category": "other"},
            },
        }
    )
    produce(p.settings, [after])
    wait_caught_up(p)
    dead = p.query(
        "SELECT record, error FROM dead_letters WHERE kafka_partition = %(p)s AND kafka_offset = %(o)s",
        {"p": poison.partition, "o": poison.offset},
    )
    assert len(dead) == 1 and dead[0][0] == '{"not": "an event"}' and "error" in dead[0][1]
    figures = p.get("/v1/reports/daily", jurisdiction="341825100003", date="2020-03-05").json()["figures"]
    assert figures["screened"]["new"] == 1
