"""Tools of the fault-injection suite (test_faults_*.py).

- `Load`: a steady load through ingest's `POST /v1/events` that records exactly
  which events were acknowledged (202, with their topic positions) and which
  requests were not (any other answer, or none), to be resent with the same
  event ids.
- `PrivateInfra`: a Kafka and a ClickHouse of a test module's own, started and
  stopped with the project's deploy scripts on free ports, for the scenarios
  that stop them.
- `expected_records`, `assert_exact`, `tally`: what ingest acknowledged, read
  back from the topic; every figure of the affected jurisdictions compared with
  the reference implementation over exactly those events; the archive counted
  (each acknowledged event once, no event counted twice).
- `Outcome`/`record_outcome`: one row per scenario (acknowledged, counted,
  duplicates, time to recover), printed at the end of the session by
  conftest.py.
"""

from __future__ import annotations

import csv
import lzma
import os
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from schemas import codes
from schemas.records import EventRecord, unpack
from services.children import free_port
from services.common import reference
from services.common.config import REPO_DIR, CommonSettings
from services.common.replica_sync import ReplicaSync
from services.common.verify import verify
from services.common.windows import report_window
from tests.integration.eventgen import shifted_days
from tests.integration.harness import (
    Pipeline,
    poll,
    read_topic,
    topic_offsets,
    wait_caught_up,
)

ZONE = ZoneInfo("Asia/Shanghai")


def today() -> date:
    return datetime.now(ZONE).date()


# -- load through ingest ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Ack:
    event_id: str
    partition: int
    offset: int
    #: its line in that record (schemas/records.py)
    line: int


class Load:
    """Posts `events` through ingest in batches from `workers` threads, each
    pausing `pause` seconds between requests, until the events run out or
    `stop()`. Every request goes through `Pipeline.post`."""

    def __init__(
        self,
        p: Pipeline,
        events: list[dict[str, Any]],
        batch: int = 50,
        workers: int = 2,
        pause: float = 0.05,
    ) -> None:
        self.p = p
        self.pause = pause
        self.workers = workers
        self._todo = [events[i : i + batch] for i in range(0, len(events), batch)]
        self._todo.reverse()
        self.sent = len(events)
        self.acks: list[Ack] = []
        #: batches that got no 202, in the order they failed
        self.unacked: list[list[dict[str, Any]]] = []
        #: answers by kind: "202", "503", "ConnectError", ...
        self.answers: Counter[str] = Counter()
        #: requests sent and not answered yet
        self.in_flight = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> Load:
        """Starts posting (again, after `stop`: the events not posted yet)."""
        self._stop.clear()
        for i in range(self.workers):
            t = threading.Thread(target=self._run, name=f"load-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def _next(self) -> list[dict[str, Any]] | None:
        with self._lock:
            return self._todo.pop() if self._todo else None

    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self._next()
            if batch is None:
                return
            self.post(batch)
            self._stop.wait(self.pause)

    def post(self, batch: list[dict[str, Any]], keep_unacked: bool = True) -> bool:
        """Posts one batch and records the answer; True when acknowledged (202).
        A batch that is not is kept for `resend_unacknowledged`."""
        with self._lock:
            self.in_flight += 1
        try:
            resp = self.p.post(batch)
        except httpx.HTTPError as exc:
            answer, acks = type(exc).__name__, []
        else:
            answer = str(resp.status_code)
            acks = (
                [Ack(e["event_id"], e["partition"], e["offset"], e["line"]) for e in resp.json()["events"]]
                if resp.status_code == 202
                else []
            )
        with self._lock:
            self.in_flight -= 1
            self.answers[answer] += 1
            self.acks.extend(acks)
            if not acks and keep_unacked:
                self.unacked.append(batch)
        return bool(acks)

    @property
    def acked(self) -> int:
        with self._lock:
            return len(self.acks)

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def wait_acked(self, n: int, timeout: float = 120) -> None:
        poll(
            lambda: self.acked, lambda got: got >= n or not self.running, timeout, f"{n} events acknowledged"
        )

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=120)

    def finish(self, timeout: float = 300) -> None:
        """Until every batch has been posted once."""
        poll(lambda: self.running, lambda r: not r, timeout, "load posted")
        self.stop()

    def resend_unacknowledged(self, timeout: float = 120) -> int:
        """Resends every batch that got no 202, unchanged (the same event ids),
        until each is acknowledged; returns how many events were resent."""
        self.stop()
        with self._lock:
            pending, self.unacked = self.unacked, []
        resent = sum(len(b) for b in pending)
        deadline = time.monotonic() + timeout
        for batch in pending:
            while not self.post(batch, keep_unacked=False):
                assert time.monotonic() < deadline, (
                    f"resends not acknowledged within {timeout}s: {self.answers}"
                )
                time.sleep(0.5)
        return resent

    def acked_offsets(self, partition: int) -> set[int]:
        with self._lock:
            return {a.offset for a in self.acks if a.partition == partition}

    @property
    def acked_ids(self) -> set[str]:
        return {a.event_id for a in self.acks}


# -- what was acknowledged, what was counted ---------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    #: the versions ingest acknowledged (read back from their topic positions)
    acknowledged: list[EventRecord]
    #: every version of those event ids on the topic, including one a request
    #: cut by the fault had written before its retry (the first version stands)
    versions: list[EventRecord]
    #: records on the topic whose event id was never acknowledged
    unacknowledged_ids: set[str]


def expected_records(settings: CommonSettings, acks: list[Ack], villages: list[str]) -> Expected:
    """The acknowledged records, read back from the topic at the positions ingest
    returned. `villages` are the load's jurisdictions (to find unacknowledged
    records on the topic)."""
    where = {(a.partition, a.offset, a.line): a.event_id for a in acks}
    ids = set(where.values())
    places = set(villages)
    acknowledged, versions, stray = [], [], set()
    for msg, line, value in (
        (m, i, v)
        for m in read_topic(settings, settings.events_topic)
        for i, v in enumerate(unpack(m.value or b""))
    ):
        try:
            rec = EventRecord.from_json(value)
        except ValueError:
            continue
        eid = str(rec.event.event_id)
        if (msg.partition, msg.offset, line) in where:
            assert where[(msg.partition, msg.offset, line)] == eid, (msg.partition, msg.offset, line)
            acknowledged.append(rec)
        if eid in ids:
            versions.append(rec)
        elif rec.event.jurisdiction in places:
            stray.add(eid)
    assert len(acknowledged) == len(where), "an acknowledged position is missing from the topic"
    return Expected(acknowledged, versions, stray)


@dataclass(frozen=True)
class Tally:
    #: event ids in the archive under the county
    ids: set[str]
    #: versions in the archive (a resend or a retry is a version of its own)
    versions: int
    #: event ids with a version that counts (not set aside as a duplicate)
    counted: set[str]
    #: versions that count beyond one per event id: events counted twice
    doubled: int
    #: the versions (recorded_us, content_hash) of each event counted twice,
    #: for the failure message
    twice: dict[str, list[tuple[int, str]]] = field(default_factory=dict)


def tally(p: Pipeline, county: str) -> Tally:
    """The archive's versions under the county and those set aside as
    duplicates. On a cluster the reads wait for every replica they may go to
    (a replica that missed a duplicate row would show an event twice)."""

    def reads() -> tuple[list[tuple[Any, ...]], set[tuple[Any, ...]]]:
        archived = p.query(
            "SELECT DISTINCT event_id, recorded_us, content_hash FROM events WHERE jurisdiction LIKE %(c)s",
            {"c": county + "%"},
        )
        superseded = {
            tuple(r)
            for r in p.query(
                "SELECT DISTINCT event_id, recorded_us, content_hash FROM event_duplicates WHERE event_id IN "
                "(SELECT event_id FROM events WHERE jurisdiction LIKE %(c)s)",
                {"c": county + "%"},
            )
        }
        return archived, superseded

    archived, superseded = ReplicaSync(p.settings).read(("events", "event_duplicates"), reads)
    standing = Counter(r[0] for r in archived if tuple(r) not in superseded)
    twice = {
        eid: sorted((int(rec), str(chash)) for e, rec, chash in archived if e == eid)
        for eid, n in standing.items()
        if n > 1
    }
    return Tally(
        {r[0] for r in archived}, len(archived), set(standing), sum(n - 1 for n in standing.values()), twice
    )


def assert_exact(
    p: Pipeline, county: str, days: list[str], checks: list[tuple[datetime, list[EventRecord]]]
) -> int:
    """Every figure of the county and each of its towns, and the county's
    reporting status, for each day and each (as_of, records) of `checks`,
    equals the reference's over those records. Returns the figures compared."""
    code = county.ljust(12, "0")
    compared = 0
    for day in days:
        window = report_window(date.fromisoformat(day), 24, ZONE)
        for as_of, records in checks:
            resp = p.get(
                "/v1/reports/daily", jurisdiction=county, date=day, as_of=as_of.isoformat(), children="true"
            )
            assert resp.status_code == 200, resp.text
            body = resp.json()
            where = f"{county} {day} as of {as_of.isoformat()}"
            want = reference.daily_figures(records, code, window, as_of)
            assert body["figures"] == want, (where, differing(body["figures"], want))
            for child in body["children"]:
                sub = child["jurisdiction"]["code"]
                want = reference.daily_figures(within(records, sub), sub, window, as_of)
                assert child["figures"] == want, (sub, where, differing(child["figures"], want))
            rep = reference.reporting_status(
                records, code, date.fromisoformat(day), window, window.end + timedelta(hours=2), as_of
            )
            assert body["reporting"]["status"] == rep.status, where
            compared += (1 + len(body["children"])) * len(flat(body["figures"]))
    return compared


@dataclass(frozen=True)
class Verdict:
    expected: Expected
    #: figures compared with the reference
    figures: int
    #: acknowledged event ids the archive counts
    counted: int
    #: versions counted beyond one per event id
    doubled: int


def settle_and_check(p: Pipeline, county: str, acks: list[Ack], mid: datetime | None = None) -> Verdict:
    """After a scenario: waits until the aggregator has caught up; checks the
    archive against the topic (`ribao verify`); reads back what ingest
    acknowledged; compares every figure of the county and its towns with the
    reference, as of `mid` (default: halfway through the load) over every
    version on the topic (what HQ saw then) and as of now over exactly the
    acknowledged versions; and counts the archive: every acknowledged event
    once, nothing else, nothing twice."""
    wait_caught_up(p, timeout=300)
    bad = [r for r in verify(p.settings, p.env["RIBAO_AGGREGATOR_ID"]) if not r.ok]
    assert bad == [], bad
    exp = expected_records(p.settings, acks, villages_of(p, county))
    assert exp.unacknowledged_ids == set(), "records on the topic whose event id was never acknowledged"
    if mid is None:
        times = sorted(r.recorded_at for r in exp.acknowledged)
        mid = times[len(times) // 2]
    compared = assert_exact(
        p, county, shifted_days(today()), [(mid, exp.versions), (now(), exp.acknowledged)]
    )
    counts = tally(p, county)
    acked = {a.event_id for a in acks}
    assert acked - counts.counted == set(), "acknowledged events missing from the figures"
    assert counts.ids - acked == set(), "events counted that ingest never acknowledged"
    assert counts.doubled == 0, ("events counted twice (id: versions, none set aside)", counts.twice)
    return Verdict(exp, compared, len(counts.counted & acked), counts.doubled)


def within(records: list[EventRecord], code: str) -> list[EventRecord]:
    """The records the reference needs for `code`'s figures (for speed): every
    version of an event id with a version under `code`, and every retraction."""
    ids = {r.event.event_id for r in records if codes.is_within(r.event.jurisdiction, code)}
    return [r for r in records if r.event.event_id in ids or r.event.type == "event.retracted"]


def differing(served: dict[str, Any], want: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The figures that differ: name -> (served, the reference's)."""
    a, b = flat(served), flat(want)
    return {k: (a.get(k), b.get(k)) for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)}


def flat(figures: dict[str, Any], prefix: str = "") -> dict[str, int]:
    out: dict[str, int] = {}
    for key, value in figures.items():
        if isinstance(value, dict):
            out |= flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def villages_of(p: Pipeline, county: str) -> list[str]:
    rows = p.query(
        "SELECT code FROM divisions WHERE level = 'village' AND code LIKE %(c)s ORDER BY code",
        {"c": county + "%"},
    )
    return [r[0] for r in rows]


#: (end offset, committed offset) of each partition of a topic
Offsets = tuple[dict[int, int], dict[int, int]]


def wait_processed(p: Pipeline, ends: dict[int, int], timeout: float = 180) -> float:
    """Seconds until the aggregator has committed every partition up to `ends`,
    and then every subject stage 1 published for them is recounted (the
    subjects topic committed to its ends as they were at that moment)."""
    started = time.monotonic()
    group = p.env["RIBAO_AGGREGATOR_ID"]

    def offsets(topic: str | None = None) -> Offsets | None:
        try:
            return topic_offsets(p.settings, group, topic)
        except Exception:  # a broker just restarted: not answering yet
            return None

    def committed_up_to(ends: dict[int, int]) -> Callable[[Offsets | None], bool]:
        return lambda o: o is not None and all(o[1].get(part, 0) >= end for part, end in ends.items())

    poll(offsets, committed_up_to(ends), timeout, f"aggregator committed up to {ends}")
    # the subjects stage 1 published for those events are on the subjects
    # topic below its ends now (it publishes before it commits); under a
    # steady load its ends keep moving, so wait for these, not for a moment
    # when stage 2 happens to have nothing left (that measured luck: 12-84 s)
    subjects = p.settings.subjects_topic_name
    left = max(0.0, timeout - (time.monotonic() - started))
    now = poll(lambda: offsets(subjects), lambda o: o is not None, left, "the subjects topic answering")
    assert now is not None
    poll(lambda: offsets(subjects), committed_up_to(now[0]), timeout, "every subject recounted")
    return time.monotonic() - started


def end_offsets(p: Pipeline) -> dict[int, int]:
    return topic_offsets(p.settings, p.env["RIBAO_AGGREGATOR_ID"])[0]


# -- private Kafka and ClickHouse --------------------------------------------------------------------


@dataclass
class PrivateInfra:
    """Kafka and ClickHouse of their own under `home`, on free ports, run by
    deploy/kafka.sh and deploy/clickhouse.sh exactly as `ribao stack up` runs them."""

    home: Path
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, home: Path) -> PrivateInfra:
        home.mkdir(parents=True, exist_ok=True)
        env = {
            "RIBAO_HOME": str(home),
            "RIBAO_KAFKA_PORT": str(free_port()),
            "RIBAO_KAFKA_CONTROLLER_PORT": str(free_port()),
            "RIBAO_KAFKA_HEAP": "512m",
            "RIBAO_CLICKHOUSE_PORT": str(free_port()),
            "RIBAO_CLICKHOUSE_HTTP_PORT": str(free_port()),
        }
        # the broker's jars of the shared stack (else kafka.sh fetches them from the Maven cache)
        shared = Path(os.environ.get("RIBAO_HOME", REPO_DIR / ".stack")) / "kafka" / "libs"
        if shared.is_dir():
            (home / "kafka").mkdir(exist_ok=True)
            (home / "kafka" / "libs").symlink_to(shared.resolve())
        return cls(home, env)

    @property
    def service_env(self) -> dict[str, str]:
        """What the services and the test's settings need to reach this infra."""
        return {
            "RIBAO_KAFKA_BOOTSTRAP": f"127.0.0.1:{self.env['RIBAO_KAFKA_PORT']}",
            "RIBAO_CLICKHOUSE_PORT": self.env["RIBAO_CLICKHOUSE_PORT"],
        }

    def run(self, component: str, action: str) -> float:
        """deploy/<component>.sh <action>; returns the seconds it took."""
        started = time.monotonic()
        result = subprocess.run(
            ["bash", str(REPO_DIR / "deploy" / f"{component}.sh"), action],
            env=os.environ | self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert result.returncode == 0, f"{component}.sh {action}: {result.stdout}{result.stderr}"
        return time.monotonic() - started

    def start(self) -> None:
        self.run("kafka", "start")
        self.run("clickhouse", "start")

    def stop(self) -> None:
        for component in ("kafka", "clickhouse"):
            try:
                self.run(component, "stop")
            except AssertionError as exc:  # stop the other one all the same
                print(exc)

    def remove(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)


def write_registry(folder: Path, prefixes: tuple[str, ...]) -> Path:
    """A deployment's own registry: every province, city and county, and the
    towns and villages under `prefixes` (a smaller registry loads and starts faster)."""
    folder.mkdir(parents=True, exist_ok=True)
    source = REPO_DIR / "data" / "divisions"
    for stem in ("provinces", "cities", "areas", "streets", "villages"):
        with (
            lzma.open(source / f"{stem}.csv.xz", "rt", encoding="utf-8", newline="") as fh,
            open(folder / f"{stem}.csv", "w", encoding="utf-8", newline="") as out,
        ):
            rows = csv.reader(fh)
            writer = csv.writer(out)
            writer.writerow(next(rows))
            keep_all = stem in ("provinces", "cities", "areas")
            writer.writerows(r for r in rows if keep_all or r[0].startswith(prefixes))
    return folder


# -- the report ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    scenario: str
    #: distinct event ids ingest acknowledged (or that were written to the topic)
    acknowledged: int
    #: of those, the event ids in the archive that count (one standing version)
    counted: int
    #: versions counted beyond the first (must be 0)
    duplicates: int
    #: from the end of the fault until the aggregator had caught up (see `recovered`)
    recovery_s: float
    recovered: str
    figures: int
    notes: str = ""

    def line(self) -> str:
        return (
            f"{self.scenario}: acknowledged {self.acknowledged}, counted {self.counted}, "
            f"duplicates {self.duplicates}, recovered in {self.recovery_s:.1f} s ({self.recovered}), "
            f"{self.figures} figures equal the reference; {self.notes}"
        )


OUTCOMES: list[Outcome] = []


def record_outcome(
    scenario: str, acknowledged: int, verdict: Verdict, recovery_s: float, recovered: str, notes: str
) -> None:
    outcome = Outcome(
        scenario,
        acknowledged,
        verdict.counted,
        verdict.doubled,
        recovery_s,
        recovered,
        verdict.figures,
        notes,
    )
    OUTCOMES.append(outcome)
    print(outcome.line())


def table(outcomes: list[Outcome]) -> Iterator[str]:
    yield (
        "| scenario | events acknowledged | events counted | counted twice | time to recover "
        "| figures compared | notes |"
    )
    yield "| --- | ---: | ---: | ---: | --- | ---: | --- |"
    for o in outcomes:
        yield (
            f"| {o.scenario} | {o.acknowledged:,} | {o.counted:,} | {o.duplicates} | "
            f"{o.recovery_s:.1f} s ({o.recovered}) | {o.figures:,} | {o.notes} |"
        )


def now() -> datetime:
    return datetime.now(UTC)
