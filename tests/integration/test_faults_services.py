"""Fault injection on the shared Kafka and ClickHouse (issue #7): the services
fail, the stores stay up. Each scenario runs a steady load through ingest,
injects the fault, recovers, and then compares every figure of its county
(and each of its towns) with the reference implementation over exactly the
events ingest acknowledged; it also counts the archive: each acknowledged
event once, none twice. Each scenario has a county of its own in 池州 (3417).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaProducer

from schemas.records import EventRecord
from tests.integration.eventgen import ingest_events, shifted_days
from tests.integration.faults import (
    Expected,
    Load,
    Outcome,
    assert_exact,
    end_offsets,
    expected_records,
    now,
    record_outcome,
    tally,
    today,
    villages_of,
    wait_processed,
)
from tests.integration.harness import Pipeline, poll, read_topic, topic_offsets, wait_caught_up


def check_counts(p: Pipeline, county: str, load: Load) -> tuple[int, int]:
    """Every acknowledged event is in the archive and counts once; nothing
    else is there. Returns (events counted, events counted twice)."""
    counts = tally(p, county)
    acked = load.acked_ids
    assert acked - counts.counted == set(), "acknowledged events missing from the figures"
    assert counts.ids - acked == set(), "events counted that ingest never acknowledged"
    assert counts.doubled == 0
    return len(counts.counted & acked), counts.doubled


def mid_and_now(
    load: Load, p: Pipeline, villages: list[str]
) -> tuple[Expected, list[tuple[datetime, list[EventRecord]]]]:
    """The records ingest acknowledged, and the (as_of, records) pairs to compare:
    the moment halfway through the load (what HQ saw then: every version on the
    topic by then) and now (exactly the acknowledged versions)."""
    exp = expected_records(p.settings, load.acks, villages)
    assert exp.unacknowledged_ids == set(), "records on the topic whose event id was never acknowledged"
    times = sorted(r.recorded_at for r in exp.acknowledged)
    return exp, [(times[len(times) // 2], exp.versions), (now(), exp.acknowledged)]


def test_aggregator_sigkilled_mid_stream_three_times(pipeline: Pipeline) -> None:
    """SIGKILL of the aggregator while it folds a steady load, three times;
    after each restart it catches up from its committed offsets (at-least-once
    delivery, idempotent writes, offsets committed only after the writes)."""
    p, county = pipeline, "341702"  # 贵池区
    villages = villages_of(p, county)
    events = ingest_events(7, villages, 12_000, today())
    load = Load(p, events, batch=50, workers=1, pause=0.25).start()
    lags, recoveries = [], []
    try:
        for fraction in (0.1, 0.35, 0.6):
            load.wait_acked(int(fraction * len(events)))
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
    wait_caught_up(p, timeout=300)
    status = Path(f"/proc/{p.procs['aggregator'].pid}/status").read_text()
    rss = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
    print(f"aggregator resident memory {rss} kB after {len(events)} events (state is in ClickHouse)")

    _, checks = mid_and_now(load, p, villages)
    days = shifted_days(today())
    compared = assert_exact(p, county, days, checks)
    counted, doubled = check_counts(p, county, load)
    # the auditor replay recomputes the same figures from the archive, chunk by chunk
    audit = p.get("/v1/audit/replay", jurisdiction=county, date=days[1], limit="1").json()
    assert audit["differences"] == [] and audit["total_events"] > 5000  # more than one chunk
    record_outcome(
        Outcome(
            "aggregator SIGKILL ×3 mid-stream",
            len(load.acked_ids),
            counted,
            doubled,
            max(recoveries),
            "restart until committed past the kill; worst of 3",
            compared,
            f"uncommitted at the kills: {lags} records; recoveries "
            + ", ".join(f"{r:.1f}" for r in recoveries)
            + " s",
        )
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
    wait_caught_up(p, timeout=300)
    _, checks = mid_and_now(load, p, villages)
    compared = assert_exact(p, county, shifted_days(today()), checks)
    counted, doubled = check_counts(p, county, load)
    record_outcome(
        Outcome(
            "two aggregators, one SIGKILLed",
            len(load.acked_ids),
            counted,
            doubled,
            recovery,
            "kill until the survivor committed past the kill",
            compared,
            f"partitions {sorted(map(sorted, split.values()))} before the kill; the killed worker held "
            f"the loaded one ({loaded}); all 6 on the survivor {moved_s:.1f} s after the kill "
            "(session timeout 6 s)",
        )
    )


def test_ingest_sigkilled_mid_request(pipeline: Pipeline) -> None:
    """SIGKILL of ingest while requests are in flight: every event it
    acknowledged is counted; the others, resent with the same ids, count once
    (a request cut after the broker's acknowledgement leaves a version on the
    topic; the resend is a later version, set aside as a duplicate)."""
    p, county = pipeline, "341722"  # 石台县
    villages = villages_of(p, county)
    events = ingest_events(17, villages, 6000, today())
    load = Load(p, events, batch=300, workers=6, pause=0).start()
    try:
        load.wait_acked(1500)
        poll(lambda: load.in_flight, lambda n: n >= 3, timeout=30, what="requests in flight")
        p.stop("ingest", kill=True)
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
    wait_caught_up(p, timeout=300)
    exp, checks = mid_and_now(load, p, villages)
    compared = assert_exact(p, county, shifted_days(today()), checks)
    counted, doubled = check_counts(p, county, load)
    on_topic_unacked = len(exp.versions) - len(exp.acknowledged)
    record_outcome(
        Outcome(
            "ingest SIGKILL mid-request",
            len(load.acked_ids),
            counted,
            doubled,
            recovery,
            f"restart until every resend acknowledged; ready after {ready_s:.1f} s",
            compared,
            f"answers before the restart {cut}; {resent} events resent with the same ids, "
            f"{on_topic_unacked} of them had reached the topic unacknowledged (counted once)",
        )
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
    wait_caught_up(p, timeout=300)
    copies = {
        (int(h["ribao.source.partition"]), int(h["ribao.source.offset"])): m.value
        for m in read_topic(p.settings, p.settings.dead_letters_topic)
        for h in [dict(m.headers)]
    }
    assert [copies.get((m.partition, m.offset), b"missing") for m in metas] == [v for _, v in poison]
    _, checks = mid_and_now(load, p, villages)
    compared = assert_exact(p, county, shifted_days(today()), checks)
    counted, doubled = check_counts(p, county, load)  # the stray event is not archived
    record_outcome(
        Outcome(
            "poison records on the topic",
            len(load.acked_ids),
            counted,
            doubled,
            visible_s,
            "written until listed by GET /v1/audit/dead-letters",
            compared,
            f"{len(poison)} poison records (bad bytes, JSON that is no event, empty, unknown "
            "jurisdiction): all on the dead-letter topic, none counted",
        )
    )
