"""Fault injection on the shared Kafka and ClickHouse (issue #7): the services
fail, the stores stay up. Each scenario runs a steady load through ingest,
injects the fault, recovers, and then compares every figure of its county
(and each of its towns) with the reference implementation over exactly the
events ingest acknowledged; it also counts the archive: each acknowledged
event once, none twice. Each scenario has a county of its own in 池州 (3417).
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from schemas.records import EventRecord
from tests.integration.eventgen import ingest_events, shifted_days
from tests.integration.faults import (
    Load,
    end_offsets,
    now,
    record_outcome,
    settle_and_check,
    today,
    villages_of,
    wait_processed,
)
from tests.integration.harness import Pipeline, poll, read_topic, topic_offsets


def test_aggregator_sigkilled_mid_stream_three_times(pipeline: Pipeline) -> None:
    """SIGKILL of the aggregator while it folds a steady load, three times;
    after each restart it catches up from its committed offsets (at-least-once
    delivery, idempotent writes, offsets committed only after the writes)."""
    p, county = pipeline, "341702"  # 贵池区
    villages = villages_of(p, county)
    # the kills come after 1,200, 4,200 and 7,200 acknowledged events; the load
    # has three times as many, so that it still runs at the third kill however
    # long the recoveries take on a busy machine, and stops after it
    events = ingest_events(7, villages, 24_000, today())
    load = Load(p, events, batch=50, workers=1, pause=0.25).start()
    lags, recoveries = [], []
    try:
        for acked in (1_200, 4_200, 7_200):
            load.wait_acked(acked)
            assert load.running, "the load ended before the kill"
            p.stop("aggregator", kill=True)
            ends, committed = topic_offsets(p.settings, p.env["RIBAO_AGGREGATOR_ID"])
            lags.append(sum(end - committed[part] for part, end in ends.items()))
            p.start("aggregator")
            recoveries.append(wait_processed(p, ends))
    finally:
        load.stop()
    assert load.unacked == [] and set(load.answers) == {"202"}, load.answers
    assert sum(lags) > 0  # killed with work not yet committed
    verdict = settle_and_check(p, county, load.acks)
    status = Path(f"/proc/{p.procs['aggregator'].pid}/status").read_text()
    rss = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
    print(f"aggregator resident memory {rss} kB after {load.acked} events (state is in ClickHouse)")
    # the auditor replay recomputes the same figures from the archive, chunk by chunk
    day = shifted_days(today())[-1]
    audit = p.get("/v1/audit/replay", jurisdiction=county, date=day, limit="1").json()
    assert audit["differences"] == [] and audit["total_events"] > 5000  # more than one chunk
    record_outcome(
        "aggregator SIGKILL ×3 mid-stream",
        len(load.acked_ids),
        verdict,
        max(recoveries),
        "restart until committed past the kill; worst of 3",
        f"uncommitted at the kills: {lags} records; recoveries "
        + ", ".join(f"{r:.1f}" for r in recoveries)
        + " s",
    )


def group_partitions(p: Pipeline) -> dict[int, set[int]] | None:
    """The partitions of the events topic each aggregator process holds (by
    pid, which ends the client id of its consumer group member), when the
    group is stable; None otherwise."""
    group = p.env["RIBAO_AGGREGATOR_ID"]
    admin = KafkaAdminClient(bootstrap_servers=p.settings.kafka_bootstrap)
    try:
        info = admin.describe_groups([group]).get(group, {})
    finally:
        admin.close()
    if info.get("group_state") != "Stable":
        return None
    return {
        int(member["client_id"].rsplit("-", 1)[1]): {
            part
            for item in (member.get("member_assignment") or {}).get("assigned_partitions", [])
            if item.get("topic") == p.settings.events_topic
            for part in item.get("partitions", [])
        }
        for member in info.get("members", [])
    }


@pytest.fixture
def two_workers(pipeline: Pipeline, tmp_path: Path) -> Iterator[Pipeline]:
    """Two aggregator processes in one consumer group (each its own data
    folder); the session's single aggregator comes back afterwards."""
    p = pipeline
    p.stop("aggregator")
    try:
        for name in ("aggregator-a", "aggregator-b"):
            p.start(
                name,
                command="aggregator",
                RIBAO_AGGREGATOR_DATA_DIR=str(tmp_path / name),
                RIBAO_SESSION_TIMEOUT_S="6",
            )
        yield p
    finally:
        for name in ("aggregator-a", "aggregator-b"):
            p.stop(name)
        p.start("aggregator")


def test_two_workers_one_killed_its_partitions_move(two_workers: Pipeline) -> None:
    p, county = two_workers, "341721"  # 东至县
    villages = villages_of(p, county)
    pids = {p.procs[name].pid: name for name in ("aggregator-a", "aggregator-b")}
    split = poll(
        lambda: group_partitions(p),
        lambda g: g is not None and set(g) == set(pids) and all(g.values()),
        timeout=90,
        what="two workers, each holding partitions",
    )
    assert split is not None and set().union(*split.values()) == set(range(6))
    events = ingest_events(13, villages, 6000, today())
    load = Load(p, events, batch=50, workers=1, pause=0.2).start()
    try:
        load.wait_acked(len(events) // 3)
        assert load.running
        # the county's events are all on one partition (keyed by county): kill its worker
        loaded = load.acks[0].partition
        split = group_partitions(p) or split
        victim = next(pid for pid, parts in split.items() if loaded in parts)
        ends = end_offsets(p)
        p.stop(pids[victim], kill=True)
        killed = time.monotonic()
        alone = poll(
            lambda: group_partitions(p),
            lambda g: g is not None and victim not in g and len(g) == 1,
            timeout=90,
            what="the survivor holding every partition",
        )
        moved_s = time.monotonic() - killed
        assert alone is not None and list(alone.values()) == [set(range(6))]
        recovery = wait_processed(p, ends) + moved_s
    finally:
        load.stop()
    assert load.unacked == [], load.answers
    record_outcome(
        "two aggregators, one SIGKILLed",
        len(load.acked_ids),
        settle_and_check(p, county, load.acks),
        recovery,
        "kill until the survivor committed past the kill",
        f"partitions {sorted(map(sorted, split.values()))} before the kill; the killed worker held "
        f"the loaded one ({loaded}); all 6 on the survivor {moved_s:.1f} s after the kill "
        "(session timeout 6 s)",
    )


def kill_between_ack_and_answer(p: Pipeline, load: Load, partition: int, first: int) -> int:
    """SIGKILLs ingest when a request is acknowledged by Kafka but not yet answered:
    watches the partition for records (from offset `first` on) that no 202 has
    reported, freezes ingest (SIGSTOP) and, if they are still unreported half a
    second later, kills it; otherwise lets it go on (SIGCONT) and watches again.
    Returns how many records were on the topic unreported at the kill (0 when no
    such moment came within 30 s: then it kills ingest all the same)."""
    tp = TopicPartition(p.settings.events_topic, partition)
    consumer = KafkaConsumer(bootstrap_servers=p.settings.kafka_bootstrap)

    def unreported() -> int:
        end = consumer.end_offsets([tp])[tp]
        return len(set(range(first, end)) - load.acked_offsets(partition))

    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if unreported() and load.in_flight:
                p.signal("ingest", signal.SIGSTOP)
                time.sleep(0.5)  # an answer already on its way reaches the sender
                caught = unreported()
                if caught and load.in_flight:
                    p.stop("ingest", kill=True)
                    return caught
                p.signal("ingest", signal.SIGCONT)
        p.stop("ingest", kill=True)
        return 0
    finally:
        consumer.close()


def test_ingest_sigkilled_mid_request(pipeline: Pipeline) -> None:
    """SIGKILL of ingest while requests are in flight, at the worst moment: after
    Kafka acknowledged a request's events and before the sender got its 202.
    Every event ingest acknowledged is counted; the others, resent with the same
    ids, count once (the version the cut request left on the topic stands, the
    resend is set aside as a duplicate)."""
    p, county = pipeline, "341722"  # 石台县
    villages = villages_of(p, county)
    events = ingest_events(17, villages, 6000, today())
    load = Load(p, events, batch=100, workers=4, pause=0).start()
    try:
        load.wait_acked(1)
        partition = load.acks[0].partition  # keyed by county: the load's one partition
        first = min(a.offset for a in load.acks)
        load.wait_acked(1000)
        caught = kill_between_ack_and_answer(p, load, partition, first)
        time.sleep(1)  # the senders go on: refused
        load.stop()
        cut = dict(load.answers)
        restart = time.monotonic()
        p.start("ingest", f"{p.ingest_url}/readyz")
        ready_s = time.monotonic() - restart
        resent = load.resend_unacknowledged()
        recovery = time.monotonic() - restart
        load.start()  # and it goes on
        load.wait_acked(load.acked + 500)
    finally:
        load.stop()
    assert sum(n for answer, n in cut.items() if answer != "202") > 0, cut  # refused, or cut mid-request
    assert resent > 0
    verdict = settle_and_check(p, county, load.acks)
    written_unacked = len(verdict.expected.versions) - len(verdict.expected.acknowledged)
    assert written_unacked >= caught  # each was resent and counts once (settle_and_check)
    record_outcome(
        "ingest SIGKILL mid-request",
        len(load.acked_ids),
        verdict,
        recovery,
        f"restart until every resend acknowledged; ready after {ready_s:.1f} s",
        f"killed with {caught} events on the topic not yet answered; answers before the restart "
        f"{cut}; {resent} events resent with the same ids, {written_unacked} of them had reached "
        "the topic unacknowledged (counted once)",
    )


def test_poison_records_on_the_topic_under_load(pipeline: Pipeline) -> None:
    """Records written straight to the topic that ingest would refuse: moved to
    the dead-letter topic and listed for auditors; the stream goes on."""
    p, county = pipeline, "341723"  # 青阳县
    villages = villages_of(p, county)
    events = ingest_events(19, villages, 4000, today())
    stray = EventRecord.model_validate(
        {
            "recorded_at": now(),
            "source": "not-ingest",
            "event": events[0] | {"event_id": str(uuid.uuid4()), "jurisdiction": "341723999999"},
        }
    )
    assert p.query("SELECT count() FROM divisions WHERE code = '341723999999'") == [(0,)]
    poison: list[tuple[bytes | None, bytes | None]] = [
        (b"341723", b"\xff\xfe not even utf-8"),
        (b"341723", b'{"not": "an event"}'),
        (b"341723", None),  # no value at all
        (b"341723", stray.to_json()),  # a valid event whose jurisdiction is not in the registry
    ]
    load = Load(p, events, batch=50, workers=2, pause=0.05).start()
    try:
        load.wait_acked(1000)
        producer = KafkaProducer(bootstrap_servers=p.settings.kafka_bootstrap, acks="all")
        try:
            metas = [producer.send(p.settings.events_topic, key=k, value=v).get(30) for k, v in poison]
        finally:
            producer.close()
        written = time.monotonic()
        positions = {(m.partition, m.offset) for m in metas}

        def listed() -> set[tuple[int, int]]:
            body = p.get("/v1/audit/dead-letters", limit="10000").json()
            return {(d["partition"], d["offset"]) for d in body["dead_letters"]}

        poll(listed, lambda got: positions <= got, timeout=60, what="dead letters listed for auditors")
        visible_s = time.monotonic() - written
        load.finish()
    finally:
        load.stop()
    assert load.unacked == [], load.answers
    verdict = settle_and_check(p, county, load.acks)  # the stray event is not counted
    copies = {
        (int(h["ribao.source.partition"]), int(h["ribao.source.offset"])): m.value
        for m in read_topic(p.settings, p.settings.dead_letter_topic_name)
        for h in [dict(m.headers)]
    }
    assert [copies.get((m.partition, m.offset), b"missing") for m in metas] == [v for _, v in poison]
    record_outcome(
        "poison records on the topic",
        len(load.acked_ids),
        verdict,
        visible_s,
        "written until listed by GET /v1/audit/dead-letters",
        f"{len(poison)} poison records (bad bytes, JSON that is no event, no value, unknown "
        "jurisdiction): all on the dead-letter topic, none counted",
    )
