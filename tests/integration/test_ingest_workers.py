"""RIBAO_INGEST_WORKERS=2 (services/ingest/workers.py) on the real Kafka and
ClickHouse: several processes accept on one port, every event they
acknowledge is on the topic and in the archive once, and SIGTERM stops the
parent and every process it started, leaving the port free."""

from __future__ import annotations

import os
import socket
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from schemas.records import unpack
from tests.integration.faults import villages_of
from tests.integration.harness import Pipeline, poll, read_topic, wait_caught_up

COUNTY = "340828"  # 岳西县: no other test's
DAY = "2020-02-11"


def _screening(village: str, n: int) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": "screening.registered",
        "jurisdiction": village,
        "occurred_at": f"{DAY}T{8 + n % 10:02d}:{n % 60:02d}:00+08:00",
        "person": {"id": f"W-{uuid.uuid4().hex}"},
        "data": {"category": "returnee", "origin": "4201"},
    }


def _descendants(root: int) -> set[int]:
    """Every live process below `root` (from /proc; zombies count as gone)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            parents.setdefault(int(fields[1]), []).append(int(entry))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_two_ingest_workers_accept_count_once_and_stop_on_sigterm(pipeline: Pipeline, tmp_path: Path) -> None:
    v = pipeline.variant(tmp_path, RIBAO_INGEST_WORKERS="2")
    port = int(v.env["RIBAO_INGEST_PORT"])
    villages = villages_of(pipeline, COUNTY)[:5]
    requests = [[_screening(villages[(r + i) % len(villages)], i) for i in range(25)] for r in range(24)]
    ids = [e["event_id"] for body in requests for e in body]
    v.start("ingest", f"{v.ingest_url}/readyz")
    try:
        parent = v.procs["ingest"].pid
        workers = poll(lambda: _descendants(parent), lambda d: len(d) >= 2, what="two worker processes")

        # concurrent requests, so that both workers may take some
        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(v.post, requests))
        assert [a.status_code for a in answers] == [202] * len(requests), [a.text for a in answers]
        assert sum(a.json()["accepted"] for a in answers) == len(ids)

        on_topic = Counter(
            event["event_id"]
            for r in read_topic(pipeline.settings, pipeline.settings.events_topic)
            for event in events_of(r.value)
            if event["jurisdiction"].startswith(COUNTY)
        )
        assert all(on_topic[i] == 1 for i in ids), "an acknowledged event is not on the topic exactly once"

        # the session's aggregator archives them: each once
        archived = poll(
            lambda: pipeline.query(
                "SELECT count(), uniqExact(event_id) FROM events WHERE event_id IN %(ids)s",
                {"ids": tuple(ids)},
            )[0],
            lambda row: row[0] >= len(ids),
            timeout=120,
            what="every event archived",
        )
        assert archived == (len(ids), len(ids))
        wait_caught_up(pipeline)  # and counted (the counting agent)
        resp = pipeline.get("/v1/reports/daily", jurisdiction=COUNTY, date=DAY)
        assert resp.status_code == 200, resp.text
        assert resp.json()["figures"]["screened"]["new"] == len(ids)
    finally:
        proc = v.procs.pop("ingest")
        proc.terminate()  # SIGTERM
        try:
            code = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    assert code == 0, v.log_tail("ingest")
    poll(
        lambda: {pid for pid in workers if _alive(pid)},
        lambda left: not left,
        timeout=30,
        what="every ingest worker gone",
    )
    assert _port_free(port), "something still listens on the ingest port"


def events_of(value: bytes | None) -> list[dict[str, Any]]:
    """The events a record of the topic holds (other tests write junk there too)."""
    out = []
    for line in unpack(value or b""):
        try:
            out.append(orjson.loads(line)["event"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            continue
    return out
